/**
 * Data-parallel training through tools/train.ts --nproc: N workers x batch b
 * give the weights of 1 worker x batch N*b; a worker that dies stops the run
 * with a message (no hang) and --resume continues bit-identically.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import { DistSamplerSeedHook } from '../../src/engine/hooks/dist_sampler_seed_hook.js';
import type { Runner } from '../../src/engine/runner.js';
import { loadCheckpoint } from '../../src/nn/index.js';
import { runTool } from '../robustness/harness.js';
import { TOY_CONFIG, checkpointBytes, tmpDir } from './helpers.js';

const train = (dir: string, nproc: number, ...options: string[]) =>
  runTool('train', [
    TOY_CONFIG,
    '--work-dir',
    dir,
    ...(nproc > 1 ? ['--nproc', String(nproc)] : []),
    '--cfg-options',
    'trainCfg.maxEpochs=4',
    ...options,
  ]);

function maxDiff(a: string, b: string): number {
  const x = loadCheckpoint(a);
  const y = loadCheckpoint(b);
  let max = 0;
  expect([...y.state.keys()].sort()).toEqual([...x.state.keys()].sort());
  for (const [k, t] of x.state) {
    const p = t.dataSync();
    const q = y.state.get(k)!.dataSync();
    for (let i = 0; i < p.length; i++) max = Math.max(max, Math.abs(p[i] - q[i]));
  }
  for (const t of [...x.state.values(), ...y.state.values()]) t.dispose();
  return max;
}

describe('tools/train.ts --nproc', () => {
  it('2 workers x batch 4 give the weights of 1 worker x batch 8 after 20 iterations', async () => {
    const root = tmpDir('dp-eq');
    const one = path.join(root, 'one');
    const two = path.join(root, 'two');
    const r1 = await train(one, 1, 'model.norm=false', 'trainDataloader.batchSize=8');
    expect(r1.code, r1.err).toBe(0);
    const r2 = await train(two, 2, 'model.norm=false', 'trainDataloader.batchSize=4');
    expect(r2.code, r2.err).toBe(0);
    expect(r2.out).toContain('data-parallel training: 2 workers');
    expect(r1.out).toContain('done: 20 iterations, 4 epochs');
    expect(r2.out).toContain('done: 20 iterations, 4 epochs');
    const d = maxDiff(path.join(one, 'epoch_4.safetensors'), path.join(two, 'epoch_4.safetensors'));
    console.log(`max |w(2 x 4) - w(1 x 8)| after 20 iterations: ${d}`);
    expect(d).toBeLessThan(1e-5);
  }, 120_000);

  it('with SyncBN, 2 workers x batch 4 match 1 worker x batch 8 with BatchNorm; per-worker BN does not', async () => {
    const root = tmpDir('dp-syncbn');
    const one = path.join(root, 'one');
    const sync = path.join(root, 'sync');
    const local = path.join(root, 'local');
    const r1 = await train(one, 1, 'trainDataloader.batchSize=8');
    expect(r1.code, r1.err).toBe(0);
    const r2 = await train(sync, 2, 'model.norm=sync', 'trainDataloader.batchSize=4');
    expect(r2.code, r2.err).toBe(0);
    const r3 = await train(local, 2, 'trainDataloader.batchSize=4');
    expect(r3.code, r3.err).toBe(0);
    const ref = path.join(one, 'epoch_4.safetensors');
    const dSync = maxDiff(ref, path.join(sync, 'epoch_4.safetensors'));
    const dLocal = maxDiff(ref, path.join(local, 'epoch_4.safetensors'));
    console.log(`max |w - w(1 x 8)| after 20 iterations: SyncBN ${dSync}, per-worker BN ${dLocal}`);
    // The weights and BatchNorm's running statistics alike.
    expect(dSync).toBeLessThan(1e-5);
    expect(dLocal).toBeGreaterThan(1e-3);
  }, 180_000);

  it('a worker that dies stops the run at once; --resume continues bit-identically', async () => {
    const root = tmpDir('dp-kill');
    const ref = path.join(root, 'ref');
    const run = path.join(root, 'run');
    const opts = ['trainDataloader.batchSize=4'];
    const full = await train(ref, 2, ...opts);
    expect(full.code, full.err).toBe(0);
    const t0 = Date.now();
    const killed = await train(
      run,
      2,
      ...opts,
      'customHooks=[{"type":"EMAHook","momentum":0.01},{"type":"ToyExitHook","rank":1,"iter":7}]',
    );
    const seconds = (Date.now() - t0) / 1000;
    expect(killed.code).toBe(1);
    expect(killed.err.trim()).toBe(
      'Error: data-parallel training stopped: worker 1 exited with code 137',
    );
    expect(seconds).toBeLessThan(60); // a hang guard, not a timing target
    expect(fs.existsSync(path.join(run, '.lock'))).toBe(false);
    const resumed = await train(run, 2, ...opts, '--resume');
    expect(resumed.code, resumed.err).toBe(0);
    const a = checkpointBytes(path.join(ref, 'epoch_4.safetensors'));
    const b = checkpointBytes(path.join(run, 'epoch_4.safetensors'));
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, v] of a) expect(b.get(k)!.equals(v), k).toBe(true);
  }, 180_000);

  it('rejects a bad --nproc', async () => {
    const r = await runTool('train', [TOY_CONFIG, '--nproc', '0']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe(
      'Error: --nproc: expected a positive integer or \'auto\', got "0"',
    );
  });
});

describe('data-parallel validation', () => {
  it('each worker predicts its shard; the merged metrics equal one worker on the whole set', async () => {
    const root = tmpDir('dp-val');
    const opts = [
      'model.norm=false',
      // 17 samples in batches of 3: the shards are 9 + 9, one of them padded.
      'valDataloader.dataset.length=17',
      'valDataloader.batchSize=3',
    ];
    const one = path.join(root, 'one');
    const two = path.join(root, 'two');
    const r1 = await train(one, 1, ...opts, 'trainDataloader.batchSize=8');
    expect(r1.code, r1.err).toBe(0);
    const r2 = await train(two, 2, ...opts, 'trainDataloader.batchSize=4');
    expect(r2.code, r2.err).toBe(0);
    expect(r2.out).toContain('validation: 17 samples, sharded over 2 workers (9 + 9 results)');
    const valLines = (dir: string) =>
      fs
        .readdirSync(dir)
        .flatMap((d) => {
          const f = path.join(dir, d, 'vis_data', 'scalars.json');
          return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n') : [];
        })
        .map((l) => JSON.parse(l) as Record<string, number>)
        .filter((l) => 'toy/mse' in l);
    const a = valLines(one);
    const b = valLines(two);
    expect(a.length).toBe(4); // valInterval 1, 4 epochs
    expect(b.length).toBe(4);
    for (let i = 0; i < a.length; i++) {
      expect(b[i]['toy/samples']).toBe(17);
      expect(a[i]['toy/samples']).toBe(17);
      // The weights agree to ~1e-7 (the test above); so do the metrics computed from them.
      expect(Math.abs(b[i]['toy/mse'] - a[i]['toy/mse'])).toBeLessThan(1e-5 * a[i]['toy/mse']);
    }
  }, 120_000);
});

describe('DistSamplerSeedHook', () => {
  const draw = (seed: number) => ({ epoch: 2, seed, batches: 5, samples: 40 });
  const runner = (gathered: unknown[]) =>
    ({
      dist: { rank: 0, worldSize: 2, allGather: () => gathered },
      epoch: 2,
      seed: 7,
      trainLoader: { length: 5, dataset: { length: 40 } },
    }) as unknown as Runner;

  it('passes when every worker draws the same epoch of the same order', () => {
    expect(() =>
      new DistSamplerSeedHook().beforeTrainEpoch(runner([draw(7), draw(7)])),
    ).not.toThrow();
  });

  it('stops the training when the workers would draw different orders', () => {
    expect(() => new DistSamplerSeedHook().beforeTrainEpoch(runner([draw(7), draw(8)]))).toThrow(
      'DistSamplerSeedHook: the workers would not draw disjoint shards of one epoch (worker 0: epoch 2, seed 7, 5 batches of 40 samples; worker 1: epoch 2, seed 8, 5 batches of 40 samples)',
    );
  });

  it('a run without a seed: the workers take rank 0 seed, so the shards partition each epoch', async () => {
    const dir = path.join(tmpDir('dp-noseed'), 'run');
    const r = await train(dir, 2, 'randomness.seed=null', 'trainDataloader.batchSize=4');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('done: 20 iterations, 4 epochs');
  }, 120_000);
});
