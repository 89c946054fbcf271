/**
 * Must-show 4: a run killed with SIGKILL and resumed ends with exactly the
 * weights (and optimizer/EMA state) of an uninterrupted run; a crash while a
 * checkpoint is written leaves the previous one loadable and resumable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { loadCheckpoint } from '../../src/nn/index.js';
import { Runner } from '../../src/engine/index.js';
import { TOY_CONFIG, captureConsole, checkpointBytes, tmpDir, toyConfig } from './helpers.js';

const TSX = ['--import', 'tsx'];

function run(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: string | null; out: string }>;
} {
  const child = spawn(process.execPath, [...TSX, script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, out })),
  );
  return { child, done };
}

// 4 epochs of 10 iterations; a checkpoint every 7 iterations, so most fall mid-epoch.
const OPTS = [
  '--cfg-options',
  'trainCfg.maxEpochs=4',
  'defaultHooks.checkpoint.byEpoch=false',
  'defaultHooks.checkpoint.interval=7',
  'defaultHooks.checkpoint.saveBest=None',
];

function expectSameTensors(a: string, b: string): number {
  const x = checkpointBytes(a);
  const y = checkpointBytes(b);
  expect([...y.keys()].sort()).toEqual([...x.keys()].sort());
  for (const [k, v] of x) expect(Buffer.compare(v, y.get(k)!), k).toBe(0);
  return x.size;
}

let reference = '';

async function cfgFor(dir: string, resume: string | true) {
  const pairs = OPTS.slice(1).map((p) => p.split('='));
  const cfg = await toyConfig(
    Object.fromEntries(
      pairs.map(([k, v]) => [k, v === 'None' ? null : v === 'false' ? false : Number(v)]),
    ),
  );
  cfg.workDir = dir;
  cfg.resume = resume;
  return cfg;
}

beforeAll(async () => {
  await setBackend('cpu');
  const dir = tmpDir('ref');
  const r = await run('tools/train.ts', [TOY_CONFIG, '--work-dir', dir, ...OPTS]).done;
  expect(r.code, r.out).toBe(0);
  reference = path.join(dir, 'iter_40.safetensors');
  expect(fs.existsSync(reference)).toBe(true);
});

describe('resume after SIGKILL', () => {
  it('ends bit-identical to the uninterrupted run', async () => {
    const dir = tmpDir('kill');
    const ptr = path.join(dir, 'last_checkpoint');
    // A slow data set so that the kill lands mid-run.
    const first = run('tools/train.ts', [
      TOY_CONFIG,
      '--work-dir',
      dir,
      ...OPTS,
      'trainDataloader.dataset.delayMs=40',
    ]);
    let killedAfter = '';
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        const name = fs.existsSync(ptr) ? path.basename(fs.readFileSync(ptr, 'utf8').trim()) : '';
        if (/^iter_(7|14|21|28|35)\.safetensors$/.test(name)) {
          killedAfter = name;
          first.child.kill('SIGKILL');
          clearInterval(t);
          resolve();
        }
      }, 5);
      first.done.then(() => {
        clearInterval(t);
        if (!killedAfter) reject(new Error('the run finished before it could be killed'));
      });
    });
    const r1 = await first.done;
    expect(r1.signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(dir, 'iter_40.safetensors'))).toBe(false);
    const resumed = await run('tools/train.ts', [
      TOY_CONFIG,
      '--work-dir',
      dir,
      '--resume',
      ...OPTS,
    ]).done;
    expect(resumed.code, resumed.out).toBe(0);
    expect(resumed.out).toMatch(/resumed from .*iter_\d+\.safetensors: epoch \d, iter \d+/);
    const n = expectSameTensors(reference, path.join(dir, 'iter_40.safetensors'));
    console.log(
      `killed after ${killedAfter}; resumed; ${n} tensors (weights, BN buffers, momentum, EMA) bit-identical to the uninterrupted run`,
    );
  });

  for (const target of ['iter_21.safetensors', 'iter_21.safetensors.json']) {
    it(`a crash while writing ${target} leaves iter_14 loadable, and resuming from it ends identical`, async () => {
      const dir = tmpDir('crash');
      const r = await run(
        'test/fixtures/engine/crash_in_checkpoint.ts',
        [TOY_CONFIG, '--work-dir', dir, ...OPTS],
        { TFDET_CRASH_RENAME: target },
      ).done;
      expect(r.signal).toBe('SIGKILL');
      const ptr = fs.readFileSync(path.join(dir, 'last_checkpoint'), 'utf8').trim();
      expect(path.basename(ptr)).toBe('iter_14.safetensors');
      const ck = loadCheckpoint(ptr);
      expect(ck.meta.iter).toBe(14);
      for (const t of [...ck.state.values(), ...ck.optimizerState.values()]) t.dispose();
      // The sidecar is renamed first, then the tensor file: whichever rename the crash hits,
      // no iter_21 checkpoint can be read as if it were whole.
      if (target.endsWith('.json')) {
        expect(fs.existsSync(path.join(dir, 'iter_21.safetensors.json'))).toBe(false);
        expect(fs.existsSync(path.join(dir, 'iter_21.safetensors'))).toBe(false);
      } else {
        expect(fs.existsSync(path.join(dir, 'iter_21.safetensors.json'))).toBe(true);
        expect(() => loadCheckpoint(path.join(dir, 'iter_21.safetensors'))).toThrow(
          /iter_21\.safetensors: cannot read: ENOENT/,
        );
      }
      // Resume in this process (same backend) from last_checkpoint.
      const runner = new Runner(await cfgFor(dir, true), { console: captureConsole() });
      await runner.train();
      runner.dispose();
      expectSameTensors(reference, path.join(dir, 'iter_40.safetensors'));
    });
  }
});
