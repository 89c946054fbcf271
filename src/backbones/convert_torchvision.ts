/**
 * Converts a torchvision classification state dict (torch names and layouts)
 * into tfdet's names and layouts, as an ImageClassifier state dict:
 * `backbone.*` for the backbone and `head.*` for the classifier. Load it into
 * a detector's backbone with `init: {type: 'Pretrained', checkpoint, prefix: 'backbone.'}`.
 *
 * Layouts: conv weights OIHW -> HWIO (`[kh, kw, in/groups, out]`; a depthwise
 * `[C, 1, kh, kw]` becomes `[kh, kw, 1, C]`, which is how {@link Conv2d}
 * stores it); linear weights `[out, in]` -> `[in, out]`; VGG's first fc
 * additionally reorders its input from torch's CHW flattening to our HWC.
 * BatchNorm buffers are renamed `running_mean` -> `runningMean`,
 * `running_var` -> `runningVar`, `num_batches_tracked` -> `numBatchesTracked`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readWeights, saveCheckpoint } from '../nn/index.js';

/** Architecture families the converter knows. */
export type TorchvisionFamily =
  'resnet' | 'vgg' | 'mobilenet_v2' | 'mobilenet_v3' | 'densenet' | 'googlenet';

export const TORCHVISION_FAMILIES: readonly TorchvisionFamily[] = [
  'resnet',
  'vgg',
  'mobilenet_v2',
  'mobilenet_v3',
  'densenet',
  'googlenet',
];

/** What {@link convertTorchvisionStateDict} produced. */
export interface ConversionResult {
  family: TorchvisionFamily;
  /** Tensors in tfdet names and layouts (new tensors; the caller disposes them). */
  state: Map<string, tf.Tensor>;
  /** Source keys left out (auxiliary heads), with why. */
  skipped: string[];
}

/**
 * Guesses the family from characteristic keys.
 *
 * @example
 * ```ts
 * detectTorchvisionFamily(['conv1.weight', 'layer1.0.conv1.weight', 'fc.weight']); // => 'resnet'
 * ```
 */
export function detectTorchvisionFamily(keys: Iterable<string>): TorchvisionFamily {
  const ks = [...keys];
  const has = (re: RegExp): boolean => ks.some((k) => re.test(k));
  if (has(/^layer1\.0\.conv1\.weight$/)) return 'resnet';
  if (has(/^features\.denseblock1\./)) return 'densenet';
  if (has(/^inception3a\.branch1\./)) return 'googlenet';
  if (has(/^features\.\d+\.block\.\d+\./)) return 'mobilenet_v3';
  if (has(/^features\.\d+\.conv\.\d+\./)) return 'mobilenet_v2';
  if (has(/^features\.0\.weight$/) && has(/^classifier\.0\.weight$/)) return 'vgg';
  throw new Error(
    `cannot tell which torchvision model these weights are from (first keys: ${ks.slice(0, 5).join(', ')}); pass the family (${TORCHVISION_FAMILIES.join(', ')})`,
  );
}

const BN_RENAMES: Record<string, string> = {
  running_mean: 'runningMean',
  running_var: 'runningVar',
  num_batches_tracked: 'numBatchesTracked',
};

/** A torch name with its BatchNorm buffer leaf renamed (`running_mean` -> `runningMean`, ...). */
export const renameLeaf = (name: string): string => {
  const i = name.lastIndexOf('.');
  const leaf = name.slice(i + 1);
  return BN_RENAMES[leaf] ? `${name.slice(0, i + 1)}${BN_RENAMES[leaf]}` : name;
};

/** Stage and index in stage of MobileNetV2's `features.k` (k = 1..17). */
const MBV2_BLOCKS = [1, 2, 3, 4, 3, 3, 1];
function mbv2Stage(k: number): [number, number] {
  let start = 1;
  for (let s = 0; s < MBV2_BLOCKS.length; s++) {
    if (k < start + MBV2_BLOCKS[s]) return [s + 1, k - start];
    start += MBV2_BLOCKS[s];
  }
  throw new Error(`mobilenet_v2: unexpected features.${k}`);
}

type Target = { name: string; fc6?: boolean } | null;

function mapName(
  family: TorchvisionFamily,
  key: string,
  keys: Set<string>,
  lastFeature: number,
): Target {
  let m: RegExpMatchArray | null;
  switch (family) {
    case 'resnet':
      if (key.startsWith('fc.')) return { name: `head.${key}` };
      return { name: `backbone.${key}` };
    case 'vgg':
      return { name: `backbone.${key}`, fc6: key === 'classifier.0.weight' };
    case 'densenet':
      if (key.startsWith('classifier.'))
        return { name: `head.fc.${key.slice('classifier.'.length)}` };
      return { name: `backbone.${key.replace(/^features\./, '')}` };
    case 'googlenet':
      if (/^aux[12]\./.test(key)) return null;
      if (key.startsWith('fc.')) return { name: `head.${key}` };
      return { name: `backbone.${key}` };
    case 'mobilenet_v2': {
      if ((m = key.match(/^classifier\.1\.(.+)$/))) return { name: `head.fc.${m[1]}` };
      if (
        (m = key.match(/^features\.(\d+)\.([01])\.(.+)$/)) &&
        (m[1] === '0' || Number(m[1]) === lastFeature)
      ) {
        const ours = m[1] === '0' ? 'conv1' : 'conv2';
        return { name: `backbone.${ours}.${m[2] === '0' ? 'conv' : 'bn'}.${m[3]}` };
      }
      if ((m = key.match(/^features\.(\d+)\.conv\.(\d+)\.(\d+)\.(.+)$/))) {
        const [s, j] = mbv2Stage(Number(m[1]));
        return {
          name: `backbone.layer${s}.${j}.conv.${m[2]}.${m[3] === '0' ? 'conv' : 'bn'}.${m[4]}`,
        };
      }
      if ((m = key.match(/^features\.(\d+)\.conv\.(\d+)\.(.+)$/))) {
        // The projection: a bare conv at `conv.n` and its BN at `conv.n+1`.
        const [s, j] = mbv2Stage(Number(m[1]));
        const n = Number(m[2]);
        const isBn = keys.has(`features.${m[1]}.conv.${n}.running_mean`);
        return {
          name: `backbone.layer${s}.${j}.conv.${isBn ? n - 1 : n}.${isBn ? 'bn' : 'conv'}.${m[3]}`,
        };
      }
      break;
    }
    case 'mobilenet_v3': {
      if ((m = key.match(/^classifier\.(\d+)\.(.+)$/)))
        return { name: `head.layers.${m[1] === '0' ? 0 : 1}.fc.${m[2]}` };
      if ((m = key.match(/^features\.(\d+)\.([01])\.(.+)$/)))
        return { name: `backbone.layer${m[1]}.${m[2] === '0' ? 'conv' : 'bn'}.${m[3]}` };
      if ((m = key.match(/^features\.(\d+)\.block\.(\d+)\.(.+)$/))) {
        const f = m[1];
        const roles = mbv3Roles(f, keys);
        const role = roles[Number(m[2])];
        if (!role) break;
        const rest = m[3];
        if (role === 'se')
          return {
            name: `backbone.layer${f}.se.${rest.replace(/^fc1\./, 'conv1.conv.').replace(/^fc2\./, 'conv2.conv.')}`,
          };
        const r = rest.match(/^([01])\.(.+)$/);
        if (!r) break;
        return { name: `backbone.layer${f}.${role}.${r[1] === '0' ? 'conv' : 'bn'}.${r[2]}` };
      }
      break;
    }
  }
  throw new Error(`${family}: no tfdet name for torchvision key '${key}'`);
}

/** The roles of the entries of `features.f.block`: [expandConv], depthwiseConv, [se], linearConv. */
function mbv3Roles(f: string, keys: Set<string>): string[] {
  const entries: string[] = [];
  for (let i = 0; ; i++) {
    if (keys.has(`features.${f}.block.${i}.fc1.weight`)) entries.push('se');
    else if (keys.has(`features.${f}.block.${i}.0.weight`)) entries.push('conv');
    else break;
  }
  const convs = entries.filter((e) => e === 'conv').length;
  const names =
    convs === 3 ? ['expandConv', 'depthwiseConv', 'linearConv'] : ['depthwiseConv', 'linearConv'];
  let c = 0;
  return entries.map((e) => (e === 'se' ? 'se' : names[c++]));
}

/**
 * OIHW -> HWIO, `[out, in]` -> `[in, out]` and fc6's CHW -> HWC row order,
 * as plain typed-array loops: cheaper than tfjs transposes on the cpu
 * backend (minutes for VGG's 100M-element fc6) and backend-independent.
 */
export function convertTensor(t: tf.Tensor, fc6: boolean): tf.Tensor {
  if (t.rank !== 4 && t.rank !== 2)
    return t.dtype === 'float32' || t.dtype === 'int32' ? tf.clone(t) : tf.cast(t, 'float32');
  const src = t.dataSync() as Float32Array;
  const dst = new Float32Array(src.length);
  if (t.rank === 4) {
    const [o, i, kh, kw] = t.shape as [number, number, number, number];
    for (let a = 0; a < o; a++)
      for (let b = 0; b < i; b++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++)
            dst[((y * kw + x) * i + b) * o + a] = src[((a * i + b) * kh + y) * kw + x]!;
    return tf.tensor4d(dst, [kh, kw, i, o]);
  }
  const [o, inF] = t.shape as [number, number];
  // Source column b of row a lands at dst[b' * o + a]; b' = b, or fc6's HWC position of CHW index b.
  const c = inF / 49;
  const dstRow = fc6
    ? (b: number): number => (b % 49) * c + Math.floor(b / 49)
    : (b: number): number => b;
  const rows = Int32Array.from({ length: inF }, (_, b) => dstRow(b) * o);
  const T = 64; // tiles keep both sides of the transpose in cache
  for (let a0 = 0; a0 < o; a0 += T) {
    const a1 = Math.min(a0 + T, o);
    for (let b0 = 0; b0 < inF; b0 += T) {
      const b1 = Math.min(b0 + T, inF);
      for (let a = a0; a < a1; a++) {
        const row = a * inF;
        for (let b = b0; b < b1; b++) dst[rows[b] + a] = src[row + b]!;
      }
    }
  }
  return tf.tensor2d(dst, [inF, o]);
}

/**
 * Maps a torchvision state dict onto tfdet's ImageClassifier names and layouts.
 * With `disposeSource`, each source tensor is freed once converted.
 *
 * @example
 * ```ts
 * // two tensors of torchvision's resnet50 (usually: readWeights('resnet50.pth').tensors)
 * const tensors = new Map([
 *   ['layer1.0.conv1.weight', tf.zeros([64, 64, 1, 1])],
 *   ['fc.weight', tf.zeros([1000, 2048])],
 * ]);
 * const { state } = convertTorchvisionStateDict(tensors);
 * state.get('backbone.layer1.0.conv1.weight')!.shape; // => [1, 1, 64, 64] (was [64, 64, 1, 1])
 * state.get('head.fc.weight')!.shape;                 // => [2048, 1000]
 * ```
 */
export function convertTorchvisionStateDict(
  sd: Map<string, tf.Tensor>,
  family?: TorchvisionFamily,
  options: { disposeSource?: boolean } = {},
): ConversionResult {
  const fam = family ?? detectTorchvisionFamily(sd.keys());
  const keys = new Set(sd.keys());
  const lastFeature = Math.max(
    -1,
    ...[...keys].map((k) => Number(k.match(/^features\.(\d+)\./)?.[1] ?? -1)),
  );
  const state = new Map<string, tf.Tensor>();
  const skipped: string[] = [];
  for (const [key, t] of sd) {
    const target = mapName(fam, key, keys, lastFeature);
    if (!target) {
      skipped.push(`${key} (auxiliary head)`);
      continue;
    }
    state.set(renameLeaf(target.name), convertTensor(t, target.fc6 ?? false));
    // Disposing as we go keeps the peak at about one copy of the weights (VGG-16: 550 MB).
    if (options.disposeSource) t.dispose();
  }
  return { family: fam, state, skipped };
}

/**
 * Reads a torchvision state dict (a `.pth` written by `torch.save`, or a
 * safetensors file), converts it and
 * writes a tfdet checkpoint (safetensors + JSON sidecar) to `output`.
 * Returns the conversion summary.
 */
export function convertTorchvisionFile(
  input: string,
  output: string,
  family?: TorchvisionFamily,
): { family: TorchvisionFamily; tensors: number; skipped: string[] } {
  const { tensors } = readWeights(input);
  try {
    const r = convertTorchvisionStateDict(tensors, family, { disposeSource: true });
    try {
      saveCheckpoint(output, {
        state: r.state,
        meta: { source: 'torchvision', family: r.family, convertedFrom: input },
      });
    } finally {
      for (const t of r.state.values()) t.dispose();
    }
    return { family: r.family, tensors: r.state.size, skipped: r.skipped };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
