/**
 * Parameter and FLOP counts per module, for tools/get_flops.ts.
 *
 * FLOPs are counted as mmcv's `get_model_complexity_info` reports them:
 * multiply-accumulates of the convolution and linear layers (a conv's
 * `N * Hout * Wout * Cout * kh * kw * Cin / groups`; a transposed conv's
 * `N * Hin * Win * Cin * kh * kw * Cout`; a linear layer's
 * `rows * in * out`), measured by running one forward pass with every
 * module's `forward` wrapped.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, ConvTranspose2d, Linear, type Module } from '../nn/index.js';

/** One module's counts (its own and its descendants'). */
export interface ModuleComplexity {
  /** Dotted path ('' for the model). */
  name: string;
  type: string;
  depth: number;
  params: number;
  /** Multiply-accumulates of the layers inside. */
  flops: number;
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function leafFlops(m: Module, input: unknown, output: unknown): number {
  const outShape = output instanceof tf.Tensor ? output.shape : undefined;
  const inShape = input instanceof tf.Tensor ? input.shape : undefined;
  if (m instanceof Conv2d && outShape) {
    const [kh, kw, cinPerGroup] = m.weight.shape as number[];
    return numel(outShape) * kh * kw * cinPerGroup;
  }
  if (m instanceof ConvTranspose2d && inShape) {
    const w = m.weight.shape as number[];
    const [kh, kw] = w;
    return numel(inShape) * kh * kw * m.options.outChannels;
  }
  if (m instanceof Linear && outShape) return numel(outShape) * m.inFeatures;
  return 0;
}

/**
 * Runs `forward` once with every module's `forward` wrapped, and returns the
 * counts of each module of the tree (depth first).
 *
 * @example
 * ```ts
 * const model = new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1 });
 * const rows = await profileModel(model, () => model.forward(tf.zeros([1, 32, 32, 3])));
 * rows[0]; // => { name: '', type: 'Conv2d', depth: 0, params: 224, flops: 221184 } (a RetinaNet at 800x1216: params 19.9e6, flops 1.2e11)
 * ```
 */
export async function profileModel(
  model: Module,
  forward: () => unknown,
): Promise<ModuleComplexity[]> {
  const modules = model.namedModules();
  const own = new Map<string, number>();
  const restore: (() => void)[] = [];
  for (const [name, m] of modules) {
    const original = m.forward;
    const hadOwn = Object.prototype.hasOwnProperty.call(m, 'forward');
    (m as { forward: (...a: unknown[]) => unknown }).forward = function (
      this: Module,
      ...args: unknown[]
    ) {
      const out = original.apply(this, args);
      const f = leafFlops(m, args[0], out);
      if (f) own.set(name, (own.get(name) ?? 0) + f);
      return out;
    };
    restore.push(() => {
      if (hadOwn) (m as { forward: unknown }).forward = original;
      else delete (m as { forward?: unknown }).forward;
    });
  }
  tf.engine().startScope();
  try {
    await forward();
  } finally {
    tf.engine().endScope();
    for (const r of restore) r();
  }
  return modules.map(([name, m]) => {
    let flops = 0;
    for (const [n, f] of own) if (name === '' || n === name || n.startsWith(`${name}.`)) flops += f;
    return {
      name,
      type: m.constructor.name,
      depth: name === '' ? 0 : name.split('.').length,
      params: m.numParameters(),
      flops,
    };
  });
}

/** `12.35 M`, `1.21 G`. */
export function humanCount(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)} G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(2)} k`;
  return String(v);
}

/** A text table of the rows up to `maxDepth`, with shares of the total. */
export function formatComplexityTable(rows: ModuleComplexity[], maxDepth = 2): string {
  const total = rows[0];
  const shown = rows.filter((r) => r.depth <= maxDepth);
  const cells = shown.map((r) => [
    `${'  '.repeat(r.depth)}${r.name || '(model)'}`,
    r.type,
    humanCount(r.params),
    total.params ? `${((100 * r.params) / total.params).toFixed(1)}%` : '-',
    humanCount(r.flops),
    total.flops ? `${((100 * r.flops) / total.flops).toFixed(1)}%` : '-',
  ]);
  const head = ['module', 'type', 'params', '%', 'FLOPs', '%'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}
