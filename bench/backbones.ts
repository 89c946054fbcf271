/**
 * Backbone latency: ResNet-18, ResNet-50 and MobileNetV3-Large classifiers,
 * ours on the wasm backend beside PyTorch CPU (Debian's python3-torch, same
 * thread count) in the same run:
 *
 * - forward, batch 1, 224x224 (eval mode)
 * - forward, batch 1, 800x1216 (eval mode; a detection-sized input)
 * - forward + backward, batch 8, 224x224 (train mode, cross-entropy, all gradients read)
 *
 * Prints a markdown table and one JSON line with the ratios (ours / PyTorch).
 *
 *   npx tsx bench/backbones.ts [--models resnet18,resnet50,mobilenet_v3_large] [--reps 5] [--big-reps 1] [--train-reps 2]
 *
 * Each case warms up once at batch 2, 224x224 (both sides), then times `reps` runs.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../src/backend/index.js';
import { setInitSeed, type Module } from '../src/nn/index.js';
import { MODELS } from '../src/registry.js';
import '../src/backbones/index.js';
import '../src/classifiers/index.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'resnet18,resnet50,mobilenet_v3_large' },
    reps: { type: 'string', default: '5' },
    'big-reps': { type: 'string', default: '1' },
    'train-reps': { type: 'string', default: '2' },
  },
});
const models = args.models.split(',');
// tfjs' wasm backend runs single-threaded in Node (no threaded build is loaded); PyTorch gets the same.
const threads = 1;

interface Case {
  name: string;
  batch: number;
  h: number;
  w: number;
  train: boolean;
  reps: number;
}
const CASES: Case[] = [
  { name: 'fwd b1 224', batch: 1, h: 224, w: 224, train: false, reps: Number(args.reps) },
  {
    name: 'fwd b1 800x1216',
    batch: 1,
    h: 800,
    w: 1216,
    train: false,
    reps: Number(args['big-reps']),
  },
  {
    name: 'fwd+bwd b8 224',
    batch: 8,
    h: 224,
    w: 224,
    train: true,
    reps: Number(args['train-reps']),
  },
];

const CONFIGS: Record<string, Record<string, unknown>> = {
  resnet18: {
    backbone: { type: 'ResNet', depth: 18, outIndices: [3], normEval: false },
    head: { type: 'LinearClsHead', numClasses: 1000, inChannels: 512 },
  },
  resnet50: {
    backbone: { type: 'ResNet', depth: 50, outIndices: [3], normEval: false },
    head: { type: 'LinearClsHead', numClasses: 1000, inChannels: 2048 },
  },
  mobilenet_v3_large: {
    backbone: { type: 'MobileNetV3', arch: 'large', outIndices: [16] },
    head: {
      type: 'StackedLinearClsHead',
      numClasses: 1000,
      inChannels: 960,
      midChannels: [1280],
      actCfg: { type: 'HSwish' },
      dropout: 0.2,
    },
  },
};

/**
 * ResNet-50's fwd+bwd at batch 8 needs about 4.5 GB in tfjs (2.4 GB measured
 * at batch 4: the tape keeps every saved activation), past wasm32's 4 GB
 * heap; it runs as 2 x 4 with accumulated gradients.
 */
const MICRO_BATCH: Record<string, number> = { resnet50: 4 };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Clf extends Module {
  forward(x: tf.Tensor4D): tf.Tensor2D;
  loss(x: tf.Tensor4D, labels: number[]): tf.Scalar;
}

function timeOurs(model: string, c: Case): number[] {
  setInitSeed(0);
  const clf = MODELS.build<Clf>({ type: 'ImageClassifier', ...CONFIGS[model] });
  clf.train(c.train);
  const vars = clf.trainableParameters().map(([, v]) => v);
  const run = (x: tf.Tensor4D): void =>
    tf.tidy(() => {
      const labels = Array.from({ length: x.shape[0] }, (_, i) => (i * 37) % 1000);
      if (!c.train) {
        clf.forward(x).dataSync();
        return;
      }
      // Micro-batches with accumulated gradients where batch 8 does not fit
      // the wasm heap (4 GB): the same arithmetic as one batch-8 step.
      const mb = Math.min(x.shape[0], MICRO_BATCH[model] ?? x.shape[0]);
      let acc: Record<string, tf.Tensor> = {};
      for (let s = 0; s < x.shape[0]; s += mb) {
        const xs = tf.slice(x, [s, 0, 0, 0], [mb, -1, -1, -1]);
        const { grads } = tf.variableGrads(() => clf.loss(xs, labels.slice(s, s + mb)), vars);
        acc = Object.keys(acc).length
          ? Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.add(acc[k], g)]))
          : grads;
      }
      // Reading every gradient forces the whole backward pass to finish.
      for (const g of Object.values(acc)) g.dataSync();
    });
  // Warm-up at batch 2, 224x224 (XNNPACK operator creation, weight packing,
  // kernel compilation are per layer, not per input size): keeps the big cases short.
  const warm = tf.randomNormal([2, 224, 224, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  run(warm);
  warm.dispose();
  const x = tf.randomNormal([c.batch, c.h, c.w, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const ms: number[] = [];
  for (let i = 0; i < c.reps; i++) {
    const t0 = performance.now();
    run(x);
    ms.push(performance.now() - t0);
  }
  clf.dispose();
  x.dispose();
  return ms;
}

function timeTorch():
  { results: Record<string, Record<string, number[]>>; version: string } | { error: string } {
  const py = `
import json, time, torch, torchvision
torch.set_num_threads(${threads})
# Randomly initialised deep nets drift into denormal floats, which x86 handles
# about 10x slower (ResNet-50 fwd 2.2 s instead of 0.3 s); flush them, as the
# wasm side effectively runs without that penalty.
torch.set_flush_denormal(True)
cases = json.loads(${JSON.stringify(JSON.stringify(CASES))})
models = json.loads(${JSON.stringify(JSON.stringify(models))})
out = {}
for name in models:
    torch.manual_seed(0)
    m = getattr(torchvision.models, name)()
    out[name] = {}
    for c in cases:
        m.train(c['train'])
        x = torch.randn(c['batch'], 3, c['h'], c['w'])
        y = torch.tensor([(i * 37) % 1000 for i in range(c['batch'])])
        def run():
            if c['train']:
                m.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(m(x), y).backward()
            else:
                with torch.no_grad():
                    m(x)
        xw = torch.randn(2, 3, 224, 224)
        with torch.set_grad_enabled(c['train']):
            m(xw)  # warm-up, as ours
        ms = []
        for _ in range(c['reps']):
            t0 = time.perf_counter(); run(); ms.append((time.perf_counter() - t0) * 1000)
        out[name][c['name']] = ms
import re
blas = re.search(r'BLAS_INFO=(\\w+)', torch.__config__.show())
print(json.dumps({"results": out, "version": torch.__version__ + (f" BLAS_INFO={blas.group(1)}" if blas else "")}))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0)
    return { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').pop()! };
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const backend = await setBackend('wasm');
const t0 = performance.now();
const ours: Record<string, Record<string, number[]>> = {};
for (const m of models) {
  ours[m] = {};
  for (const c of CASES) {
    ours[m][c.name] = timeOurs(m, c);
    console.error(`ours ${m} ${c.name}: ${median(ours[m][c.name]).toFixed(0)} ms`);
  }
}
const oursS = (performance.now() - t0) / 1000;
const t1 = performance.now();
const torch = timeTorch();
const torchS = (performance.now() - t1) / 1000;

console.log(
  `Backbone latency, ours on ${backend.name} (${backend.reason}) vs PyTorch CPU${'version' in torch ? ` ${torch.version}` : ''} (denormals flushed), ${threads} thread each; median ms`,
);
console.log('| model | case | reps | ours ms | PyTorch ms | ours / PyTorch |');
console.log('|---|---|---:|---:|---:|---:|');
const rows: Record<string, unknown>[] = [];
for (const m of models) {
  for (const c of CASES) {
    const o = median(ours[m][c.name]);
    const p = 'results' in torch ? median(torch.results[m][c.name]) : null;
    const ratio = p ? o / p : null;
    rows.push({
      model: m,
      case: c.name,
      ours_ms: Math.round(o),
      torch_ms: p === null ? null : Math.round(p),
      ratio: ratio === null ? null : Number(ratio.toFixed(2)),
    });
    const mb =
      c.train && MICRO_BATCH[m] && MICRO_BATCH[m] < c.batch
        ? ` (ours ${c.batch / MICRO_BATCH[m]} x ${MICRO_BATCH[m]})`
        : '';
    console.log(
      `| ${m} | ${c.name}${mb} | ${c.reps} | ${o.toFixed(0)} | ${p === null ? '-' : p.toFixed(0)} | ${ratio === null ? '-' : `${ratio.toFixed(2)}x`} |`,
    );
  }
}
if ('error' in torch) console.log(`PyTorch unavailable: ${torch.error}`);
console.log(`(ours ${oursS.toFixed(0)} s, PyTorch ${torchS.toFixed(0)} s of wall time)`);
console.log(
  JSON.stringify({
    bench: 'backbones',
    backend: backend.name,
    threads: { ours: threads, torch: threads },
    torch: 'version' in torch ? torch.version : null,
    results: rows,
  }),
);
