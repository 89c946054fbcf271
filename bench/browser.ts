/**
 * Latency of the browser bundle's `detect()` per backend: webgpu, webgl and
 * wasm in headless Chromium (dist/browser/tfdet.js built fresh into a temp
 * folder), beside the same model on Node's wasm backend through the Node
 * path (`setBackend('wasm')` of src/backend, `MODELS.build`,
 * `loadCheckpoint`, the config's test pipeline with sharp, `predict`, as
 * tools/infer.ts does), for the demo SSD (160 px) and the shapes Faster
 * R-CNN (128 px), on one 256-px shapes image.
 *
 *   npx tsx bench/browser.ts [--ssd-work-dir DIR] [--frcnn-work-dir DIR] [--runs 20] [--warmup 3]
 *                            [--backends webgpu,webgl,wasm,node-wasm] [--image FILE.jpg]
 *
 * Without a work dir the bench trains that config for a few iterations
 * itself (tools/train.ts, wasm) on a tiny shapes set in a temp dir: latency
 * does not depend on how well a model is trained (only the number of boxes
 * past the score threshold changes the post-processing a little).
 *
 * Per row: median, p10 and p90 of `runs` calls after `warmup` calls, the
 * per-stage medians (`times` of DetectResult in the page: preprocess =
 * pixels of the decoded image to the network input, network = until the
 * first read of the head outputs, postprocess = the rest; in Node the same
 * split with the same read counter, but preprocess is the test pipeline from
 * the JPEG file: decode, sharp resize, normalise, pad) and the ratio to Node
 * wasm of the same model, and the median number of detections past the
 * score threshold (0.3). Prints a markdown table and one JSON line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { setBackend } from '../src/backend/index.js';
import { countReads } from '../src/browser/detector.js';
import { loadConfig } from '../src/config/index.js';
import {
  collate,
  Compose,
  makeSyntheticShapes,
  readImageSize,
  type PackedInputs,
} from '../src/datasets/index.js';
import { registerAllModules } from '../src/engine/register_all.js';
import { assertFullLoad, loadCheckpoint, setInitSeed, type Module } from '../src/nn/index.js';
import { MODELS } from '../src/registry.js';
import {
  callPage,
  quantile,
  startBenchPage,
  trainBriefly,
  workDirFiles,
  type BenchPage,
} from './browser_page.js';

const { values: args } = parseArgs({
  options: {
    'ssd-work-dir': { type: 'string' },
    'frcnn-work-dir': { type: 'string' },
    runs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    backends: { type: 'string', default: 'webgpu,webgl,wasm,node-wasm' },
    image: { type: 'string' },
  },
});
const RUNS = Number(args.runs);
const WARMUP = Number(args.warmup);
const BACKENDS = args.backends.split(',').map((s) => s.trim());
const PAGE_BACKENDS = BACKENDS.filter((b) => b !== 'node-wasm');
const SCORE_THR = 0.3;
for (const b of BACKENDS)
  if (!['webgpu', 'webgl', 'wasm', 'cpu', 'node-wasm'].includes(b))
    throw new Error(`--backends: unknown backend ${JSON.stringify(b)}`);
if (!(RUNS >= 1) || !(WARMUP >= 0)) throw new Error('--runs must be >= 1 and --warmup >= 0');

const MODEL_SPECS = [
  { name: 'ssd', config: 'configs/ssd/ssd_r18_shapes.ts', workDir: args['ssd-work-dir'] },
  {
    name: 'faster_rcnn',
    config: 'configs/faster_rcnn/faster_rcnn_r18_fpn_shapes.ts',
    workDir: args['frcnn-work-dir'],
  },
];

interface Run {
  wall: number;
  preprocess: number;
  network: number;
  postprocess: number;
  total: number;
  reads: number;
  n: number;
}

interface Row {
  model: string;
  backend: string;
  runs: number;
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  preprocessMs: number;
  networkMs: number;
  postprocessMs: number;
  imagesPerSec: number;
  reads: number;
  detections: number;
  loadMs: number;
  ratioToNodeWasm?: number;
  error?: string;
}

function summarize(model: string, backend: string, runs: Run[], loadMs: number): Row {
  const med = (k: keyof Run) =>
    quantile(
      runs.map((r) => r[k]),
      0.5,
    );
  const m = med('wall');
  return {
    model,
    backend,
    runs: runs.length,
    medianMs: m,
    p10Ms: quantile(
      runs.map((r) => r.wall),
      0.1,
    ),
    p90Ms: quantile(
      runs.map((r) => r.wall),
      0.9,
    ),
    preprocessMs: med('preprocess'),
    networkMs: med('network'),
    postprocessMs: med('postprocess'),
    imagesPerSec: 1000 / m,
    reads: med('reads'),
    detections: med('n'),
    loadMs,
  };
}

interface Prediction {
  predInstances?: { scores: Float32Array };
}

/** The Node path on wasm: as tools/infer.ts (build, load, test pipeline from the file, predict). */
async function nodeLatency(
  name: string,
  files: { config: string; checkpoint: string },
  image: string,
): Promise<Row> {
  const t0 = performance.now();
  const cfg = await loadConfig(files.config);
  setInitSeed(0);
  const model = MODELS.build<Module & { predict(b: unknown): Promise<Prediction[]> }>(cfg.model, {
    path: 'model',
  });
  const ckpt = loadCheckpoint(files.checkpoint);
  assertFullLoad(model.loadStateDict(ckpt.state, { strict: false }), files.checkpoint, name);
  for (const t of [...ckpt.state.values(), ...ckpt.optimizerState.values()]) t.dispose();
  model.eval();
  const pipelineCfg = (cfg.testPipeline ??
    (cfg.testDataloader ?? cfg.valDataloader)?.dataset?.pipeline ??
    []) as {
    type: string;
  }[];
  const pipeline = new Compose(pipelineCfg.filter((t) => t.type !== 'LoadAnnotations'));
  const loadMs = performance.now() - t0;
  const size = readImageSize(image)!;
  const runs: Run[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    let reads = 0;
    let firstRead = 0;
    const a = performance.now();
    const packed = (await pipeline.run({
      imgPath: image,
      imgId: 0,
      width: size.width,
      height: size.height,
      instances: [],
    })) as unknown as PackedInputs;
    const batch = collate([packed]);
    const t1 = performance.now();
    const restore = countReads(() => {
      reads++;
      if (!firstRead) firstRead = performance.now();
    });
    let pred: Prediction | undefined;
    try {
      [pred] = await model.predict(batch);
    } finally {
      restore();
      batch.inputs.dispose();
    }
    const t2 = performance.now();
    const n = Array.from(pred?.predInstances?.scores ?? []).filter((s) => s >= SCORE_THR).length;
    if (i >= WARMUP)
      runs.push({
        wall: t2 - a,
        preprocess: t1 - a,
        network: (firstRead || t2) - t1,
        postprocess: firstRead ? t2 - firstRead : 0,
        total: t2 - a,
        reads,
        n,
      });
  }
  model.dispose();
  return summarize(name, 'node-wasm', runs, loadMs);
}

async function pageLatency(
  bp: BenchPage,
  name: string,
  backend: string,
  urls: { config: string; checkpoint: string; image: string },
): Promise<Row> {
  const { page, logs } = await bp.open();
  try {
    const r = await callPage<{ error?: string; backend?: string; loadMs: number; runs: Run[] }>(
      page,
      'benchLatency',
      { backend, ...urls, warmup: WARMUP, runs: RUNS, scoreThr: SCORE_THR },
    );
    if (r.error || r.backend !== backend)
      throw new Error(r.error ?? `the page ran ${r.backend}, not ${backend}`);
    return summarize(name, backend, r.runs, r.loadMs);
  } catch (e) {
    const msg = `${(e as Error).message.split('\n')[0]}${logs.length ? ` (page log: ${logs.slice(-3).join(' | ')})` : ''}`;
    console.error(`${name} ${backend} failed: ${(e as Error).message}\n${logs.join('\n')}`);
    return { ...summarize(name, backend, [], NaN), error: msg };
  } finally {
    await page.close();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-bench-browser-'));
  // a 256-px shapes image (as the real set's), and the training set when the bench trains
  const data = path.join(dir, 'data');
  await makeSyntheticShapes({ outDir: data, numTrain: 8, numVal: 2, imageSize: 256, seed: 5 });
  const valIds = fs.readFileSync(path.join(data, 'ImageSets/Main/val.txt'), 'utf8').trim();
  const image = path.resolve(
    args.image ?? path.join(data, 'JPEGImages', `${valIds.split('\n')[0]}.jpg`),
  );
  const trainedHere: string[] = [];
  const models: { name: string; files: { config: string; checkpoint: string } }[] = [];
  for (const spec of MODEL_SPECS) {
    if (spec.workDir) {
      models.push({ name: spec.name, files: workDirFiles(path.resolve(spec.workDir)) });
      continue;
    }
    const t = performance.now();
    // 8 images, batch 4, 1 epoch: 2 iterations
    const files = await trainBriefly(spec.config, path.join(dir, 'work', spec.name), data, 1);
    console.log(
      `trained ${spec.name} for 2 iterations in ${((performance.now() - t) / 1000).toFixed(0)} s (${files.checkpoint})`,
    );
    trainedHere.push(spec.name);
    models.push({ name: spec.name, files });
  }

  const rows: Row[] = [];
  if (BACKENDS.includes('node-wasm')) {
    const b = await setBackend('wasm');
    console.log(`node: ${b.reason}`);
    await registerAllModules();
    for (const m of models) {
      const r = await nodeLatency(m.name, m.files, image);
      console.log(`${m.name} node-wasm: median ${r.medianMs.toFixed(1)} ms`);
      rows.push(r);
    }
  }

  let chromium = 'not run';
  if (PAGE_BACKENDS.length) {
    const roots: Record<string, string> = { '/image/': path.dirname(image) };
    models.forEach((m, i) => (roots[`/m${i}/`] = path.dirname(m.files.config)));
    models.forEach((m, i) => (roots[`/c${i}/`] = path.dirname(m.files.checkpoint)));
    const bp = await startBenchPage(dir, roots);
    chromium = bp.browser.version();
    try {
      for (const [i, m] of models.entries())
        for (const backend of PAGE_BACKENDS) {
          const t = performance.now();
          const r = await pageLatency(bp, m.name, backend, {
            config: `/m${i}/${path.basename(m.files.config)}`,
            checkpoint: `/c${i}/${path.basename(m.files.checkpoint)}`,
            image: `/image/${path.basename(image)}`,
          });
          console.log(
            `${m.name} ${backend}: median ${r.medianMs.toFixed(1)} ms (${((performance.now() - t) / 1000).toFixed(0)} s)`,
          );
          rows.push(r);
        }
    } finally {
      await bp.close();
    }
  }

  for (const r of rows) {
    const node = rows.find((x) => x.model === r.model && x.backend === 'node-wasm');
    if (node && !r.error) r.ratioToNodeWasm = r.medianMs / node.medianMs;
  }
  const order = ['webgpu', 'webgl', 'wasm', 'cpu', 'node-wasm'];
  rows.sort(
    (a, b) =>
      models.findIndex((m) => m.name === a.model) - models.findIndex((m) => m.name === b.model) ||
      order.indexOf(a.backend) - order.indexOf(b.backend),
  );
  const cpus = os.cpus();
  const machine = {
    cpus: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    loadavg: os.loadavg().map((v) => Number(v.toFixed(2))),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
  };
  const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '—');
  console.log('');
  console.log(
    `detect() latency, 1 image of ${readImageSize(image)?.width}x${readImageSize(image)?.height} px (${path.basename(image)}), median of ${RUNS} after ${WARMUP} warm-up calls, scoreThr ${SCORE_THR}; ${machine.cpus} CPUs (${machine.model}), load ${machine.loadavg.join(' ')}; Chromium ${chromium}`,
  );
  console.log(
    '| model       | backend   | median ms | p10 ms  | p90 ms  | preprocess | network | postprocess | images/s | dets | x Node wasm |',
  );
  console.log(
    '|-------------|-----------|-----------|---------|---------|------------|---------|-------------|----------|------|-------------|',
  );
  for (const r of rows) {
    if (r.error) {
      console.log(`| ${r.model.padEnd(11)} | ${r.backend.padEnd(9)} | failed: ${r.error} |`);
      continue;
    }
    console.log(
      `| ${r.model.padEnd(11)} | ${r.backend.padEnd(9)} | ${f(r.medianMs).padStart(9)} | ${f(r.p10Ms).padStart(7)} | ${f(r.p90Ms).padStart(7)} | ${f(r.preprocessMs).padStart(10)} | ${f(r.networkMs).padStart(7)} | ${f(r.postprocessMs).padStart(11)} | ${f(r.imagesPerSec, 2).padStart(8)} | ${String(r.detections).padStart(4)} | ${(r.ratioToNodeWasm === undefined ? '—' : `x${r.ratioToNodeWasm.toFixed(2)}`).padStart(11)} |`,
    );
  }
  console.log('');
  console.log(
    'webgpu and webgl run on SwiftShader (the GPU emulated on the CPU) here: these are not GPU figures.',
  );
  console.log(
    "Page preprocess starts from the browser's decoded image; Node wasm preprocess is the test pipeline from the JPEG file (decode, sharp resize, normalise, pad).",
  );
  if (trainedHere.length)
    console.log(
      `${trainedHere.join(' and ')} trained here for 2 iterations only: the network's latency does not depend on how well a model is trained, but the post-processing (NMS, RoI stage) grows with the candidate boxes past the config's testCfg score threshold, which a barely trained model can have many of (dets = median detections past scoreThr ${SCORE_THR} per call).`,
    );
  console.log(
    JSON.stringify({
      bench: 'browser',
      runs: RUNS,
      warmup: WARMUP,
      scoreThr: SCORE_THR,
      image: { file: path.basename(image), ...readImageSize(image) },
      models: models.map((m) => ({
        name: m.name,
        config: m.files.config,
        checkpoint: m.files.checkpoint,
        trainedHere: trainedHere.includes(m.name),
      })),
      rows,
      machine,
      chromium,
      gpuBackendsOn: 'SwiftShader',
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    }),
  );
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
