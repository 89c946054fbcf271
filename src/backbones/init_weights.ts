/**
 * Weight initialisation from `init` configs, as mmengine's `init_cfg`:
 * `Kaiming`, `Xavier`, `Normal`, `Uniform` and `Constant` re-draw the weights
 * of the layers named in `layer` (class names: `Conv2d`, `Linear`,
 * `BatchNorm2d`, `GroupNorm`, ...); `Pretrained` loads a checkpoint (for
 * example one written by `tools/convert_torchvision.ts`) and reports the keys
 * it could not match.
 */
import * as tf from '@tensorflow/tfjs-core';
import { WEIGHT_INITIALIZERS } from '../registry.js';
import {
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  formatLoadReport,
  GroupNorm,
  Linear,
  Module,
  type LoadReport,
} from '../nn/index.js';
import { biasInitWithProb, init as nnInit, loadWeightsFile } from '../nn/index.js';
import { convertTorchvisionStateDict } from './convert_torchvision.js';

/** One initialiser config; keys are camelCase mirrors of mmengine's. */
export interface InitCfg {
  type: 'Kaiming' | 'Xavier' | 'Normal' | 'Uniform' | 'Constant' | 'Pretrained' | string;
  /** Layer class names to apply to (`'Conv2d'`, `['Conv2d', 'Linear']`, `'BatchNorm2d'`, `'_BatchNorm'`, `'GroupNorm'`). */
  layer?: string | string[];
  /** Value the bias is set to (default 0). */
  bias?: number;
  /** Sets the bias to `-log((1 - p) / p)` instead of `bias`. */
  biasProb?: number;
  /** Child modules (dotted names) that get their own initialiser instead. */
  override?: (Partial<InitCfg> & { name: string }) | (Partial<InitCfg> & { name: string })[];
  [key: string]: unknown;
}

type LayerKind = new (...args: any[]) => Module;

const LAYER_CLASSES: Record<string, LayerKind[]> = {
  Conv2d: [Conv2d],
  Conv: [Conv2d],
  ConvTranspose2d: [ConvTranspose2d],
  Linear: [Linear],
  BatchNorm2d: [BatchNorm2d],
  _BatchNorm: [BatchNorm2d],
  BN: [BatchNorm2d],
  GroupNorm: [GroupNorm],
  GN: [GroupNorm],
  _ConvNd: [Conv2d, ConvTranspose2d],
};

const ALL_WEIGHTED: LayerKind[] = [Conv2d, ConvTranspose2d, Linear, BatchNorm2d, GroupNorm];

function layerFilter(layer: string | string[] | undefined): LayerKind[] {
  if (layer === undefined) return ALL_WEIGHTED;
  const names = Array.isArray(layer) ? layer : [layer];
  return names.flatMap((n) => {
    const kinds = LAYER_CLASSES[n];
    if (!kinds)
      throw new Error(
        `init.layer: unknown layer type '${n}' (known: ${Object.keys(LAYER_CLASSES).join(', ')})`,
      );
    return kinds;
  });
}

/** The shape torch would compute fans from, in our layouts (ConvTranspose2d keeps `[kh, kw, out, in]`). */
function drawWeight(cfg: InitCfg, shape: number[]): tf.Tensor {
  switch (cfg.type) {
    case 'Kaiming': {
      const mode = String(cfg.mode ?? 'fan_out');
      return nnInit.kaiming(shape, {
        a: (cfg.a as number | undefined) ?? 0,
        mode: mode === 'fan_in' || mode === 'fanIn' ? 'fanIn' : 'fanOut',
        nonlinearity: (cfg.nonlinearity as string | undefined) ?? 'relu',
        distribution: (cfg.distribution as 'normal' | 'uniform' | undefined) ?? 'normal',
      });
    }
    case 'Xavier':
      return nnInit.xavier(shape, {
        gain: (cfg.gain as number | undefined) ?? 1,
        distribution: (cfg.distribution as 'normal' | 'uniform' | undefined) ?? 'normal',
      });
    case 'Normal':
      return nnInit.normal(
        shape,
        (cfg.mean as number | undefined) ?? 0,
        (cfg.std as number | undefined) ?? 1,
      );
    case 'Uniform':
      return nnInit.uniform(
        shape,
        (cfg.a as number | undefined) ?? 0,
        (cfg.b as number | undefined) ?? 1,
      );
    case 'Constant':
      if (typeof cfg.val !== 'number')
        throw new Error(`init Constant needs a numeric 'val', got ${JSON.stringify(cfg.val)}`);
      return nnInit.constant(shape, cfg.val);
    default:
      throw new Error(
        `init.type: expected one of Kaiming | Xavier | Normal | Uniform | Constant | Pretrained, got '${cfg.type}'`,
      );
  }
}

function initLayer(m: Module, cfg: InitCfg): void {
  const layer = m as Module & { weight?: tf.Variable; bias?: tf.Variable };
  if (layer.weight) {
    const w = drawWeight(cfg, layer.weight.shape);
    layer.weight.assign(w);
    w.dispose();
  }
  if (layer.bias) {
    const b = cfg.biasProb !== undefined ? biasInitWithProb(cfg.biasProb) : (cfg.bias ?? 0);
    const t = tf.fill(layer.bias.shape, b);
    layer.bias.assign(t);
    t.dispose();
  }
}

/**
 * Loads `cfg.checkpoint` (tfdet safetensors, or a torchvision `.pth`) into
 * `module`, non-strictly, keeping only keys under `cfg.prefix` (stripped, as
 * mmengine's `prefix`). Logs and returns the load report.
 */
export function loadPretrained(
  module: Module,
  cfg: { checkpoint: string; prefix?: string; log?: boolean },
): LoadReport {
  // a torchvision .pth is converted on loading, as tools/convert_checkpoint.ts would
  const { state, optimizerState } = loadWeightsFile(
    cfg.checkpoint,
    (sd) => convertTorchvisionStateDict(sd, undefined, { disposeSource: true }).state,
  );
  for (const t of optimizerState.values()) t.dispose();
  try {
    const prefix = cfg.prefix ? cfg.prefix.replace(/\.$/, '') : undefined;
    const report = module.loadStateDict(state, { strict: false, prefix });
    if (cfg.log ?? true) {
      const where = prefix ? ` (prefix '${prefix}.')` : '';
      console.log(
        `[tfdet] loaded ${cfg.checkpoint}${where} into ${module.constructor.name}: ${formatLoadReport(report)}`,
      );
    }
    return report;
  } finally {
    for (const t of state.values()) t.dispose();
  }
}

/**
 * Applies one or several initialiser configs to `module` in order and
 * returns the load report of the last `Pretrained` one (if any).
 *
 * @example
 * ```ts
 * initWeights(resnet, [
 *   { type: 'Kaiming', layer: 'Conv2d' },
 *   { type: 'Constant', val: 1, layer: ['_BatchNorm', 'GroupNorm'] },
 * ]);
 * initWeights(resnet, { type: 'Pretrained', checkpoint: 'resnet50.safetensors', prefix: 'backbone.' });
 * // logs "[tfdet] loaded resnet50.safetensors (prefix 'backbone.') into ResNet: all keys matched"
 * ```
 */
export function initWeights(
  module: Module,
  cfg: InitCfg | InitCfg[] | undefined | null,
): LoadReport | undefined {
  if (!cfg) return undefined;
  let report: LoadReport | undefined;
  for (const c of Array.isArray(cfg) ? cfg : [cfg]) {
    if (c.type === 'Pretrained') {
      if (typeof c.checkpoint !== 'string')
        throw new Error(
          `init Pretrained needs 'checkpoint' (a file path), got ${JSON.stringify(c.checkpoint)}`,
        );
      report = loadPretrained(module, {
        checkpoint: c.checkpoint,
        prefix: c.prefix as string | undefined,
      });
      continue;
    }
    const overrides =
      c.override === undefined ? [] : Array.isArray(c.override) ? c.override : [c.override];
    const overridden = new Set(overrides.map((o) => o.name));
    const kinds = layerFilter(c.layer);
    for (const [name, m] of module.namedModules()) {
      if ([...overridden].some((o) => name === o || name.startsWith(`${o}.`))) continue;
      if (kinds.some((k) => m instanceof k)) initLayer(m, c);
    }
    const byName = new Map(module.namedModules());
    for (const o of overrides) {
      const target = byName.get(o.name);
      if (!target)
        throw new Error(`init.override: no child named '${o.name}' in ${module.constructor.name}`);
      const oc = { ...c, ...o, override: undefined, layer: undefined } as InitCfg;
      for (const [, m] of target.namedModules())
        if (ALL_WEIGHTED.some((k) => m instanceof k)) initLayer(m, oc);
    }
  }
  return report;
}

/** `{type: 'Kaiming', ...}` etc. as WEIGHT_INITIALIZERS entries: building one gives a function that initialises a module. */
for (const type of ['Kaiming', 'Xavier', 'Normal', 'Uniform', 'Constant', 'Pretrained']) {
  const factory = (args: Record<string, unknown>) => (module: Module) =>
    initWeights(module, { ...args, type });
  Object.defineProperty(factory, 'name', { value: `${type}Init` });
  WEIGHT_INITIALIZERS.register(factory, { name: type });
}
