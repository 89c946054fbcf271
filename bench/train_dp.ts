/**
 * Data-parallel scaling of `tools/train.ts --nproc`: training images per
 * second of the demo's SSD (configs/ssd/ssd_r18_shapes.ts) with 1 worker and
 * with N workers at the same global batch (batch B on 1 worker, B/N on each
 * of N), in one run, on a synthetic set generated for it. Throughput comes
 * from rank 0's logged iteration times after the first logging window
 * (warm-up); with N workers an iteration includes the gradient all-reduce and
 * the wait for the slowest worker.
 *
 *   npx tsx bench/train.ts --nproc 2 [--batch 8] [--iters 40] [--backend wasm] [--config FILE] [--norm BN|SyncBN]
 *
 * `--norm` sets the backbone's normCfg type (default: the config's).
 *
 * Prints a table and, last, one JSON line.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { autoProcs } from '../src/engine/dist/procs.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const NPROC = opt('nproc', '2') === 'auto' ? autoProcs() : Number(opt('nproc', '2'));
const BATCH = Number(opt('batch', '8'));
const ITERS = Number(opt('iters', '40'));
const BACKEND = opt('backend', 'wasm');
const CONFIG = opt('config', 'configs/ssd/ssd_r18_shapes.ts');
const NORM = opt('norm', '');
if (NORM && !['BN', 'SyncBN'].includes(NORM))
  throw new Error(`--norm: expected BN or SyncBN, got ${JSON.stringify(NORM)}`);
const INTERVAL = 5;

if (!(NPROC >= 2) || BATCH % NPROC !== 0)
  throw new Error(`--nproc must be >= 2 and divide --batch (${BATCH}), got ${NPROC}`);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-bench-dp-'));
const data = path.join(root, 'synthetic');
const node = (script: string, a: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', script, ...a], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
node('tools/make_synthetic.ts', [
  '--out',
  data,
  '--num-train',
  String(ITERS * BATCH),
  '--num-val',
  '4',
  '--size',
  '256',
]);

interface Run {
  workers: number;
  perWorker: number;
  secondsPerIter: number;
  imagesPerSecond: number;
  wallSeconds: number;
}

function trainRun(workers: number): Run {
  const perWorker = BATCH / workers;
  const work = path.join(root, `w${workers}`);
  const t0 = performance.now();
  node('tools/train.ts', [
    CONFIG,
    '--work-dir',
    work,
    '--backend',
    BACKEND,
    ...(workers > 1 ? ['--nproc', String(workers)] : []),
    '--cfg-options',
    `trainDataloader.batchSize=${perWorker}`,
    `trainDataloader.dataset.dataRoot=${data}/`,
    'trainCfg.maxEpochs=1',
    'valCfg=None',
    `defaultHooks.logger.interval=${INTERVAL}`,
    'defaultHooks.checkpoint.interval=-1',
    'defaultHooks.checkpoint.saveLast=false',
    ...(NORM ? [`model.backbone.normCfg.type=${NORM}`] : []),
  ]);
  const wallSeconds = (performance.now() - t0) / 1000;
  const logDir = fs.readdirSync(work).find((n) => /^\d{8}_\d{6}$/.test(n))!;
  const recs = fs
    .readFileSync(path.join(work, logDir, 'vis_data', 'scalars.json'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { time?: number })
    .filter((r) => typeof r.time === 'number');
  const steady = recs.slice(1);
  if (!steady.length) throw new Error(`too few iterations logged in ${work} (use more --iters)`);
  const secondsPerIter = steady.reduce((a, r) => a + r.time!, 0) / steady.length;
  return {
    workers,
    perWorker,
    secondsPerIter,
    imagesPerSecond: BATCH / secondsPerIter,
    wallSeconds,
  };
}

const one = trainRun(1);
const many = trainRun(NPROC);
fs.rmSync(root, { recursive: true, force: true });
const speedup = many.imagesPerSecond / one.imagesPerSecond;
const cores = os.availableParallelism();
console.log(
  `\n${CONFIG}${NORM ? ` (${NORM})` : ''}, global batch ${BATCH}, ${ITERS} iterations, backend ${BACKEND}, ${cores} cores\n`,
);
console.log('workers  batch/worker  s/iter   images/s  wall s');
for (const r of [one, many])
  console.log(
    `${String(r.workers).padStart(7)}  ${String(r.perWorker).padStart(12)}  ${r.secondsPerIter.toFixed(3).padStart(6)}  ${r.imagesPerSecond.toFixed(1).padStart(9)}  ${r.wallSeconds.toFixed(1).padStart(6)}`,
  );
console.log(
  `speed-up with ${NPROC} workers: ${speedup.toFixed(2)}x (per core: ${(speedup / NPROC).toFixed(2)})`,
);
console.log(
  JSON.stringify({
    bench: 'train-dp',
    config: CONFIG,
    norm: NORM || 'config',
    backend: BACKEND,
    cores,
    globalBatch: BATCH,
    iters: ITERS,
    runs: [one, many],
    speedup,
    perCoreEfficiency: speedup / NPROC,
  }),
);
