/**
 * Kernel-by-kernel profile of one training step (forward + backward, no
 * optimizer update) on our wasm backend under `tf.profile`, beside the same
 * step of the same model on PyTorch CPU with 1 thread under
 * `torch.profiler.profile` (each op's self CPU time from `key_averages()`).
 * Models: the ResNet-18 classifier of bench/backend.ts and the RetinaNet
 * R-18 FPN (80 classes) of bench/train.ts, both from bench/models.ts.
 *
 *   npx tsx bench/profile.ts [--model resnet18|retinanet] [--batch N] [--size S] [--reps R]
 *
 * Defaults: resnet18 at batch 8, 224x224; retinanet at batch 1, 512x512;
 * 3 reps. Each side runs one warm-up step, one timed step without the
 * profiler (wall ms/step) and then R profiled steps; every figure is per
 * step (divided by R). Prints a table by kernel category, the PyTorch ops
 * with the most self time, our 15 most expensive kernel invocations with
 * their shapes, the GFLOP/s of our conv kernels beside a wasm SIMD128
 * ceiling, and, last, one JSON line.
 *
 * Python is /usr/bin/python3 (Debian's python3-torch and
 * python3-torchvision); without them the PyTorch side reads "unavailable".
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../src/backend/index.js';
import { setInitSeed } from '../src/nn/index.js';
import {
  classifierStep,
  TORCH_RESNET18,
  TORCH_RETINANET,
  buildRetinaNet,
  retinaBatch,
  retinaTargets,
  type Targets,
} from './models.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'resnet18' },
    batch: { type: 'string' },
    size: { type: 'string' },
    reps: { type: 'string', default: '3' },
  },
});
const MODEL = args.model;
if (MODEL !== 'resnet18' && MODEL !== 'retinanet')
  throw new Error(`--model: expected resnet18 | retinanet, got ${JSON.stringify(MODEL)}`);
const BATCH = Number(args.batch ?? (MODEL === 'resnet18' ? 8 : 1));
const SIZE = Number(args.size ?? (MODEL === 'resnet18' ? 224 : 512));
const REPS = Math.max(1, Number(args.reps));
const NUM_CLASSES = 80;
const BOXES = 5;
const PYTHON = '/usr/bin/python3';

const CATEGORIES = [
  'conv forward',
  'conv backward',
  'conv backward: input',
  'conv backward: filter',
  'batch norm',
  'pooling',
  'matmul',
  'elementwise and other',
] as const;
type Category = (typeof CATEGORIES)[number];
/** The categories that partition the total ('conv backward' is the sum of its two sub-rows). */
const LEAF: readonly Category[] = CATEGORIES.filter((c) => c !== 'conv backward');

/** One kernel invocation recorded by `tf.profile`. */
interface Rec {
  name: string;
  ms: number;
  inputShapes: (number[] | null)[];
  outputShapes: number[][];
}

/** Our category of a tfjs kernel name. */
function oursCategory(name: string): Category {
  if (/^(Conv2D|FusedConv2D|DepthwiseConv2dNative|FusedDepthwiseConv2D)$/.test(name))
    return 'conv forward';
  if (/^(Conv2DBackpropInput|DepthwiseConv2dNativeBackpropInput)$/.test(name))
    return 'conv backward: input';
  if (/^(Conv2DBackpropFilter|DepthwiseConv2dNativeBackpropFilter)$/.test(name))
    return 'conv backward: filter';
  if (/^(TfdetBatchNorm|TfdetChannelMoments|FusedBatchNorm|BatchNormalization)/.test(name))
    return 'batch norm';
  if (/^(MaxPool|MaxPoolGrad|AvgPool|AvgPoolGrad|MaxPoolWithArgmax)$/.test(name)) return 'pooling';
  if (/^(BatchMatMul|_FusedMatMul)$/.test(name)) return 'matmul';
  return 'elementwise and other';
}

/**
 * The category of a PyTorch profiler op. Autograd nodes
 * (`ConvolutionBackward0`, `autograd::engine::evaluate_function: ...`) go
 * with the op they differentiate.
 */
function torchCategory(name: string): Category {
  if (/convolution|conv\dd|slow_conv/i.test(name))
    return /backward/i.test(name) ? 'conv backward' : 'conv forward';
  if (/batch_?norm/i.test(name)) return 'batch norm';
  if (/pool/i.test(name)) return 'pooling';
  if (
    /^aten::(addmm|mm|bmm|matmul|linear|baddbmm)$/.test(name) ||
    /^(autograd::engine::evaluate_function: )?(Addmm|Mm|Bmm|MatMul|Linear)Backward\d*$/.test(name)
  )
    return 'matmul';
  return 'elementwise and other';
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/**
 * Multiply-adds ×2 of a conv kernel: 2·N·OH·OW·KH·KW·CI·CO (depthwise:
 * CO = channel multiplier), from dy or the output ([N, OH, OW, *]) and the
 * filter ([KH, KW, CI, CO]). Backprop kernels count as their forward conv.
 */
function convFlops(r: Rec): number {
  const [a, b] = r.inputShapes;
  const out = r.outputShapes[0];
  let y: readonly number[] | null | undefined;
  let filter: readonly number[] | null | undefined;
  const cat = oursCategory(r.name);
  if (cat === 'conv forward') [y, filter] = [out, b];
  else if (cat === 'conv backward: input') [y, filter] = [a, b];
  else if (cat === 'conv backward: filter') [y, filter] = [b, out];
  if (!y || !filter || y.length !== 4 || filter.length !== 4) return 0;
  return 2 * y[0] * y[1] * y[2] * prod(filter);
}

/** One training step of the chosen model on our side; returns the loss. */
function oursStep(): { step: () => number; dispose: () => void } {
  setInitSeed(0);
  if (MODEL === 'resnet18') return classifierStep(BATCH, SIZE);
  const model = buildRetinaNet(NUM_CLASSES);
  model.train();
  const batch = retinaBatch(
    tf.randomUniform([BATCH, SIZE, SIZE, 3], 0, 1, 'float32', 0) as tf.Tensor4D,
    retinaTargets(BATCH, SIZE, NUM_CLASSES, BOXES),
    SIZE,
  );
  const vars = model.trainableParameters().map(([, v]) => v);
  const step = (): number =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.addN(Object.values(model.loss(batch)).flat()) as tf.Scalar,
        vars,
      );
      for (const g of Object.values(grads)) g.dataSync();
      return value.dataSync()[0];
    });
  return { step, dispose: () => (model.dispose(), tf.dispose(batch.inputs)) };
}

interface Ours {
  wallMs: number;
  /** Process CPU time of the step without the profiler. */
  cpuMs: number;
  profiledWallMs: number;
  /** Kernel records of all profiled steps, scope records left out. */
  records: Rec[];
  /** Kernel records of the first profiled step. */
  firstStep: Rec[];
  /** Records of `tf.customGrad` scopes (their time includes the kernels inside), per step. */
  scopeMs: number;
  scopeCount: number;
  loss: number;
}

async function runOurs(): Promise<Ours> {
  const backend = (await setBackend('wasm')).name;
  const { step, dispose } = oursStep();
  const t0 = performance.now();
  step();
  const warmMs = performance.now() - t0;
  const tensorsBefore = tf.memory().numTensors;
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  let loss = step();
  const wallMs = performance.now() - t1;
  const cpu = process.cpuUsage(c1);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const records: Rec[] = [];
  let firstStep: Rec[] = [];
  let scopeMs = 0;
  let scopeCount = 0;
  let profiledMs = 0;
  for (let i = 0; i < REPS; i++) {
    const t2 = performance.now();
    const prof = await tf.profile(() => {
      loss = step();
    });
    profiledMs += performance.now() - t2;
    const recs: Rec[] = [];
    for (const k of prof.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      // A customGrad scope is recorded under its scope name, which is no registered kernel.
      if (tf.getKernel(k.name, backend) === undefined) {
        scopeMs += ms;
        scopeCount++;
        continue;
      }
      recs.push({
        name: k.name,
        ms,
        inputShapes: k.inputShapes,
        outputShapes: k.outputShapes,
      });
    }
    if (i === 0) firstStep = recs;
    records.push(...recs);
  }
  const leaked = tf.memory().numTensors - tensorsBefore;
  console.error(
    `ours: warm-up ${warmMs.toFixed(0)} ms, timed ${wallMs.toFixed(0)} ms (CPU ${cpuMs.toFixed(0)} ms), profiled ${(profiledMs / REPS).toFixed(0)} ms/step, loss ${loss.toFixed(4)}, tensors +${leaked}`,
  );
  dispose();
  return {
    wallMs,
    cpuMs,
    profiledWallMs: profiledMs / REPS,
    records,
    firstStep,
    scopeMs: scopeMs / REPS,
    scopeCount: scopeCount / REPS,
    loss,
  };
}

interface TorchOp {
  name: string;
  selfMs: number;
  count: number;
}
interface Torch {
  version: string;
  wallMs: number;
  cpuMs: number;
  profiledWallMs: number;
  loss: number;
  ops: TorchOp[];
}

/** Python lines that build the model and define `step()` (forward + backward, no optimizer). */
function torchModel(t: Targets): string {
  if (MODEL === 'resnet18')
    return `
import torchvision
${TORCH_RESNET18}
m.train()
x = torch.randn(${BATCH}, 3, ${SIZE}, ${SIZE})
y = torch.tensor([(i * 37) % 1000 for i in range(${BATCH})])
loss_fn = torch.nn.CrossEntropyLoss()
def step():
    m.zero_grad(set_to_none=True)
    loss = loss_fn(m(x), y)
    loss.backward()
    return loss.item()
`;
  return `
${TORCH_RETINANET}
model.train()
imgs = [torch.rand(3, cfg['size'], cfg['size']) for _ in range(cfg['batch'])]
tg = [{'boxes': torch.tensor(b, dtype=torch.float32), 'labels': torch.tensor(l, dtype=torch.int64)} for b, l in zip(${JSON.stringify(t.boxes)}, ${JSON.stringify(t.labels)})]
def step():
    model.zero_grad(set_to_none=True)
    loss = sum(model(imgs, tg).values())
    loss.backward()
    return loss.item()
`;
}

function runTorch(): Torch | { error: string } {
  const check = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (check.error) return { error: `${PYTHON}: ${check.error.message}` };
  if (check.status !== 0)
    return { error: (check.stderr || 'import failed').trim().split('\n').pop()! };
  const py = String.raw`
import json, sys, time, torch
from torch.profiler import profile, ProfilerActivity
cfg = json.loads(sys.argv[1])
torch.set_num_threads(1)
torch.manual_seed(0)
${torchModel(retinaTargets(BATCH, SIZE, NUM_CLASSES, BOXES))}
t0 = time.perf_counter(); step(); warm = (time.perf_counter() - t0) * 1000
t0, c0 = time.perf_counter(), time.process_time(); loss = step()
wall, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
reps = cfg['reps']
with profile(activities=[ProfilerActivity.CPU]) as prof:
    t0 = time.perf_counter()
    for _ in range(reps): loss = step()
    profiled = (time.perf_counter() - t0) * 1000 / reps
ops = [{'name': e.key, 'selfMs': e.self_cpu_time_total / 1000 / reps, 'count': e.count / reps} for e in prof.key_averages()]
print(json.dumps({'version': torch.__version__, 'warmMs': warm, 'wallMs': wall, 'cpuMs': cpu, 'profiledWallMs': profiled, 'loss': loss, 'ops': ops}))
`;
  const cfg = { reps: REPS, size: SIZE, batch: BATCH, numClasses: NUM_CLASSES };
  const r = spawnSync(PYTHON, ['-c', py, JSON.stringify(cfg)], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    timeout: 1_800_000,
  });
  if (r.status !== 0)
    return { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').pop()! };
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Torch & { warmMs: number };
  console.error(
    `PyTorch: warm-up ${out.warmMs.toFixed(0)} ms, timed ${out.wallMs.toFixed(0)} ms (CPU ${out.cpuMs.toFixed(0)} ms), profiled ${out.profiledWallMs.toFixed(0)} ms/step, loss ${out.loss.toFixed(4)}`,
  );
  return out;
}

/** The clock of the first core in /proc/cpuinfo, in GHz (null where it is not listed). */
function clockGHz(): number | null {
  try {
    const m = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? Number(m[1]) / 1000 : null;
  } catch {
    return null;
  }
}

const byCategory = <T>(items: T[], cat: (t: T) => Category, ms: (t: T) => number) => {
  const out = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  for (const it of items) out[cat(it)] += ms(it);
  out['conv backward'] += out['conv backward: input'] + out['conv backward: filter'];
  return out;
};
const total = (c: Record<Category, number>): number =>
  c['conv forward'] +
  c['conv backward'] +
  LEAF.filter((k) => !k.startsWith('conv')).reduce((s, k) => s + c[k], 0);
const round = (x: number, d = 2): number => Number(x.toFixed(d));

const ours = await runOurs();
const torch = runTorch();
const torchOk = 'ops' in torch ? torch : null;

const oursCat = byCategory(
  ours.records,
  (r) => oursCategory(r.name),
  (r) => r.ms / REPS,
);
const torchCat = torchOk
  ? byCategory(
      torchOk.ops,
      (o) => torchCategory(o.name),
      (o) => o.selfMs,
    )
  : null;
const oursTotal = total(oursCat);
const torchTotal = torchCat ? total(torchCat) : null;

const title =
  MODEL === 'resnet18'
    ? `ResNet-18 classifier forward+backward, batch ${BATCH}, ${SIZE}x${SIZE}`
    : `RetinaNet R-18 FPN forward+backward (losses, no optimizer), batch ${BATCH}, ${SIZE}x${SIZE}, ${NUM_CLASSES} classes`;
console.log(
  `${title}, 1 thread; 1 warm-up step, 1 timed step, ${REPS} profiled step(s), ms per step`,
);
console.log(
  `ours: tfjs wasm, tf.profile kernel times (${ours.scopeCount} customGrad scope record(s) per step, ${ours.scopeMs.toFixed(1)} ms, left out: they include the kernels inside them)`,
);
console.log(
  torchOk
    ? `PyTorch: torch ${torchOk.version} CPU, torch.profiler key_averages() self CPU time`
    : `PyTorch: unavailable (${(torch as { error: string }).error})`,
);
console.log('');
console.log('| category | ours ms/step | share | PyTorch ms/step | share | ours/PyTorch |');
console.log('|---|---:|---:|---:|---:|---:|');
const pct = (x: number, t: number | null): string => (t ? `${((100 * x) / t).toFixed(1)}%` : '-');
for (const c of CATEGORIES) {
  const sub = c.startsWith('conv backward:');
  const o = oursCat[c];
  const p = torchCat && !sub ? torchCat[c] : null;
  console.log(
    `| ${sub ? '&nbsp;&nbsp;' + c : c} | ${o.toFixed(1)} | ${pct(o, oursTotal)} | ${p === null ? '-' : p.toFixed(1)} | ${p === null ? '-' : pct(p, torchTotal)} | ${p ? (o / p).toFixed(2) + 'x' : '-'} |`,
  );
}
console.log(
  `| **total (profiled kernels/ops)** | ${oursTotal.toFixed(1)} | 100% | ${torchTotal === null ? '-' : torchTotal.toFixed(1)} | ${torchTotal === null ? '-' : '100%'} | ${torchTotal ? (oursTotal / torchTotal).toFixed(2) + 'x' : '-'} |`,
);
console.log(
  `| wall, profiled step | ${ours.profiledWallMs.toFixed(1)} | | ${torchOk ? torchOk.profiledWallMs.toFixed(1) : '-'} | | ${torchOk ? (ours.profiledWallMs / torchOk.profiledWallMs).toFixed(2) + 'x' : '-'} |`,
);
console.log(
  `| wall, step without profiler | ${ours.wallMs.toFixed(1)} | | ${torchOk ? torchOk.wallMs.toFixed(1) : '-'} | | ${torchOk ? (ours.wallMs / torchOk.wallMs).toFixed(2) + 'x' : '-'} |`,
);
console.log(
  `| CPU time, step without profiler | ${ours.cpuMs.toFixed(1)} | | ${torchOk ? torchOk.cpuMs.toFixed(1) : '-'} | | ${torchOk ? (ours.cpuMs / torchOk.cpuMs).toFixed(2) + 'x' : '-'} |`,
);

if (torchOk) {
  console.log('');
  console.log('PyTorch ops by self CPU time (ms/step, calls/step, category), top 20:');
  const ops = [...torchOk.ops].sort((a, b) => b.selfMs - a.selfMs).slice(0, 20);
  for (const o of ops)
    console.log(
      `  ${o.name.padEnd(64)} ${o.selfMs.toFixed(2).padStart(9)} ${String(round(o.count)).padStart(6)}  ${torchCategory(o.name)}`,
    );
}

console.log('');
console.log('ours: 15 most expensive kernel invocations (profiled step 1): ms, inputs -> outputs');
const top = [...ours.firstStep].sort((a, b) => b.ms - a.ms).slice(0, 15);
for (const r of top)
  console.log(
    `  ${r.name.padEnd(28)} ${r.ms.toFixed(1).padStart(8)}  ${JSON.stringify(r.inputShapes)} -> ${JSON.stringify(r.outputShapes)}`,
  );

const ghz = clockGHz();
const ceiling = ghz === null ? null : ghz * 4 * 2;
const convCats: Category[] = [
  'conv forward',
  'conv backward',
  'conv backward: input',
  'conv backward: filter',
];
const flops = Object.fromEntries(convCats.map((c) => [c, 0])) as Record<Category, number>;
for (const r of ours.records) {
  const c = oursCategory(r.name);
  if (c.startsWith('conv')) {
    flops[c] += convFlops(r) / REPS;
    if (c.startsWith('conv backward:')) flops['conv backward'] += convFlops(r) / REPS;
  }
}
console.log('');
console.log(
  ghz === null
    ? 'wasm SIMD128 ceiling: unknown (no "cpu MHz" in /proc/cpuinfo)'
    : `wasm SIMD128 ceiling (assumption): ${ghz.toFixed(3)} GHz ("cpu MHz" of /proc/cpuinfo) x 4 float32 lanes per 128-bit op x 2 SIMD ops/cycle (one mul + one add pipe; baseline SIMD128 has no FMA) = ${ceiling!.toFixed(1)} GFLOP/s`,
);
console.log(
  'FLOPs per conv: 2·N·OH·OW·KH·KW·CI·CO from the recorded shapes; each backprop kernel counts as its forward conv. PyTorch column: the same FLOP count over its conv self time.',
);
console.log(
  '| conv category | GFLOP/step | ours ms/step | ours GFLOP/s | % of ceiling | PyTorch GFLOP/s |',
);
console.log('|---|---:|---:|---:|---:|---:|');
const gflops: Record<string, unknown> = {
  clockGHz: ghz,
  ceilingGflops: ceiling === null ? null : round(ceiling),
  ceilingAssumption: '4 f32 lanes x 2 SIMD ops/cycle (mul + add pipes, no FMA) x clock',
};
for (const c of convCats) {
  const g = flops[c] / 1e9;
  const rate = oursCat[c] > 0 ? g / (oursCat[c] / 1000) : 0;
  const tms = torchCat && !c.startsWith('conv backward:') ? torchCat[c] : null;
  const trate = tms ? g / (tms / 1000) : null;
  gflops[c] = {
    gflopPerStep: round(g, 3),
    oursGflops: round(rate),
    ofCeiling: ceiling ? round(rate / ceiling, 3) : null,
    torchGflops: trate === null ? null : round(trate),
  };
  console.log(
    `| ${c} | ${g.toFixed(2)} | ${oursCat[c].toFixed(1)} | ${rate.toFixed(2)} | ${ceiling ? ((100 * rate) / ceiling).toFixed(1) + '%' : '-'} | ${trate === null ? '-' : trate.toFixed(2)} |`,
  );
}

const above = convCats.filter(
  (c) => ceiling && oursCat[c] > 0 && flops[c] / oursCat[c] / 1e6 > ceiling,
);
if (above.length)
  console.log(
    `note: ${above.join(', ')} ran above the assumed ceiling, so this CPU does more than the assumption (a clock above "cpu MHz", or more than 2 SIMD float ops per cycle)`,
  );

const cats = (c: Record<Category, number>): Record<string, number> =>
  Object.fromEntries(CATEGORIES.map((k) => [k, round(c[k])]));
console.log(
  JSON.stringify({
    bench: 'profile',
    model: MODEL,
    batch: BATCH,
    size: SIZE,
    reps: REPS,
    threads: 1,
    ours: {
      wallMs: round(ours.wallMs, 1),
      cpuMs: round(ours.cpuMs, 1),
      profiledWallMs: round(ours.profiledWallMs, 1),
      kernelMs: round(oursTotal, 1),
      scopeMsExcluded: round(ours.scopeMs, 1),
      categories: cats(oursCat),
    },
    torch: torchOk
      ? {
          version: torchOk.version,
          wallMs: round(torchOk.wallMs, 1),
          cpuMs: round(torchOk.cpuMs, 1),
          profiledWallMs: round(torchOk.profiledWallMs, 1),
          selfMs: round(torchTotal!, 1),
          categories: cats(torchCat!),
        }
      : { error: (torch as { error: string }).error },
    ratios: torchCat
      ? Object.fromEntries(
          CATEGORIES.filter((c) => !c.startsWith('conv backward:') && torchCat[c] > 0).map((c) => [
            c,
            round(oursCat[c] / torchCat[c]),
          ]),
        )
      : null,
    gflops,
  }),
);
