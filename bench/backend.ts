/**
 * One training step (forward + backward, no optimizer update) of a ResNet-18
 * classifier at batch 8, 224x224, on our wasm and cpu backends and on PyTorch
 * CPU (Debian's python3-torch) with the same thread count, in the same run.
 * Prints a table and one JSON line with the ratios (ours / PyTorch).
 *
 *   npx tsx bench/backend.ts [--batch 8] [--size 224] [--reps 3] [--cpu-reps 1] [--cpu-limit 900] [--skip-cpu]
 *
 * The plain-JS cpu backend takes many minutes per step at batch 8, so it runs
 * in a child process stopped after `--cpu-limit` seconds; its row then says
 * "over the limit" and the table and JSON line still come out.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setBackend, setInitSeed } from '../src/index.js';
import { classifierStep, TORCH_RESNET18 } from './models.js';

const { values: args } = parseArgs({
  options: {
    batch: { type: 'string', default: '8' },
    size: { type: 'string', default: '224' },
    reps: { type: 'string', default: '3' },
    'cpu-reps': { type: 'string', default: '1' },
    'skip-cpu': { type: 'boolean', default: false },
    // The cpu backend takes minutes per step at batch 8; its warm-up step can be skipped.
    'cpu-warmup': { type: 'string', default: '0' },
    'cpu-limit': { type: 'string', default: '900' },
    // Internal: run only the cpu measurement and print it as JSON (the parent enforces the time limit).
    'child-cpu': { type: 'boolean', default: false },
  },
});
const batch = Number(args.batch);
const size = Number(args.size);
const reps = Number(args.reps);
const cpuReps = Number(args['cpu-reps']);
// tfjs' wasm backend runs single-threaded in Node; PyTorch gets the same.
const threads = 1;

async function timeOurs(
  backend: 'wasm' | 'cpu',
  n: number,
  warmup = 1,
): Promise<{ ms: number[]; loss: number }> {
  await setBackend(backend);
  setInitSeed(0);
  const { step, dispose } = classifierStep(batch, size);
  let loss = NaN;
  for (let i = 0; i < warmup; i++) loss = step(); // kernel setup, XNNPACK operator creation
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    loss = step();
    ms.push(performance.now() - t0);
  }
  dispose();
  return { ms, loss };
}

function timeTorch(n: number): { ms: number[]; version: string } | { error: string } {
  const py = `
import json, time, torch, torchvision
torch.set_num_threads(${threads})
torch.manual_seed(0)
${TORCH_RESNET18}
m.train()
x = torch.randn(${batch}, 3, ${size}, ${size})
y = torch.tensor([(i * 37) % 1000 for i in range(${batch})])
loss_fn = torch.nn.CrossEntropyLoss()
def step():
    m.zero_grad(set_to_none=True)
    loss = loss_fn(m(x), y)
    loss.backward()
step()
ms = []
for _ in range(${n}):
    t0 = time.perf_counter(); step(); ms.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"ms": ms, "version": torch.__version__}))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0)
    return { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').pop()! };
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The cpu measurement in a child process, stopped after `limitS` seconds. */
function timeCpuLimited(limitS: number): { ms: number[] } | { error: string } {
  const argv = [
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    '--child-cpu',
    '--batch',
    String(batch),
    '--size',
    String(size),
  ];
  argv.push('--cpu-reps', String(cpuReps), '--cpu-warmup', args['cpu-warmup']);
  const r = spawnSync(process.execPath, argv, {
    encoding: 'utf8',
    timeout: limitS * 1000,
    killSignal: 'SIGKILL',
    maxBuffer: 1 << 20,
  });
  if (
    r.signal === 'SIGKILL' ||
    // spawnSync types its error as Error; it is an errno error with a code.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT'
  )
    return { error: `over the ${limitS} s limit` };
  if (r.status !== 0)
    return { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').pop()! };
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number[] };
}

if (args['child-cpu']) {
  const r = await timeOurs('cpu', cpuReps, Number(args['cpu-warmup']));
  console.log(JSON.stringify({ ms: r.ms }));
  process.exit(0);
}

const progress = (name: string, ms: number[]): void =>
  console.error(`${name}: ${ms.map((m) => m.toFixed(0)).join(', ')} ms`);
const wasm = await timeOurs('wasm', reps);
progress('wasm', wasm.ms);
const torch = timeTorch(reps);
if ('ms' in torch) progress('PyTorch', torch.ms);
const cpuLimit = Number(args['cpu-limit']);
const cpuRun = args['skip-cpu'] ? { error: 'skipped' } : timeCpuLimited(cpuLimit);
const cpu = 'ms' in cpuRun ? cpuRun : null;
if (cpu) progress('cpu', cpu.ms);
const torchMs = 'ms' in torch ? median(torch.ms) : null;

const rows: [string, number | null, string][] = [
  ['tfdet wasm', median(wasm.ms), `${wasm.ms.length} reps`],
  [
    'tfdet cpu',
    cpu ? median(cpu.ms) : null,
    cpu ? `${cpu.ms.length} reps` : (cpuRun as { error: string }).error,
  ],
  [
    'PyTorch CPU',
    torchMs,
    'ms' in torch ? `torch ${torch.version}, ${threads} thread` : `unavailable: ${torch.error}`,
  ],
];
console.log(`ResNet-18 forward+backward, batch ${batch}, ${size}x${size}, ${threads} thread(s)`);
console.log('| runtime | median ms/step | images/s | vs PyTorch | note |');
console.log('|---|---:|---:|---:|---|');
for (const [name, ms, note] of rows) {
  const ratio = ms !== null && torchMs !== null ? (ms / torchMs).toFixed(2) + 'x' : '-';
  console.log(
    `| ${name} | ${ms === null ? '-' : ms.toFixed(0)} | ${ms === null ? '-' : ((batch * 1000) / ms).toFixed(1)} | ${ratio} | ${note} |`,
  );
}
console.log(
  JSON.stringify({
    bench: 'backend',
    model: 'resnet18',
    batch,
    size,
    threads,
    wasm_ms: median(wasm.ms),
    cpu_ms: cpu ? median(cpu.ms) : null,
    torch_ms: torchMs,
    wasm_vs_torch: torchMs ? median(wasm.ms) / torchMs : null,
    cpu_vs_torch: torchMs && cpu ? median(cpu.ms) / torchMs : null,
    cpu_note: cpu ? null : (cpuRun as { error: string }).error,
  }),
);
