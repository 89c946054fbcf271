/**
 * Doc-tests: the `@example` blocks of src/ are extracted, their shown outputs
 * turned into assertions, and the blocks run (see test/docs/examples.test.ts
 * and docs/doc_tests.md for the convention).
 *
 * A shown output is a line comment after a top-level statement of the block,
 * on the statement's last line or on the next line:
 *
 *   expr;            // => value      the value of `expr` (or of the declared
 *   const x = expr;  // => value      variable `x`) matches `value`
 *   stmt;            // throws Name: message   running `stmt` throws an error
 *                                      whose `name` (or class) is `Name` and
 *                                      whose message is `message` (`...` in
 *                                      it stands for any text)
 *
 * A value may continue on the next comment lines while its brackets are open,
 * and may be followed by a remark in parentheses, which is ignored.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

// ---------------------------------------------------------------------------
// Extraction

/** One `@example` block of a source file. */
export interface Example {
  /** Repo-relative path with forward slashes, e.g. `src/ops/nms/nms.ts`. */
  file: string;
  /** 1-based line of the `@example` tag. */
  line: number;
  /** 1-based line of the first code line (the one after the opening fence). */
  codeLine: number;
  /** The code between the fences, without the comment's ` * ` prefixes. */
  code: string;
  /** Set when the block has no ```ts fence or no closing fence. */
  error?: string;
}

const TAG = /^\s*\*\s*@example\b/;
const OPEN_FENCE = /^\s*\*\s*```(ts|typescript|js|javascript)?\s*$/;
const CLOSE_FENCE = /^\s*\*\s*```\s*$/;
const COMMENT_END = /\*\//;

/** The `@example` blocks of one file's text. */
export function extractExamples(file: string, text: string): Example[] {
  const lines = text.split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!TAG.test(lines[i])) continue;
    const line = i + 1;
    let j = i + 1;
    while (j < lines.length && /^\s*\*\s*$/.test(lines[j])) j++;
    if (j >= lines.length || !OPEN_FENCE.test(lines[j])) {
      out.push({ file, line, codeLine: line + 1, code: '', error: 'no ```ts fence after @example' });
      continue;
    }
    const codeLine = j + 2;
    const code: string[] = [];
    let k = j + 1;
    for (; k < lines.length; k++) {
      if (CLOSE_FENCE.test(lines[k]) || COMMENT_END.test(lines[k])) break;
      code.push(lines[k].replace(/^\s*\* ?/, ''));
    }
    const closed = k < lines.length && CLOSE_FENCE.test(lines[k]);
    out.push({
      file,
      line,
      codeLine,
      code: code.join('\n'),
      ...(closed ? {} : { error: 'the ```ts fence is not closed' }),
    });
    i = k;
  }
  return out;
}

/** Every `.ts` file under `dir`, repo-relative, sorted. */
export function sourceFiles(root: string, dir = 'src'): string[] {
  const walk = (d: string): string[] =>
    readdirSync(join(root, d), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? walk(`${d}/${e.name}`)
        : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')
          ? [`${d}/${e.name}`]
          : [],
    );
  return walk(dir).sort();
}

/** The examples of every source file under `root/src`. */
export function collectExamples(root: string): Example[] {
  return sourceFiles(root).flatMap((f) => extractExamples(f, readFileSync(join(root, f), 'utf8')));
}

// ---------------------------------------------------------------------------
// Shown values

/** A parsed shown value. */
export type Expected =
  | { t: 'num'; v: number; decimals: number | null; text: string }
  | { t: 'str'; v: string }
  | { t: 'lit'; v: boolean | null | undefined }
  | { t: 'class'; name: string }
  | { t: 'arr'; cls: string | null; items: Expected[]; open: boolean }
  | { t: 'obj'; cls: string | null; entries: [string, Expected | null][]; open: boolean };

/** Thrown by {@link parseValue} when the text ends inside the value. */
export class IncompleteValue extends Error {}

/**
 * Parses a shown value at the start of `text`; returns it and the text after it
 * (which must be empty or a parenthesised remark).
 */
export function parseValue(text: string): { value: Expected; rest: string } {
  let p = 0;
  const ws = () => {
    while (p < text.length && /\s/.test(text[p])) p++;
  };
  const fail = (msg: string): never => {
    throw new Error(`${msg} at column ${p + 1} of ${JSON.stringify(text)}`);
  };
  const eof = () => {
    if (p >= text.length) throw new IncompleteValue(`the value ${JSON.stringify(text)} is not closed`);
  };
  const word = (): string => {
    const m = /^[A-Za-z_$][\w$]*/.exec(text.slice(p));
    if (!m) return '';
    p += m[0].length;
    return m[0];
  };
  const str = (): string => {
    const q = text[p++];
    let s = '';
    for (;;) {
      eof();
      const c = text[p++];
      if (c === q) return s;
      if (c === '\\') {
        eof();
        const e = text[p++];
        const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0' };
        s += esc[e] ?? e;
      } else s += c;
    }
  };
  const list = (close: string, item: () => void): boolean => {
    // returns whether a `...` entry made the container open
    let open = false;
    ws();
    eof();
    if (text[p] === close) {
      p++;
      return open;
    }
    for (;;) {
      ws();
      eof();
      if (text.startsWith('...', p)) {
        p += 3;
        open = true;
      } else item();
      ws();
      eof();
      if (text[p] === ',') {
        p++;
        ws();
        eof();
        if (text[p] === close) {
          p++;
          return open;
        }
        continue;
      }
      if (text[p] === close) {
        p++;
        return open;
      }
      fail(`expected ',' or '${close}'`);
    }
  };
  const arr = (cls: string | null): Expected => {
    p++; // [
    const items: Expected[] = [];
    const open = list(']', () => items.push(value()));
    return { t: 'arr', cls, items, open };
  };
  const obj = (cls: string | null): Expected => {
    p++; // {
    const entries: [string, Expected | null][] = [];
    const open = list('}', () => {
      let key: string;
      if (text[p] === "'" || text[p] === '"') key = str();
      else {
        const m = /^[\w$/@.-]+/.exec(text.slice(p));
        if (!m) fail('expected a key');
        key = m![0];
        p += key.length;
      }
      ws();
      eof();
      if (text[p] === ':') {
        p++;
        ws();
        entries.push([key, value()]);
      } else entries.push([key, null]);
    });
    return { t: 'obj', cls, entries, open };
  };
  const value = (): Expected => {
    ws();
    eof();
    const c = text[p];
    if (c === '[') return arr(null);
    if (c === '{') return obj(null);
    if (c === "'" || c === '"') return { t: 'str', v: str() };
    const num = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?/i.exec(text.slice(p));
    if (num) {
      p += num[0].length;
      const [mant, exp] = num[0].toLowerCase().split('e');
      const dot = mant.indexOf('.');
      const decimals = dot < 0 ? 0 : mant.length - dot - 1;
      const d = decimals - Number(exp ?? 0);
      return { t: 'num', v: Number(num[0]), decimals: d, text: num[0] };
    }
    if (text.startsWith('-Infinity', p)) {
      p += 9;
      return { t: 'num', v: -Infinity, decimals: null, text: '-Infinity' };
    }
    const w = word();
    if (!w) fail('expected a value');
    if (w === 'true' || w === 'false') return { t: 'lit', v: w === 'true' };
    if (w === 'null') return { t: 'lit', v: null };
    if (w === 'undefined') return { t: 'lit', v: undefined };
    if (w === 'NaN' || w === 'Infinity')
      return { t: 'num', v: Number(w), decimals: null, text: w };
    if (w === 'class') {
      ws();
      const name = word();
      if (!name) fail('expected a class name after `class`');
      return { t: 'class', name };
    }
    ws();
    if (text[p] === '[') return arr(w);
    if (text[p] === '{') return obj(w);
    return fail(`unknown word '${w}' (a class name must be followed by ' [' or ' {')`);
  };
  const v = value();
  return { value: v, rest: text.slice(p).trim() };
}

/** What the comparison needs to know about tensors (kept out of this file's imports). */
export interface TensorLike {
  dtype: string;
  shape: number[];
  arraySync(): unknown;
}

const F32_EPS = 2 ** -23;
const F64_EPS = 2 ** -53;

function numbersMatch(
  e: Extract<Expected, { t: 'num' }>,
  a: number,
  f32: boolean,
  scale: number,
): boolean {
  if (Number.isNaN(e.v)) return Number.isNaN(a);
  if (!Number.isFinite(e.v)) return a === e.v;
  // float32 rounding scales with the array's largest value (0 next to 56 may be 1.5e-8)
  const rel = f32
    ? F32_EPS * Math.max(Math.abs(e.v), Math.abs(a), scale)
    : F64_EPS * Math.max(Math.abs(e.v), Math.abs(a));
  const tol = e.decimals && e.decimals > 0 ? 0.5 * 10 ** -e.decimals : 0;
  return Math.abs(a - e.v) <= tol + rel;
}

/** The largest finite magnitude among the numbers of a shown array (nested arrays included). */
function maxAbs(e: Expected): number {
  if (e.t === 'num') return Number.isFinite(e.v) ? Math.abs(e.v) : 0;
  if (e.t === 'arr') return e.items.reduce((m, x) => Math.max(m, maxAbs(x)), 0);
  return 0;
}

/**
 * Compares an actual value with a shown one; returns `null` when they match,
 * else where and how they differ.
 */
export function compare(
  e: Expected,
  a: unknown,
  isTensor: (x: unknown) => x is TensorLike,
  path = '',
  f32 = false,
  scale = 0,
): string | null {
  const at = path || '(value)';
  if (isTensor(a)) {
    if (e.t === 'obj' && e.cls === 'Tensor') {
      for (const [k, v] of e.entries) {
        if (!['dtype', 'shape', 'values'].includes(k))
          return `${at}: a Tensor shows only dtype, shape and values, not '${k}'`;
        if (!v) continue;
        const actual = k === 'values' ? a.arraySync() : k === 'dtype' ? a.dtype : a.shape;
        const r = compare(v, actual, isTensor, `${path}.${k}`, a.dtype === 'float32');
        if (r) return r;
      }
      return null;
    }
    return compare(e, a.arraySync(), isTensor, path, a.dtype === 'float32');
  }
  switch (e.t) {
    case 'num': {
      const n = typeof a === 'bigint' ? Number(a) : a;
      if (typeof n !== 'number') return `${at}: expected the number ${e.text}, got ${show(a)}`;
      return numbersMatch(e, n, f32, scale)
        ? null
        : `${at}: expected ${e.text}${e.decimals && e.decimals > 0 ? ` (to ${e.decimals} decimals)` : ''}, got ${n}`;
    }
    case 'str':
      return a === e.v ? null : `${at}: expected ${show(e.v)}, got ${show(a)}`;
    case 'lit':
      return a === e.v ? null : `${at}: expected ${String(e.v)}, got ${show(a)}`;
    case 'class':
      return typeof a === 'function' && a.name === e.name
        ? null
        : `${at}: expected class ${e.name}, got ${show(a)}`;
    case 'arr': {
      const isView = ArrayBuffer.isView(a) && !(a instanceof DataView);
      if (e.cls === null ? !Array.isArray(a) : !(isView || Array.isArray(a)))
        return `${at}: expected ${e.cls ? `a ${e.cls}` : 'an array'}, got ${show(a)}`;
      const arr = a as ArrayLike<unknown>;
      const cls = (a as object).constructor?.name;
      if (e.cls !== null && cls !== e.cls) return `${at}: expected a ${e.cls}, got a ${cls}`;
      if (e.open ? arr.length < e.items.length : arr.length !== e.items.length)
        return `${at}: expected ${e.open ? 'at least ' : ''}${e.items.length} elements, got ${arr.length}`;
      const f = f32 || a instanceof Float32Array;
      const sc = Math.max(scale, maxAbs(e));
      for (let i = 0; i < e.items.length; i++) {
        const r = compare(e.items[i], arr[i], isTensor, `${path}[${i}]`, f, sc);
        if (r) return r;
      }
      return null;
    }
    case 'obj': {
      if (a === null || typeof a !== 'object') return `${at}: expected an object, got ${show(a)}`;
      const cls = (a).constructor?.name;
      if (e.cls !== null && cls !== e.cls) return `${at}: expected a ${e.cls}, got a ${cls}`;
      const rec = a as Record<string, unknown>;
      for (const [k, v] of e.entries) {
        if (!(k in rec)) return `${at}: expected a key '${k}', got ${show(a)}`;
        if (!v) continue;
        const r = compare(v, rec[k], isTensor, `${path}.${k}`, f32);
        if (r) return r;
      }
      if (!e.open) {
        const listed = new Set(e.entries.map(([k]) => k));
        const extra = Object.keys(rec).filter((k) => !listed.has(k));
        if (extra.length) return `${at}: unexpected keys ${extra.join(', ')} (add '...' to allow more keys)`;
      }
      return null;
    }
  }
}

/** A short printout of a value in the syntax of shown values. */
export function show(a: unknown, depth = 0): string {
  const s = showFull(a, depth);
  return s.length > 600 ? `${s.slice(0, 600)}...` : s;
}

function showFull(a: unknown, depth: number): string {
  if (typeof a === 'string') return `'${a.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  if (typeof a === 'function') return /^class\b/.test(Function.prototype.toString.call(a)) ? `class ${a.name}` : `[function ${a.name}]`;
  if (a === null || typeof a !== 'object') return String(a);
  if (depth > 4) return '...';
  const t = a as TensorLike & { constructor?: { name: string } };
  if (typeof t.arraySync === 'function' && Array.isArray(t.shape) && typeof t.dtype === 'string')
    return t.shape.reduce((a, b) => a * b, 1) > 32
      ? `Tensor { dtype: '${t.dtype}', shape: [${t.shape.join(', ')}], ... }`
      : `Tensor { dtype: '${t.dtype}', shape: [${t.shape.join(', ')}], values: ${showFull(t.arraySync(), depth + 1)} }`;
  if (ArrayBuffer.isView(a) && !(a instanceof DataView))
    return `${a.constructor.name} [${Array.from(a as unknown as ArrayLike<number>).join(', ')}]`;
  if (Array.isArray(a)) return `[${a.map((x) => showFull(x, depth + 1)).join(', ')}]`;
  const cls = a.constructor?.name;
  const body = Object.entries(a)
    .map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : `'${k}'`}: ${showFull(v, depth + 1)}`)
    .join(', ');
  return `${cls && cls !== 'Object' ? `${cls} ` : ''}{ ${body} }`;
}

// ---------------------------------------------------------------------------
// Analysis of a block

/** One assertion of a block. */
export interface Check {
  kind: 'value' | 'throws';
  /** 0-based line in the block of the statement's last line. */
  line: number;
  /** The statement's source text. */
  source: string;
  /** The shown text after `=>` or `throws`. */
  shown: string;
  /** For `=>`: the parsed value. */
  expected?: Expected;
  /** For `throws`: the error name and message (`null`: not checked; `...`: any text). */
  errorName?: string;
  errorMessage?: string | null;
  /** 0-based lines of the block that hold this output. */
  markLines: number[];
}

/** The result of {@link analyze}. */
export interface Analysis {
  checks: Check[];
  /** Convention violations (the example fails with them). */
  problems: string[];
  /** The block rewritten with its assertions, as TypeScript. */
  program: string;
  /** `../shared/data/...` paths the block reads. */
  dataPaths: string[];
  /** Where the unmarked comments that look like values start (0-based line and column in the block). */
  unmarked: { line: number; column: number }[];
}

/** Whether an unmarked comment looks like a shown value (so it must be marked). */
export function looksLikeValue(comment: string, classNames: ReadonlySet<string> = new Set()): boolean {
  const c = comment.trim();
  if (/^(-?\d|\[|\{|['"`]|(true|false|null|undefined|NaN)\b)/.test(c)) return true;
  if (/^[A-Z][\w$]*Error:/.test(c)) return true; // a shown error
  if (/^[A-Za-z_$][\w$.]*\s*(===|=(?![=>]))\s*\S/.test(c)) return true; // `x === 2`, `r = { ... }`
  const m = /^([A-Z][\w$]*)\s*[[{]/.exec(c);
  if (m && (/(Array|Error)$/.test(m[1]) || m[1] === 'Tensor' || classNames.has(m[1]))) return true;
  return false;
}

interface LineComment {
  pos: number;
  end: number;
  text: string; // without the leading `//`
  line: number;
}

/** The line comments between `pos` and the next token (across lines). */
function commentsAfter(sf: ts.SourceFile, pos: number): LineComment[] {
  // trailing: on pos's own line; leading: on the lines after it, up to the next token
  const ranges = [
    ...(ts.getTrailingCommentRanges(sf.text, pos) ?? []),
    ...(ts.getLeadingCommentRanges(sf.text, pos) ?? []),
  ];
  return ranges
    .filter((r) => r.kind === ts.SyntaxKind.SingleLineCommentTrivia)
    .map((r) => ({
      pos: r.pos,
      end: r.end,
      text: sf.text.slice(r.pos + 2, r.end),
      line: sf.getLineAndCharacterOfPosition(r.pos).line,
    }));
}

function statementLists(sf: ts.SourceFile): { stmts: readonly ts.Statement[]; top: boolean }[] {
  const lists: { stmts: readonly ts.Statement[]; top: boolean }[] = [{ stmts: sf.statements, top: true }];
  const visit = (n: ts.Node) => {
    if (n !== sf && (ts.isBlock(n) || ts.isModuleBlock(n) || ts.isCaseClause(n) || ts.isDefaultClause(n)))
      lists.push({ stmts: n.statements, top: false });
    n.forEachChild(visit);
  };
  visit(sf);
  return lists;
}

const MARK = /^\s*(=>|throws\b)\s?(.*)$/;

/**
 * Finds the shown outputs of a block and rewrites it into a program whose
 * statements call `__doc.value(k, thunk)` / `__doc.throws(k, thunk)`.
 */
export function analyze(code: string, classNames: ReadonlySet<string> = new Set()): Analysis {
  const sf = ts.createSourceFile('example.ts', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const problems: string[] = [];
  const checks: Check[] = [];
  const edits: { pos: number; end: number; text: string }[] = [];
  const unmarked: { line: number; column: number }[] = [];
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line;
  const where = (line: number) => `line ${line + 1} of the block`;

  for (const { stmts, top } of statementLists(sf)) {
    stmts.forEach((s) => {
      const endLine = lineOf(s.end);
      const after = commentsAfter(sf, s.end);
      // the comment on the statement's last line, and the first comment line after it
      const same = after.find((c) => c.line === endLine);
      const next = after.find((c) => c.line === endLine + 1);
      const candidates = [same, next].filter((c): c is LineComment => !!c);
      const marked = candidates.find((c) => MARK.test(c.text));
      if (!marked) {
        for (const c of candidates)
          if (looksLikeValue(c.text, classNames)) {
            unmarked.push({ line: c.line, column: sf.getLineAndCharacterOfPosition(c.pos).character });
            problems.push(
              `${where(c.line)}: the comment '//${c.text}' looks like a shown value but is not marked: write '// => value' (or reword it)`,
            );
          }
        return;
      }
      if (!top) {
        problems.push(`${where(marked.line)}: only top-level statements of a block can show outputs`);
        return;
      }
      const [, kind, rest0] = MARK.exec(marked.text)!;
      let shown = rest0.trim();
      const check: Check = {
        kind: kind === '=>' ? 'value' : 'throws',
        line: endLine,
        source: s.getText(sf),
        shown,
        markLines: [marked.line],
      };
      if (check.kind === 'value') {
        // continuation lines while the value is open
        let idx = after.indexOf(marked);
        for (;;) {
          try {
            const { value, rest } = parseValue(shown);
            if (rest && !rest.startsWith('('))
              problems.push(`${where(marked.line)}: unexpected text after the shown value: '${rest}' (a remark goes in parentheses)`);
            check.expected = value;
            break;
          } catch (err) {
            const cont = after[idx + 1];
            if (err instanceof IncompleteValue && cont && cont.line === after[idx].line + 1) {
              shown += ` ${cont.text.trim()}`;
              check.markLines.push(cont.line);
              idx++;
              continue;
            }
            problems.push(`${where(marked.line)}: cannot read the shown value: ${(err as Error).message}`);
            break;
          }
        }
        check.shown = shown;
      } else {
        const m = /^([A-Za-z_$][\w$]*)(?::\s*(.*))?$/.exec(shown);
        if (!m) problems.push(`${where(marked.line)}: write '// throws ErrorName: message'`);
        else {
          check.errorName = m[1];
          check.errorMessage = m[2] === undefined ? null : m[2].trim();
        }
      }
      const k = checks.length;
      checks.push(check);
      const src = s.getText(sf);
      const start = s.getStart(sf);
      if (check.kind === 'throws') {
        edits.push({ pos: start, end: s.end, text: `await __doc.throws(${k}, async () => { ${src} });` });
      } else if (ts.isExpressionStatement(s)) {
        const expr = s.expression.getText(sf);
        edits.push({ pos: start, end: s.end, text: `await __doc.value(${k}, async () => [(${expr})]);` });
      } else if (
        ts.isVariableStatement(s) &&
        s.declarationList.declarations.length === 1 &&
        ts.isIdentifier(s.declarationList.declarations[0].name)
      ) {
        const name = s.declarationList.declarations[0].name.text;
        edits.push({ pos: s.end, end: s.end, text: ` await __doc.value(${k}, async () => [${name}]);` });
      } else {
        problems.push(
          `${where(marked.line)}: a shown value must follow an expression statement or a 'const x = ...' declaration`,
        );
      }
    });
  }

  // a marked comment that no statement took would go unchecked
  const used = new Set(checks.flatMap((c) => c.markLines));
  code.split('\n').forEach((l, i) => {
    if (/\/\/\s*(=>|throws\b)/.test(l) && !used.has(i))
      problems.push(`${where(i)}: this shown output does not follow a statement (put it on the statement's line or the next)`);
  });

  // imports: the example's scope already holds the public API; others are loaded at run time
  for (const s of sf.statements) {
    if (!ts.isImportDeclaration(s)) continue;
    const spec = (s.moduleSpecifier as ts.StringLiteral).text;
    const clause = s.importClause;
    let text = '';
    if (clause && !clause.isTypeOnly) {
      const parts: string[] = [];
      if (clause.name) parts.push(`const ${clause.name.text} = (await __doc.import(${JSON.stringify(spec)})).default;`);
      const nb = clause.namedBindings;
      if (nb && ts.isNamespaceImport(nb)) parts.push(`const ${nb.name.text} = await __doc.import(${JSON.stringify(spec)});`);
      else if (nb && ts.isNamedImports(nb)) {
        const names = nb.elements
          .filter((e) => !e.isTypeOnly)
          .map((e) => (e.propertyName ? `${e.propertyName.getText(sf)}: ${e.name.text}` : e.name.text));
        if (names.length) parts.push(`const { ${names.join(', ')} } = await __doc.import(${JSON.stringify(spec)});`);
      }
      text = parts.join(' ');
    }
    edits.push({ pos: s.getStart(sf), end: s.end, text });
  }

  const dataPaths = [...code.matchAll(/['"`]((?:\.\.\/)+shared\/data\/[^'"`]+)['"`]/g)].map((m) => m[1]);
  let program = code;
  for (const e of edits.sort((x, y) => y.pos - x.pos)) program = program.slice(0, e.pos) + e.text + program.slice(e.end);
  return { checks, problems, program, dataPaths, unmarked };
}

/** The block as JavaScript, ready for an async function body. */
export function transpile(program: string): { js: string; errors: string[] } {
  const out = ts.transpileModule(program, {
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleDetection: ts.ModuleDetectionKind.Force,
      sourceMap: false,
    },
    reportDiagnostics: true,
  });
  const errors = (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  const js = out.outputText.replace(/^export \{\};?\s*$/m, '').replace(/\/\/# sourceMappingURL=.*$/m, '');
  return { js, errors };
}

// ---------------------------------------------------------------------------
// Running

/** How an example is run. */
export interface RunContext {
  /** Repo root (for `../shared/...` paths and relative imports). */
  root: string;
  /** Names in the example's scope. */
  scope: Record<string, unknown>;
  isTensor: (x: unknown) => x is TensorLike;
}

/** Runs one example; throws an `Error` naming `file:line` for the first failed check. */
export async function runExample(ex: Example, a: Analysis, ctx: RunContext): Promise<void> {
  if (ex.error) throw new Error(`${ex.file}:${ex.line}: ${ex.error}`);
  if (a.problems.length) throw new Error(`${ex.file}:${ex.line}: ${a.problems.join('\n')}`);
  const { js, errors } = transpile(a.program);
  if (errors.length) throw new Error(`${ex.file}:${ex.line}: the example does not compile: ${errors.join('; ')}`);
  const loc = (c: Check) => `${ex.file}:${ex.codeLine + c.line}`;
  const doc = {
    value: async (k: number, thunk: () => Promise<[unknown]>) => {
      const c = a.checks[k];
      const [actual] = await thunk();
      const diff = compare(c.expected!, actual, ctx.isTensor);
      if (diff)
        throw new Error(
          `${loc(c)}: \`${c.source}\`\n  expected: ${c.shown}\n  actual:   ${show(actual)}\n  ${diff}`,
        );
    },
    throws: async (k: number, thunk: () => Promise<void>) => {
      const c = a.checks[k];
      let err: unknown;
      try {
        await thunk();
      } catch (e) {
        err = e;
      }
      const head = `${loc(c)}: \`${c.source}\`\n  expected: throws ${c.shown}\n  actual:   `;
      if (err === undefined) throw new Error(`${head}no error`);
      const e = err as Error;
      const name = e?.name === 'Error' && e.constructor?.name ? e.constructor.name : e?.name;
      const names = new Set<string | undefined>([e?.name, e?.constructor?.name, name]);
      const msg = String(e?.message ?? e);
      const want = c.errorMessage;
      // `...` in the shown message stands for any text
      const pattern = want?.split('...').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      const msgOk = !pattern || new RegExp(`^${pattern.join('[^]*')}$`).test(msg);
      if (!names.has(c.errorName) || !msgOk) throw new Error(`${head}throws ${name}: ${msg}`);
    },
    import: async (spec: string) => {
      if (!spec.startsWith('.')) return import(spec);
      const p = resolve(ctx.root, dirname(ex.file), spec).replace(/\.js$/, '.ts');
      return import(pathToFileURL(p).href);
    },
  };
  const names = Object.keys(ctx.scope).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== '__doc');
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => (...vals: unknown[]) => Promise<void>;
  const fn = new AsyncFunction('__doc', ...names, `{\n${js}\n}`);
  await fn(doc, ...names.map((n) => ctx.scope[n]));
}

/** The `../shared/data/...` paths of a block that do not exist (relative to the repo root). */
export function missingData(root: string, a: Analysis): string[] {
  return a.dataPaths.filter((p) => !existsSync(resolve(root, p)));
}

/** `src/a/b.ts` relative to `root`, with forward slashes. */
export function repoPath(root: string, abs: string): string {
  return relative(root, abs).split('\\').join('/');
}
