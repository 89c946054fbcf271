/**
 * Training and inference speed of RetinaNet ResNet-18 FPN at 512x512,
 * batch 4: ours on the wasm backend beside torchvision's RetinaNet with a
 * ResNet-18 FPN backbone (`resnet_fpn_backbone('resnet18', weights=None)`,
 * P3-P7, 9 anchors, 80 classes) on PyTorch CPU with the same thread count,
 * in the same run (a Python child process).
 *
 *   npx tsx bench/train.ts [--iters 3] [--warmup 1] [--infer 3] [--batch 4] [--micro-batch 1] [--backend wasm] [--no-peer]
 *   npx tsx bench/train.ts --nproc 2 [--batch 8] [--iters 40]   (data-parallel scaling: bench/train_dp.ts)
 *
 * Python is $PYTHON or /usr/bin/python3 (Debian's python3-torch and
 * python3-torchvision). Both sides see the same random images and boxes
 * (5 per image). Throughput is measured on wall time and on process CPU
 * time (steadier on a shared machine). Prints a table and, last, one JSON
 * line with the ratios ours / torch.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend, type BackendName } from '../src/backend/index.js';
import { Adam } from '../src/engine/optim/optimizers.js';
import type { DetBatch } from '../src/structures/index.js';
import { setInitSeed } from '../src/nn/index.js';
import { TORCH_RETINANET, buildRetinaNet, retinaBatch, retinaTargets } from './models.js';

const args = process.argv.slice(2);
if (args.includes('--nproc')) {
  // Data-parallel scaling of tools/train.ts --nproc (bench/train_dp.ts).
  await import('./train_dp.js');
  process.exit(0);
}
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const ITERS = opt('iters', 3);
const WARMUP = opt('warmup', 1);
const INFER = opt('infer', 3);
const SIZE = 512;
const BATCH = opt('batch', 4);
/**
 * Images per forward/backward on our side; gradients of the micro-batches are
 * summed before the one optimizer step of the batch. tfjs' wasm heap (4 GB,
 * 32-bit) overflows at 4 images of 512x512 for this model, so wasm uses 1.
 */
const MICRO = opt('micro-batch', 1);
const NUM_CLASSES = 80;
const BOXES = 5;

interface Side {
  threads: number;
  trainImgPerSec: number;
  trainImgPerCpuSec: number;
  inferMs: number;
  inferCpuMs: number;
  params: number;
}

/** Deterministic boxes (x1, y1, x2, y2) and labels shared by both sides. */
const targets = (): ReturnType<typeof retinaTargets> =>
  retinaTargets(BATCH, SIZE, NUM_CLASSES, BOXES);

const PY = String.raw`
import json, sys, time, torch
cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg['threads'])
torch.manual_seed(0)
${TORCH_RETINANET}
imgs = [torch.rand(3, cfg['size'], cfg['size']) for _ in range(cfg['batch'])]
tg = [{'boxes': torch.tensor(b, dtype=torch.float32), 'labels': torch.tensor(l, dtype=torch.int64)} for b, l in zip(cfg['boxes'], cfg['labels'])]
opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
model.train()
def step():
    losses = model(imgs, tg)
    loss = sum(losses.values())
    opt.zero_grad(); loss.backward(); opt.step()
for _ in range(cfg['warmup']): step()
w0, c0 = time.perf_counter(), time.process_time()
for _ in range(cfg['iters']): step()
w1, c1 = time.perf_counter(), time.process_time()
model.eval()
with torch.no_grad():
    model([imgs[0]])
    ws, cs = [], []
    for _ in range(cfg['infer']):
        a, b = time.perf_counter(), time.process_time()
        model([imgs[0]])
        ws.append(time.perf_counter() - a); cs.append(time.process_time() - b)
n = cfg['iters'] * cfg['batch']
print(json.dumps({'threads': torch.get_num_threads(), 'trainImgPerSec': n / (w1 - w0), 'trainImgPerCpuSec': n / (c1 - c0),
                  'inferMs': 1000 * sorted(ws)[len(ws) // 2], 'inferCpuMs': 1000 * sorted(cs)[len(cs) // 2],
                  'params': sum(p.numel() for p in model.parameters()), 'torch': torch.__version__}))
`;

function peer(threads: number, t: ReturnType<typeof targets>): (Side & { torch: string }) | string {
  const python = process.env.PYTHON ?? '/usr/bin/python3';
  if (!existsSync(python)) return `${python} not found`;
  const cfg = {
    threads,
    size: SIZE,
    batch: BATCH,
    numClasses: NUM_CLASSES,
    warmup: WARMUP,
    iters: ITERS,
    infer: INFER,
    ...t,
  };
  const r = spawnSync(python, ['-c', PY, JSON.stringify(cfg)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0)
    return `torch failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const cpuSec = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function ours(t: ReturnType<typeof targets>): Promise<Side> {
  setInitSeed(0);
  const model = buildRetinaNet(NUM_CLASSES);
  const batch: DetBatch = retinaBatch(
    tf.randomUniform([BATCH, SIZE, SIZE, 3], 0, 1, 'float32', 0) as tf.Tensor4D,
    t,
    SIZE,
  );
  const params = model.trainableParameters();
  const optim = new Adam({ lr: 1e-4 });
  optim.setParams(params.map(([name, variable]) => ({ name, variable, lrMult: 1, decayMult: 1 })));
  const byVar = new Map(params.map(([n, v]) => [v.name, n]));
  model.train();
  const micro: DetBatch[] = [];
  for (let s = 0; s < BATCH; s += MICRO) {
    const k = Math.min(MICRO, BATCH - s);
    micro.push({
      inputs: tf.slice(batch.inputs, [s], [k]) as tf.Tensor4D,
      dataSamples: batch.dataSamples.slice(s, s + k),
    });
  }
  const step = (): void => {
    let sum: Record<string, tf.Tensor> = {};
    for (const mb of micro) {
      const { value, grads } = tf.variableGrads(
        () => tf.addN(Object.values(model.loss(mb)).flat()) as tf.Scalar,
        params.map(([, v]) => v),
      );
      value.dataSync();
      const next: Record<string, tf.Tensor> = {};
      for (const [k, g] of Object.entries(grads)) next[k] = sum[k] ? tf.add(sum[k], g) : g;
      tf.dispose([
        value,
        ...Object.values(sum),
        ...(Object.keys(sum).length ? Object.values(grads) : []),
      ]);
      sum = next;
    }
    optim.step(new Map(Object.entries(sum).map(([k, g]) => [byVar.get(k)!, g])));
    tf.dispose(Object.values(sum));
  };
  for (let i = 0; i < WARMUP; i++) step();
  const w0 = performance.now(),
    c0 = cpuSec();
  for (let i = 0; i < ITERS; i++) step();
  const w1 = performance.now(),
    c1 = cpuSec();
  model.eval();
  const one: DetBatch = {
    inputs: tf.slice(batch.inputs, [0], [1]) as tf.Tensor4D,
    dataSamples: [batch.dataSamples[0]],
  };
  await model.predict(one);
  const ws: number[] = [],
    cs: number[] = [];
  for (let i = 0; i < INFER; i++) {
    const a = performance.now(),
      b = cpuSec();
    await model.predict(one);
    ws.push(performance.now() - a);
    cs.push(1000 * (cpuSec() - b));
  }
  const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const n = ITERS * BATCH;
  return {
    threads: 1,
    trainImgPerSec: n / ((w1 - w0) / 1000),
    trainImgPerCpuSec: n / (c1 - c0),
    inferMs: med(ws),
    inferCpuMs: med(cs),
    params: model.numParameters(),
  };
}

async function main(): Promise<void> {
  const backend = await setBackend(
    (args.includes('--backend') ? args[args.indexOf('--backend') + 1] : 'wasm') as BackendName,
  );
  const t = targets();
  const a = await ours(t);
  // tfjs' wasm backend runs single-threaded in Node, so torch gets one thread too.
  const b = args.includes('--no-peer') ? 'skipped (--no-peer)' : peer(a.threads, t);
  const f = (v: number, d = 2): string => v.toFixed(d).padStart(10);
  console.log(
    `RetinaNet R-18 FPN, ${SIZE}x${SIZE}, batch ${BATCH} (ours: ${MICRO} image(s) per forward/backward, gradients summed), ${NUM_CLASSES} classes, ${ITERS} timed iterations after ${WARMUP} warm-up; inference: 1 image, median of ${INFER}`,
  );
  console.log(
    '| side                    | threads | params     | train img/s | train img/CPU-s | infer ms | infer CPU-ms |',
  );
  console.log(
    '|-------------------------|---------|------------|-------------|-----------------|----------|--------------|',
  );
  console.log(
    `| tfdet (${backend.name.padEnd(6)})         | ${String(a.threads).padStart(7)} | ${String(a.params).padStart(10)} | ${f(a.trainImgPerSec, 3)}  | ${f(a.trainImgPerCpuSec, 3)}      | ${f(a.inferMs, 0)} | ${f(a.inferCpuMs, 0)}   |`,
  );
  if (typeof b === 'string') console.log(`| torchvision (CPU)       | ${b}`);
  else
    console.log(
      `| torchvision ${b.torch.padEnd(11)} | ${String(b.threads).padStart(7)} | ${String(b.params).padStart(10)} | ${f(b.trainImgPerSec, 3)}  | ${f(b.trainImgPerCpuSec, 3)}      | ${f(b.inferMs, 0)} | ${f(b.inferCpuMs, 0)}   |`,
    );
  const ratios =
    typeof b === 'string'
      ? null
      : {
          trainImgPerSec: a.trainImgPerSec / b.trainImgPerSec,
          trainImgPerCpuSec: a.trainImgPerCpuSec / b.trainImgPerCpuSec,
          inferLatency: a.inferMs / b.inferMs,
          inferCpuLatency: a.inferCpuMs / b.inferCpuMs,
        };
  if (ratios)
    console.log(
      `ours / torch: train throughput x${ratios.trainImgPerSec.toFixed(3)} (CPU time x${ratios.trainImgPerCpuSec.toFixed(3)}), inference latency x${ratios.inferLatency.toFixed(2)} (CPU time x${ratios.inferCpuLatency.toFixed(2)})`,
    );
  console.log(
    JSON.stringify({
      bench: 'train',
      model: 'retinanet_r18_fpn',
      size: SIZE,
      batch: BATCH,
      microBatch: MICRO,
      backend: backend.name,
      ours: a,
      torch: typeof b === 'string' ? b : b,
      ratios,
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
