/**
 * Collective operations for data-parallel training: the mean of the ranks'
 * gradients, a broadcast of the first rank's weights, a barrier and a gather
 * of small JSON values. {@link Collective} is the interface a training step
 * talks to; {@link LocalCollective} is the world of one process, and
 * {@link SharedMemoryCollective} joins the worker threads of one machine
 * through SharedArrayBuffers and Atomics. A transport between machines only
 * has to implement the same interface.
 *
 * Every operation is synchronous (it runs inside a training step) and every
 * rank must call the same operations in the same order.
 */
import {
  CTRL_ARRIVED,
  CTRL_PARAMS,
  CollectiveTimeoutError,
  OP_ALL_GATHER,
  OP_ALL_REDUCE,
  OP_BROADCAST,
  PARAMS_PER_RANK,
  abortCollective,
  checkAborted,
  layoutOf,
  opName,
  waitGeneration,
  type SharedMemoryInit,
} from './shared_memory.js';

export {
  abortCollective,
  CollectiveAbortedError,
  CollectiveTimeoutError,
  createSharedMemory,
  type SharedMemoryInit,
} from './shared_memory.js';

/** The operations the ranks of a data-parallel run perform together. */
export interface Collective {
  readonly rank: number;
  readonly worldSize: number;
  /**
   * In place: every rank's `data` becomes the element-wise mean over the
   * ranks — the same bits on every rank (sum in rank order 0..N-1, then
   * divide). Every rank must call it with the same length.
   */
  allReduceMean(data: Float32Array): void;
  /** In place: `root`'s data (default 0) is copied into every rank's `data`. */
  broadcast(data: Float32Array, root?: number): void;
  /** Returns when every rank has called it. */
  barrier(): void;
  /** Every rank's value (JSON-serialisable), in rank order, on every rank. */
  allGather<T>(value: T): T[];
}

/** World size 1: every operation is the identity. */
export class LocalCollective implements Collective {
  readonly rank = 0;
  readonly worldSize = 1;

  allReduceMean(_data: Float32Array): void {}

  broadcast(_data: Float32Array, root = 0): void {
    if (root !== 0) throw new RangeError(`broadcast: root ${root} is not a rank of a world of 1`);
  }

  barrier(): void {}

  allGather<T>(value: T): T[] {
    return [value];
  }
}

/** Options of {@link SharedMemoryCollective}. */
export interface SharedMemoryCollectiveOptions {
  /**
   * A rank waiting longer than this (milliseconds) at any operation throws a
   * CollectiveTimeoutError naming the operation and the ranks that have not
   * arrived, and aborts the collective for the others. Default 30 minutes.
   */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;
/** Shares of `result` start on 64-byte boundaries, so no two ranks write one cache line. */
const SHARE_ALIGN = 16;

/**
 * One rank of a world of worker threads on one machine. The launcher creates
 * the buffers once with {@link createSharedMemory} and passes them to every
 * worker, which constructs its own rank's collective from them.
 *
 * `allReduceMean` goes through the buffers `capacity` floats at a time: each
 * rank copies its chunk into its slot of `data`, then reduces its share of
 * the chunk into `result` (summing the slots in rank order 0..N-1, so the
 * bits do not depend on which rank did the sum), then every rank copies
 * `result` back. If a worker dies, the launcher calls
 * {@link abortCollective} and every rank throws instead of waiting forever.
 */
export class SharedMemoryCollective implements Collective {
  readonly worldSize: number;
  private readonly capacity: number;
  private readonly ctrl: Int32Array;
  private readonly slots: Float32Array[];
  private readonly result: Float32Array;
  private readonly gather: Uint8Array;
  private readonly gatherView: DataView;
  private readonly gatherBytes: number;
  private readonly timeoutMs: number;
  /** How many barriers this rank has entered: the generation it waits for. */
  private entered = 0;

  constructor(
    private readonly init: SharedMemoryInit,
    readonly rank: number,
    options: SharedMemoryCollectiveOptions = {},
  ) {
    const layout = layoutOf(init);
    if (!Number.isInteger(rank) || rank < 0 || rank >= init.worldSize)
      throw new RangeError(`rank ${rank} is not a rank of a world of ${init.worldSize}`);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive (got ${timeoutMs})`);
    this.worldSize = init.worldSize;
    this.capacity = init.capacity;
    this.timeoutMs = timeoutMs;
    this.gatherBytes = layout.gatherBytes;
    this.ctrl = new Int32Array(init.control, 0, layout.ctrlInts);
    this.slots = Array.from(
      { length: init.worldSize },
      (_, r) => new Float32Array(init.data, r * init.capacity * 4, init.capacity),
    );
    this.result = new Float32Array(init.result, 0, init.capacity);
    this.gather = new Uint8Array(init.gather, 0, init.worldSize * layout.gatherBytes);
    this.gatherView = new DataView(init.gather, 0, init.worldSize * layout.gatherBytes);
  }

  allReduceMean(data: Float32Array): void {
    const op = 'allReduceMean';
    checkAborted(this.ctrl);
    if (this.worldSize === 1) return;
    this.setParams(OP_ALL_REDUCE, data.length, -1);
    const chunks = Math.max(1, Math.ceil(data.length / this.capacity));
    for (let k = 0; k < chunks; k++) {
      const off = k * this.capacity;
      const n = Math.min(this.capacity, data.length - off);
      this.slots[this.rank].set(data.subarray(off, off + n));
      this.sync(op);
      if (k === 0) this.throwOnMismatch(op);
      this.reduceShare(n);
      this.sync(op);
      data.set(this.result.subarray(0, n), off);
    }
  }

  broadcast(data: Float32Array, root = 0): void {
    const op = 'broadcast';
    checkAborted(this.ctrl);
    if (!Number.isInteger(root) || root < 0 || root >= this.worldSize)
      throw new RangeError(`broadcast: root ${root} is not a rank of a world of ${this.worldSize}`);
    if (this.worldSize === 1) return;
    this.setParams(OP_BROADCAST, data.length, root);
    const src = this.slots[root];
    const chunks = Math.max(1, Math.ceil(data.length / this.capacity));
    for (let k = 0; k < chunks; k++) {
      const off = k * this.capacity;
      const n = Math.min(this.capacity, data.length - off);
      if (this.rank === root) src.set(data.subarray(off, off + n));
      this.sync(op);
      if (k === 0) this.throwOnMismatch(op);
      if (this.rank !== root) data.set(src.subarray(0, n), off);
      // The root's slot is rewritten by the next chunk or operation only when every rank has read it.
      this.sync(op);
    }
  }

  barrier(): void {
    checkAborted(this.ctrl);
    this.sync('barrier');
  }

  allGather<T>(value: T): T[] {
    const op = 'allGather';
    checkAborted(this.ctrl);
    const limit = this.gatherBytes - 4;
    const json = JSON.stringify(value) as string | undefined;
    const bytes = json === undefined ? undefined : new TextEncoder().encode(json);
    const base = this.rank * this.gatherBytes;
    // The length prefix says what the others will find: -1 for a value JSON cannot write,
    // a size over the limit for a value that did not fit; every rank then throws the same error.
    this.gatherView.setInt32(base, bytes ? bytes.length : -1, true);
    if (bytes && bytes.length <= limit) this.gather.set(bytes, base + 4);
    this.setParams(OP_ALL_GATHER, 0, -1);
    this.sync(op);
    let out: T[] | undefined;
    let error = this.mismatch(op);
    if (!error)
      try {
        out = this.readGathered<T>(limit);
      } catch (e) {
        error = e as Error;
      }
    // A rank rewrites its slot in the next allGather only when every rank has read this one.
    this.sync(op);
    if (error) throw error;
    return out!;
  }

  private readGathered<T>(limit: number): T[] {
    const decoder = new TextDecoder();
    const out: T[] = [];
    for (let r = 0; r < this.worldSize; r++) {
      const base = r * this.gatherBytes;
      const len = this.gatherView.getInt32(base, true);
      if (len < 0) throw new TypeError(`allGather: rank ${r}'s value is not JSON-serialisable`);
      if (len > limit)
        throw new RangeError(
          `allGather: rank ${r}'s value is ${len} bytes of JSON, over the limit of ${limit} bytes ` +
            `per rank (createSharedMemory's gatherBytes less the 4-byte length)`,
        );
      // slice() copies into an unshared buffer: TextDecoder refuses shared memory.
      out.push(JSON.parse(decoder.decode(this.gather.slice(base + 4, base + 4 + len))) as T);
    }
    return out;
  }

  /** Reduces this rank's share of the first `n` floats of the slots into `result`. */
  private reduceShare(n: number): void {
    const share = Math.ceil(n / this.worldSize / SHARE_ALIGN) * SHARE_ALIGN;
    const lo = Math.min(n, this.rank * share);
    const hi = Math.min(n, lo + share);
    if (lo >= hi) return;
    const res = this.result;
    res.set(this.slots[0].subarray(lo, hi), lo);
    // Each `+=` rounds to float32 on the store: the float32 sum in rank order.
    for (let r = 1; r < this.worldSize; r++) {
      const s = this.slots[r];
      for (let i = lo; i < hi; i++) res[i] += s[i];
    }
    const size = this.worldSize;
    for (let i = lo; i < hi; i++) res[i] /= size;
  }

  /** Publishes this rank's call (operation, length, root) for {@link mismatch}. */
  private setParams(op: number, length: number, root: number): void {
    const at = CTRL_PARAMS(this.worldSize) + this.rank * PARAMS_PER_RANK;
    this.ctrl[at] = op;
    this.ctrl[at + 1] = length;
    this.ctrl[at + 2] = root;
  }

  /**
   * On a mismatch of the ranks' calls, passes the sync the others are headed
   * for and throws: every rank throws the same error and leaves the barrier
   * count whole.
   */
  private throwOnMismatch(op: string): void {
    const error = this.mismatch(op);
    if (!error) return;
    this.sync(op);
    throw error;
  }

  /**
   * The error every rank finds when the ranks' calls differ (undefined when
   * they match). Read between two syncs, so no rank rewrites its parameters
   * before every rank has read them.
   */
  private mismatch(op: string): Error | undefined {
    const at = CTRL_PARAMS(this.worldSize);
    const [o0, len0, root0] = this.ctrl.subarray(at, at + PARAMS_PER_RANK);
    const calls: string[] = [];
    let same = true;
    for (let r = 0; r < this.worldSize; r++) {
      const from = at + r * PARAMS_PER_RANK;
      const [o, len, root] = this.ctrl.subarray(from, from + PARAMS_PER_RANK);
      if (o !== o0 || (o !== OP_ALL_GATHER && (len !== len0 || root !== root0))) same = false;
      const what =
        o === OP_ALL_GATHER ? '' : ` of ${len} floats${root >= 0 ? ` from rank ${root}` : ''}`;
      calls.push(`rank ${r}: ${opName(o)}${what}`);
    }
    if (same) return undefined;
    return new Error(`${op}: the ranks' calls do not match (${calls.join(', ')})`);
  }

  /**
   * The barrier under every operation: a generation counter. The last rank
   * to arrive resets the count and bumps the generation; the others wait on
   * it with Atomics.wait in short slices, checking the abort flag and the
   * timeout between slices.
   */
  private sync(op: string): void {
    const c = this.ctrl;
    checkAborted(c);
    this.entered++;
    Atomics.store(c, CTRL_ARRIVED + this.rank, this.entered);
    waitGeneration(c, this.worldSize, this.timeoutMs, () => this.timedOut(op));
  }

  private timedOut(op: string): never {
    const missing: number[] = [];
    for (let r = 0; r < this.worldSize; r++)
      if (Atomics.load(this.ctrl, CTRL_ARRIVED + r) < this.entered) missing.push(r);
    const message =
      `${op} timed out after ${this.timeoutMs} ms on rank ${this.rank} of ${this.worldSize}: ` +
      `rank${missing.length === 1 ? '' : 's'} ${missing.join(', ')} did not arrive`;
    // A barrier one rank has left can never complete: the others fail now rather than time out.
    abortCollective(this.init, message);
    throw new CollectiveTimeoutError(message, op, missing);
  }
}
