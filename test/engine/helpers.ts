import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, type Config } from '../../src/config/index.js';
import { loadCheckpoint } from '../../src/nn/index.js';

export const TOY_CONFIG = path.resolve('test/fixtures/engine/toy_config.ts');

const exec = promisify(execFile);

/** Runs `tools/<name>.ts` in a child Node (through tsx); never throws: the exit code comes back with both outputs. */
export async function runTool(
  name: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await exec(process.execPath, ['--import', 'tsx', `tools/${name}.ts`, ...args], {
      maxBuffer: 1 << 24,
    });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

/** Runs `tools/<name>.ts` like {@link runTool} and returns its stdout; throws with both outputs when it exits non-zero. */
export async function runToolOk(name: string, args: string[]): Promise<string> {
  const r = await runTool(name, args);
  if (r.code !== 0) throw new Error(`tools/${name}.ts exited with ${r.code}:\n${r.out}\n${r.err}`);
  return r.out;
}

/** The JSON object a tool printed on its last line (`--json`). */
export const lastJson = (out: string): Record<string, number> =>
  JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;

export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tfdet-engine-${tag}-`));
}

export async function toyConfig(overrides: Record<string, unknown> = {}): Promise<Config> {
  return loadConfig(TOY_CONFIG, { cfgOptions: overrides });
}

/** A console sink that records what is written. */
export function captureConsole(isTTY = false): {
  write(s: string): boolean;
  isTTY: boolean;
  columns: number;
  text: () => string;
} {
  const chunks: string[] = [];
  return {
    write: (s: string) => chunks.push(s) > 0,
    isTTY,
    columns: 200,
    text: () => chunks.join(''),
  };
}

/** Every tensor of a checkpoint (weights, buffers, optimizer and hook state) as raw bytes by name. */
export function checkpointBytes(file: string): Map<string, Buffer> {
  const ck = loadCheckpoint(file);
  const out = new Map<string, Buffer>();
  const bytes = (t: {
    dataSync(): ArrayLike<number> & {
      buffer: ArrayBufferLike;
      byteOffset: number;
      byteLength: number;
    };
  }) => {
    const a = t.dataSync();
    return Buffer.from(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  };
  for (const [k, t] of ck.state) out.set(k, bytes(t));
  for (const [k, t] of ck.optimizerState) out.set(`optimizer.${k}`, bytes(t));
  for (const t of [...ck.state.values(), ...ck.optimizerState.values()]) t.dispose();
  return out;
}
