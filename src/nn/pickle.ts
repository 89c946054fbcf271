/**
 * A restricted reader of Python pickles (protocols 0-5, the opcodes that
 * `torch.save` and plain Python containers use), written for PyTorch
 * checkpoints. Like `torch.load(weights_only=True)` it resolves only the
 * globals it is given: a pickle naming any other (`posix.system`,
 * `builtins.eval`, a model class) is refused when the name is read, before
 * anything is built, and nothing of it runs — no Python code runs here in any
 * case; a global is only ever one of the given functions.
 *
 * Values: `None` → null, bool, int → number (bigint beyond 2^53), float →
 * number, str → string, bytes → Uint8Array, list and tuple → array, dict,
 * set → Map / Set. A hand-written reader: the npm pickle parsers either run
 * arbitrary registered constructors or miss protocol 2's opcodes.
 */

/** Thrown for a malformed pickle or a refused global; the message names the file. */
export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleError';
  }
}

/** A resolved global: called by REDUCE / NEWOBJ with the argument tuple. */
export type PyCallable = (args: unknown[]) => unknown;

export interface UnpickleOptions {
  /** Allowed globals by `module.name`. */
  globals: Record<string, PyCallable>;
  /** Says which globals are allowed, in the refusal's message (default: their names). */
  allowed?: string;
  /** Resolves a persistent id (BINPERSID); refused when absent. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Applies BUILD's state to an object a global made; by default the state is dropped. */
  build?: (obj: unknown, state: unknown) => unknown;
  /** Names the source in errors. */
  file?: string;
  /** Where to start in `bytes` (a file may hold several pickles one after another). */
  offset?: number;
}

/** The value a pickle holds and the offset just past its STOP. */
export interface Unpickled {
  value: unknown;
  end: number;
}

const decoder = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');

/** The state of one read: the byte position, the stack, marks and memo. */
class Reader {
  pos: number;
  readonly stack: unknown[] = [];
  readonly marks: number[] = [];
  readonly memo = new Map<number, unknown>();
  readonly dv: DataView;
  readonly file: string;
  done: { value: unknown } | undefined;

  constructor(
    readonly bytes: Uint8Array,
    readonly options: UnpickleOptions,
  ) {
    this.pos = options.offset ?? 0;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.file = options.file ?? '<pickle>';
  }

  fail(detail: string): never {
    throw new PickleError(`${this.file}: pickle at byte ${this.pos}: ${detail}`);
  }
  need(n: number): void {
    if (this.pos + n > this.bytes.byteLength) this.fail(`truncated (needs ${n} more bytes)`);
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }
  fixed<T>(n: number, read: (off: number) => T): T {
    this.need(n);
    this.pos += n;
    return read(this.pos - n);
  }
  u16 = (): number => this.fixed(2, (o) => this.dv.getUint16(o, true));
  u32 = (): number => this.fixed(4, (o) => this.dv.getUint32(o, true));
  u64(): number {
    const v = this.fixed(8, (o) => this.dv.getBigUint64(o, true));
    if (v > BigInt(this.bytes.byteLength)) this.fail(`length ${v} beyond the data`);
    return Number(v);
  }
  take(n: number): Uint8Array {
    return this.fixed(n, (o) => this.bytes.subarray(o, o + n));
  }
  line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('truncated (unterminated text line)');
    const s = latin1.decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
  push(v: unknown): void {
    this.stack.push(v);
  }
  pop(): unknown {
    return this.stack.length ? this.stack.pop() : this.fail('stack underflow');
  }
  top(): unknown {
    return this.stack.length ? this.stack[this.stack.length - 1] : this.fail('stack underflow');
  }
  popMark(): unknown[] {
    const m = this.marks.pop() ?? this.fail('no MARK to pop to');
    return this.stack.splice(m);
  }
  resolve(module: unknown, name: unknown): PyCallable {
    if (typeof module !== 'string' || typeof name !== 'string')
      this.fail('a global named by non-strings');
    // Python 3 writes builtins as Python 2's __builtin__ in protocols 0-2 (fix_imports)
    const key = `${module === '__builtin__' ? 'builtins' : module}.${name}`;
    const fn = this.options.globals[key];
    if (!fn)
      this.fail(
        `refused global '${key}': ${this.options.allowed ?? `only ${Object.keys(this.options.globals).join(', ') || 'no globals'} may appear`}; nothing of the pickle was run`,
      );
    return fn;
  }
  call(fn: unknown, args: unknown): unknown {
    if (typeof fn !== 'function')
      this.fail('REDUCE/NEWOBJ of a value that is not an allowed global');
    if (!Array.isArray(args)) this.fail('REDUCE/NEWOBJ arguments are not a tuple');
    return (fn as PyCallable)(args as unknown[]);
  }
  setItems(target: unknown, items: unknown[]): void {
    if (!(target instanceof Map)) this.fail('SETITEM(S) on a value that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  }
  append(target: unknown, items: unknown[]): void {
    if (!Array.isArray(target)) this.fail('APPEND(S) on a value that is not a list');
    target.push(...items);
  }
  int(text: string): number | bigint {
    const t = text.replace(/L$/, '');
    if (!/^[-+]?\d+$/.test(t)) this.fail(`bad integer '${text}'`);
    return narrow(BigInt(t));
  }
  memoGet(i: number): unknown {
    if (!this.memo.has(i)) this.fail(`memo entry ${i} read before it was written`);
    return this.memo.get(i);
  }
  persistent(pid: unknown): unknown {
    if (!this.options.persistentLoad) this.fail('a persistent id where none is expected');
    return this.options.persistentLoad(pid);
  }
}

/** A bigint as a number where that is exact. */
function narrow(v: bigint): number | bigint {
  return v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v;
}

/** Python's little-endian two's-complement LONG1/LONG4 payload. */
function long(b: Uint8Array): number | bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b.length && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return narrow(v);
}

type Op = (r: Reader) => void;

const bytesOp =
  (len: (r: Reader) => number): Op =>
  (r) =>
    r.push(r.take(len(r)).slice());
const textOp =
  (len: (r: Reader) => number, dec: TextDecoder): Op =>
  (r) =>
    r.push(dec.decode(r.take(len(r))));
const refused =
  (what: string): Op =>
  (r) =>
    r.fail(what);

/** The opcodes, by byte (pickletools' names). */
const OPS: Record<number, Op> = {
  0x80: (r) => void (r.u8() > 5 && r.fail('pickle protocol above 5')), // PROTO
  0x95: (r) => void r.u64(), // FRAME
  0x2e: (r) => void (r.done = { value: r.pop() }), // STOP
  0x28: (r) => void r.marks.push(r.stack.length), // MARK
  0x30: (r) => void r.pop(), // POP
  0x31: (r) => void r.popMark(), // POP_MARK
  0x32: (r) => r.push(r.top()), // DUP
  0x4e: (r) => r.push(null), // NONE
  0x88: (r) => r.push(true), // NEWTRUE
  0x89: (r) => r.push(false), // NEWFALSE
  0x4b: (r) => r.push(r.u8()), // BININT1
  0x4d: (r) => r.push(r.u16()), // BININT2
  0x4a: (r) => r.push(r.fixed(4, (o) => r.dv.getInt32(o, true))), // BININT
  0x8a: (r) => r.push(long(r.take(r.u8()))), // LONG1
  0x8b: (r) => r.push(long(r.take(r.u32()))), // LONG4
  0x49: (r) => {
    // INT (protocol 0; True/False as 01/00)
    const t = r.line();
    r.push(t === '01' ? true : t === '00' ? false : r.int(t));
  },
  0x4c: (r) => r.push(r.int(r.line())), // LONG (protocol 0)
  0x47: (r) => r.push(r.fixed(8, (o) => r.dv.getFloat64(o, false))), // BINFLOAT
  0x46: (r) => {
    // FLOAT (protocol 0)
    const t = r.line();
    const v = Number(t);
    if (Number.isNaN(v) && t.toLowerCase() !== 'nan') r.fail(`bad float '${t}'`);
    r.push(v);
  },
  0x58: textOp((r) => r.u32(), decoder), // BINUNICODE
  0x8c: textOp((r) => r.u8(), decoder), // SHORT_BINUNICODE
  0x8d: textOp((r) => r.u64(), decoder), // BINUNICODE8
  0x56: (r) =>
    // UNICODE (protocol 0, raw-unicode-escape)
    r.push(
      r
        .line()
        .replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    ),
  0x54: textOp((r) => r.u32(), latin1), // BINSTRING (a Python 2 str, read as latin-1)
  0x55: textOp((r) => r.u8(), latin1), // SHORT_BINSTRING
  0x42: bytesOp((r) => r.u32()), // BINBYTES
  0x43: bytesOp((r) => r.u8()), // SHORT_BINBYTES
  0x8e: bytesOp((r) => r.u64()), // BINBYTES8
  0x96: bytesOp((r) => r.u64()), // BYTEARRAY8
  0x5d: (r) => r.push([]), // EMPTY_LIST
  0x29: (r) => r.push([]), // EMPTY_TUPLE
  0x7d: (r) => r.push(new Map()), // EMPTY_DICT
  0x8f: (r) => r.push(new Set()), // EMPTY_SET
  0x6c: (r) => r.push(r.popMark()), // LIST
  0x74: (r) => r.push(r.popMark()), // TUPLE
  0x85: (r) => r.push([r.pop()]), // TUPLE1
  0x86: (r) => {
    // TUPLE2
    const b = r.pop();
    r.push([r.pop(), b]);
  },
  0x87: (r) => {
    // TUPLE3
    const c = r.pop();
    const b = r.pop();
    r.push([r.pop(), b, c]);
  },
  0x64: (r) => {
    // DICT
    const d = new Map();
    r.setItems(d, r.popMark());
    r.push(d);
  },
  0x91: (r) => r.push(new Set(r.popMark())), // FROZENSET
  0x90: (r) => {
    // ADDITEMS
    const items = r.popMark();
    const s = r.top();
    if (!(s instanceof Set)) r.fail('ADDITEMS on a value that is not a set');
    for (const i of items) (s as Set<unknown>).add(i);
  },
  0x61: (r) => {
    // APPEND
    const v = r.pop();
    r.append(r.top(), [v]);
  },
  0x65: (r) => {
    // APPENDS
    const items = r.popMark();
    r.append(r.top(), items);
  },
  0x73: (r) => {
    // SETITEM
    const v = r.pop();
    const k = r.pop();
    r.setItems(r.top(), [k, v]);
  },
  0x75: (r) => {
    // SETITEMS
    const items = r.popMark();
    r.setItems(r.top(), items);
  },
  0x71: (r) => void r.memo.set(r.u8(), r.top()), // BINPUT
  0x72: (r) => void r.memo.set(r.u32(), r.top()), // LONG_BINPUT
  0x70: (r) => void r.memo.set(Number(r.int(r.line())), r.top()), // PUT
  0x94: (r) => void r.memo.set(r.memo.size, r.top()), // MEMOIZE
  0x68: (r) => r.push(r.memoGet(r.u8())), // BINGET
  0x6a: (r) => r.push(r.memoGet(r.u32())), // LONG_BINGET
  0x67: (r) => r.push(r.memoGet(Number(r.int(r.line())))), // GET
  0x63: (r) => {
    // GLOBAL
    const module = r.line();
    r.push(r.resolve(module, r.line()));
  },
  0x93: (r) => {
    // STACK_GLOBAL
    const name = r.pop();
    r.push(r.resolve(r.pop(), name));
  },
  0x52: (r) => {
    // REDUCE
    const args = r.pop();
    r.push(r.call(r.pop(), args));
  },
  0x81: (r) => {
    // NEWOBJ
    const args = r.pop();
    r.push(r.call(r.pop(), args));
  },
  0x92: (r) => {
    // NEWOBJ_EX: the allowed globals take no keyword arguments
    const kwargs = r.pop();
    const args = r.pop();
    if (kwargs instanceof Map && kwargs.size) r.fail('NEWOBJ_EX with keyword arguments');
    r.push(r.call(r.pop(), args));
  },
  0x62: (r) => {
    // BUILD
    const state = r.pop();
    const obj = r.pop();
    r.push(r.options.build ? r.options.build(obj, state) : obj);
  },
  0x51: (r) => r.push(r.persistent(r.pop())), // BINPERSID
  0x50: (r) => r.push(r.persistent(r.line())), // PERSID
  0x97: refused('out-of-band buffers (protocol 5) are not supported'), // NEXT_BUFFER
  0x98: refused('out-of-band buffers (protocol 5) are not supported'), // READONLY_BUFFER
  0x82: refused('extension codes (EXT1) are refused'),
  0x83: refused('extension codes (EXT2) are refused'),
  0x84: refused('extension codes (EXT4) are refused'),
  0x69: refused('INST (protocol 0 class instances) is refused'),
  0x6f: refused('OBJ (protocol 0 class instances) is refused'),
};

/**
 * Reads one pickle from `bytes`.
 *
 * @example
 * ```ts
 * // pickle.dumps({'a': (1, 2.5)}, protocol=2)
 * const bytes = Uint8Array.from([0x80, 2, 0x7d, 0x71, 0, 0x58, 1, 0, 0, 0, 0x61, 0x71, 1, 0x4b, 1,
 *   0x47, 0x40, 4, 0, 0, 0, 0, 0, 0, 0x86, 0x71, 2, 0x73, 0x2e]);
 * const { value } = unpickle(bytes, { globals: {} });
 * (value as Map<string, unknown>).get('a'); // => [1, 2.5]
 * ```
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): Unpickled {
  const r = new Reader(bytes, options);
  while (!r.done) {
    const op = r.u8();
    const run = OPS[op];
    if (!run) {
      r.pos--;
      r.fail(`unknown opcode 0x${op.toString(16)}`);
    }
    run(r);
  }
  return { value: r.done.value, end: r.pos };
}
