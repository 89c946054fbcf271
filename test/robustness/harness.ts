/**
 * The bad-input suite's table format and helpers. Each area keeps its cases
 * in `<area>.cases.ts` (a default-exported array of {@link RobustCase}) and
 * runs them from `<area>.test.ts` with {@link runCases}; `summary.test.ts`
 * loads every table and prints the counts (cases, clear errors, correct
 * results).
 *
 * A case states the outcome it expects and asserts it exactly: for a clear
 * error the message (file, field and value) and the exit code, for a correct
 * result the value; where files were already written, that none of them
 * changed ({@link snapshot} / {@link expectUnchanged}).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

/** What a case must end in: a clear error (message naming file, field, value) or a correct result. */
export type Outcome = 'clear-error' | 'correct-result';

export interface RobustCase {
  /** Unique over the whole suite, `<area>.<what>` in kebab case. */
  id: string;
  /** The item of the robustness issue it comes from (`'0'`..`'14'`), or `'pass'` for a case that already behaved. */
  item: string;
  /** The bad input or fault, in one line. */
  what: string;
  expect: Outcome;
  /** Performs the case and asserts its exact outcome; throws (fails) otherwise. */
  run: () => Promise<void> | void;
  /** Per-case timeout in ms (default 120 s). */
  timeout?: number;
}

/** Registers one vitest test per case, named `<id>: <what>`. */
export function runCases(cases: RobustCase[]): void {
  describe.sequential(`robustness (${cases.length} cases)`, () => {
    for (const c of cases) {
      it(`${c.id} [${c.expect}]: ${c.what}`, async () => c.run(), c.timeout ?? 120_000);
    }
  });
}

export interface ToolResult {
  code: number;
  out: string;
  err: string;
}

/** Runs `tools/<name>.ts` in a child Node (through tsx) and returns exit code and outputs; never throws. */
export function runTool(
  name: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ToolResult> {
  return runScript(path.join('tools', `${name}.ts`), args, opts);
}

/** Runs a TypeScript file (relative to the repository root) in a child Node through tsx; never throws. */
export function runScript(
  file: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ToolResult> {
  const root = path.resolve(import.meta.dirname, '../..');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.resolve(root, file), ...args],
      {
        cwd: opts.cwd ?? root,
        env: { ...process.env, ...opts.env },
        maxBuffer: 1 << 26,
        timeout: opts.timeoutMs ?? 110_000,
        killSignal: 'SIGKILL',
      },
      (e, stdout, stderr) => {
        const code = e ? ((e as { code?: number }).code ?? -1) : 0;
        resolve({ code: typeof code === 'number' ? code : -1, out: stdout, err: stderr });
      },
    );
  });
}

/** Starts `tools/<name>.ts` without waiting (for concurrent runs and kills). */
export function spawnTool(name: string, args: string[], opts: { cwd?: string } = {}) {
  const root = path.resolve(import.meta.dirname, '../..');
  return spawn(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'tools', `${name}.ts`), ...args],
    {
      cwd: opts.cwd ?? root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

/** A fresh temp directory for one case. */
export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tfdet-robust-${tag}-`));
}

/** Every file under `dir` (links included, not followed) with a hash of its bytes or link target. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isSymbolicLink()) out.set(rel, `link:${fs.readlinkSync(p)}`);
      else if (e.isDirectory()) walk(p);
      else if (e.isFile())
        out.set(rel, createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** Asserts that every file in `before` is still there with the same bytes (new files are allowed). */
export function expectUnchanged(before: Map<string, string>, dir: string): void {
  const now = snapshot(dir);
  const changed = [...before].filter(([k, v]) => now.get(k) !== v).map(([k]) => k);
  expect(changed, `files changed or removed under ${dir}`).toEqual([]);
}
