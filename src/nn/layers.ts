/**
 * Layers with PyTorch's semantics on NHWC tensors. Weight layouts are tfjs':
 * conv filters HWIO `[kh, kw, in/groups, out]`, transposed-conv filters
 * `[kh, kw, out, in]`, linear weights `[in, out]`; the torchvision converter
 * maps OIHW and `[out, in]` onto them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MODELS } from '../registry.js';
import { constant, torchDefaultBias, torchDefaultWeight } from './init.js';
import { Module } from './module.js';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** Symmetric (torch-style) padding as tfjs' explicit padding. */
const explicitPad = (p: [number, number]): [[0, 0], [number, number], [number, number], [0, 0]] => [
  [0, 0],
  [p[0], p[0]],
  [p[1], p[1]],
  [0, 0],
];

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: Pair;
  stride?: Pair;
  /** Symmetric zero padding per side (torch's `padding`), or 'same' / 'valid'. */
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/**
 * 2-D convolution (torch.nn.Conv2d) on NHWC input. `groups` = 1 is a plain
 * convolution, `groups = inChannels` a depthwise one (filter reshaped to
 * tfjs' `[kh, kw, in, multiplier]`), other values run one convolution per group.
 *
 * @example
 * ```ts
 * const conv = new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1 });
 * conv.forward(tf.zeros([1, 32, 32, 3])).shape; // [1, 32, 32, 8]
 * conv.weight.shape; // [3, 3, 3, 8]
 * ```
 */
export class Conv2d extends Module {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  readonly options: Required<Conv2dOptions>;

  constructor(opts: Conv2dOptions) {
    super();
    this.options = { stride: 1, padding: 0, dilation: 1, groups: 1, bias: true, ...opts };
    const { inChannels, outChannels, groups } = this.options;
    if (inChannels % groups || outChannels % groups) {
      throw new Error(
        `Conv2d: inChannels ${inChannels} and outChannels ${outChannels} must be divisible by groups ${groups}`,
      );
    }
    const [kh, kw] = pair(this.options.kernelSize);
    const shape = [kh, kw, inChannels / groups, outChannels];
    this.weight = this.addParameter('weight', torchDefaultWeight(shape));
    if (this.options.bias)
      this.bias = this.addParameter('bias', torchDefaultBias(shape, outChannels));
  }

  private get padArg(): 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]] {
    const p = this.options.padding;
    return p === 'same' || p === 'valid' ? p : explicitPad(pair(p));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const { groups, inChannels } = this.options;
    const stride = pair(this.options.stride);
    const dilation = pair(this.options.dilation);
    let y: tf.Tensor4D;
    if (groups === 1) {
      y = tf.conv2d(x, this.weight as tf.Tensor4D, stride, this.padArg, 'NHWC', dilation);
    } else if (groups === inChannels) {
      const [kh, kw, , out] = this.weight.shape;
      const f = tf.reshape(this.weight, [kh!, kw!, inChannels, out! / inChannels]) as tf.Tensor4D;
      y = tf.depthwiseConv2d(x, f, stride, this.padArg, 'NHWC', dilation);
    } else {
      const xs = tf.split(x, groups, 3);
      const ws = tf.split(this.weight, groups, 3);
      y = tf.concat(
        xs.map((xi, i) =>
          tf.conv2d(xi as tf.Tensor4D, ws[i] as tf.Tensor4D, stride, this.padArg, 'NHWC', dilation),
        ),
        3,
      ) as tf.Tensor4D;
    }
    return this.bias ? tf.add(y, this.bias) : y;
  }
}

export interface ConvTranspose2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: Pair;
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  bias?: boolean;
}

/**
 * Transposed convolution (torch.nn.ConvTranspose2d, groups 1, dilation 1);
 * output size `(H - 1) * stride - 2 * padding + kernel + outputPadding`.
 * Weight `[kh, kw, out, in]`.
 */
export class ConvTranspose2d extends Module {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  readonly options: Required<ConvTranspose2dOptions>;

  constructor(opts: ConvTranspose2dOptions) {
    super();
    this.options = { stride: 1, padding: 0, outputPadding: 0, bias: true, ...opts };
    const [kh, kw] = pair(this.options.kernelSize);
    const { inChannels, outChannels } = this.options;
    // torch computes fans from its [in, out, kh, kw] weight: fanIn = out * kh * kw.
    const torchLike = [kh, kw, outChannels, inChannels];
    this.weight = this.addParameter('weight', torchDefaultWeight(torchLike));
    if (this.options.bias)
      this.bias = this.addParameter('bias', torchDefaultBias(torchLike, outChannels));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [kh, kw] = pair(this.options.kernelSize);
    const [sh, sw] = pair(this.options.stride);
    const [ph, pw] = pair(this.options.padding);
    const [oph, opw] = pair(this.options.outputPadding);
    const [n, h, w] = x.shape;
    const oh = (h - 1) * sh + kh + oph;
    const ow = (w - 1) * sw + kw + opw;
    // Full transposed conv, then crop the torch padding (tfjs pads symmetrically only through 'same').
    let y = tf.conv2dTranspose(
      x,
      this.weight as tf.Tensor4D,
      [n, oh, ow, this.options.outChannels],
      [sh, sw],
      'valid',
    );
    if (ph || pw)
      y = tf.slice(y, [0, ph, pw, 0], [n, oh - 2 * ph, ow - 2 * pw, this.options.outChannels]);
    return this.bias ? tf.add(y, this.bias) : y;
  }
}

/**
 * Batch normalisation (torch.nn.BatchNorm2d) over the channel axis of NHWC.
 * In training it normalises with the batch statistics and updates
 * `runningMean`/`runningVar` (unbiased variance) with `momentum`; in eval, or
 * when `trackRunningStats` is on and the layer is frozen with `normEval`, it
 * uses the running ones.
 */
export class BatchNorm2d extends Module {
  readonly weight?: tf.Variable;
  readonly bias?: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly numBatchesTracked: tf.Variable;

  constructor(
    readonly numFeatures: number,
    readonly options: { eps?: number; momentum?: number; affine?: boolean } = {},
  ) {
    super();
    if (options.affine ?? true) {
      this.weight = this.addParameter('weight', constant([numFeatures], 1));
      this.bias = this.addParameter('bias', constant([numFeatures], 0));
    }
    this.runningMean = this.addBuffer('runningMean', tf.zeros([numFeatures]));
    this.runningVar = this.addBuffer('runningVar', tf.ones([numFeatures]));
    this.numBatchesTracked = this.addBuffer('numBatchesTracked', tf.scalar(0, 'int32'));
  }

  get eps(): number {
    return this.options.eps ?? 1e-5;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (!this.training) {
      // A per-channel affine map; as mul/add its gradient is two broadcasts
      // (tfjs' batchNorm gradient tiles the statistics to the input's size).
      const scale = tf.mul(tf.rsqrt(tf.add(this.runningVar, this.eps)), this.weight ?? 1);
      const shift = tf.sub(this.bias ?? 0, tf.mul(this.runningMean, scale));
      return tf.add(tf.mul(x, scale), shift) as tf.Tensor4D;
    }
    const n = x.size / this.numFeatures;
    if (n <= 1)
      throw new Error(
        `BatchNorm2d: expected more than 1 value per channel in training, got input shape [${x.shape}]`,
      );
    const m = this.options.momentum ?? 0.1;
    const gamma = this.weight ?? tf.ones([this.numFeatures]);
    const beta = this.bias ?? tf.zeros([this.numFeatures]);
    return batchNormTrain(x, gamma, beta, this.eps, (mean, variance) => {
      // Running statistics use the unbiased variance, as torch.
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      this.runningVar.assign(
        tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(variance, (m * n) / (n - 1))),
      );
      this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, tf.scalar(1, 'int32')));
    });
  }
}

/**
 * Training-mode batch norm over the channels of NHWC with a hand-written
 * gradient: `dβ = Σdy`, `dγ = Σdy·x̂`, `dx = γ/σ · (dy − dβ/N − x̂·dγ/N)`.
 * tfjs' generic gradient of `batchNorm(x, moments(x))` tiles the statistics
 * back to the input's size, which costs more than the convolutions around it.
 * `onStats(mean, biasedVariance)` sees the batch statistics (for running averages).
 */
export function batchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D | tf.Tensor,
  beta: tf.Tensor1D | tf.Tensor,
  eps: number,
  onStats?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
): tf.Tensor4D {
  const count = x.size / x.shape[3];
  const f = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const { mean, variance } = tf.moments(xi, [0, 1, 2]);
    onStats?.(mean as tf.Tensor1D, variance as tf.Tensor1D);
    const invStd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(tf.sub(xi, mean), invStd);
    save([xhat, invStd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, inv, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dBeta = tf.sum(dy, [0, 1, 2]);
        const dGamma = tf.sum(tf.mul(dy, xh), [0, 1, 2]);
        const centred = tf.sub(tf.sub(dy, tf.div(dBeta, count)), tf.mul(xh, tf.div(dGamma, count)));
        return [tf.mul(centred, tf.mul(gm, inv)), dGamma, dBeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, gamma, beta) as tf.Tensor4D;
}

/** Group normalisation (torch.nn.GroupNorm) over NHWC. */
export class GroupNorm extends Module {
  readonly weight?: tf.Variable;
  readonly bias?: tf.Variable;
  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    readonly options: { eps?: number; affine?: boolean } = {},
  ) {
    super();
    if (numChannels % numGroups)
      throw new Error(`GroupNorm: ${numChannels} channels not divisible by ${numGroups} groups`);
    if (options.affine ?? true) {
      this.weight = this.addParameter('weight', constant([numChannels], 1));
      this.bias = this.addParameter('bias', constant([numChannels], 0));
    }
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    const g = tf.reshape(x, [n, h, w, this.numGroups, c / this.numGroups]);
    const { mean, variance } = tf.moments(g, [1, 2, 4], true);
    const y = tf.reshape(
      tf.div(tf.sub(g, mean), tf.sqrt(tf.add(variance, this.options.eps ?? 1e-5))),
      [n, h, w, c],
    );
    if (!this.weight) return y as tf.Tensor4D;
    return tf.add(tf.mul(y, this.weight), this.bias!) as tf.Tensor4D;
  }
}

/** y = x W + b (torch.nn.Linear) with W `[in, out]`, on the last axis. */
export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    bias = true,
  ) {
    super();
    const shape = [inFeatures, outFeatures];
    this.weight = this.addParameter('weight', torchDefaultWeight(shape));
    if (bias) this.bias = this.addParameter('bias', torchDefaultBias(shape, outFeatures));
  }
  forward(x: tf.Tensor): tf.Tensor {
    const lead = x.shape.slice(0, -1);
    const y = tf.matMul(tf.reshape(x, [-1, this.inFeatures]), this.weight);
    const out = this.bias ? tf.add(y, this.bias) : y;
    return lead.length === 1 ? out : tf.reshape(out, [...lead, this.outFeatures]);
  }
}

/** An activation: a parameter-free elementwise function. */
export class Activation extends Module {
  constructor(
    readonly kind:
      'ReLU' | 'ReLU6' | 'SiLU' | 'HSwish' | 'HSigmoid' | 'Sigmoid' | 'Tanh' | 'LeakyReLU' | 'GELU',
    readonly negativeSlope = 0.01,
  ) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return activate(this.kind, x, this.negativeSlope);
  }
}

/**
 * The activations by name. HSwish is `x * relu6(x + 3) / 6` and HSigmoid
 * `relu6(x + 3) / 6` (MobileNetV3 paper, torchvision's Hardswish/Hardsigmoid).
 */
export function activate(kind: Activation['kind'], x: tf.Tensor, negativeSlope = 0.01): tf.Tensor {
  switch (kind) {
    case 'ReLU':
      return tf.relu(x);
    case 'ReLU6':
      return tf.relu6(x);
    case 'SiLU':
      return tf.mul(x, tf.sigmoid(x));
    case 'HSwish':
      return tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6));
    case 'HSigmoid':
      return tf.div(tf.relu6(tf.add(x, 3)), 6);
    case 'Sigmoid':
      return tf.sigmoid(x);
    case 'Tanh':
      return tf.tanh(x);
    case 'LeakyReLU':
      return tf.leakyRelu(x, negativeSlope);
    case 'GELU':
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
  }
}

/** Passes its input through. */
export class Identity extends Module {
  forward<T>(x: T): T {
    return x;
  }
}

/** Inverted dropout (torch.nn.Dropout); identity in eval mode. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.training && this.p > 0 ? tf.dropout(x, this.p) : x;
  }
}

/**
 * Max pooling (torch.nn.MaxPool2d). Padding counts as -inf; `ceilMode`
 * rounds the output size up, dropping a last window that would start in the
 * right padding, as torch does.
 */
export class MaxPool2d extends Module {
  constructor(
    readonly options: { kernelSize: Pair; stride?: Pair; padding?: Pair; ceilMode?: boolean },
  ) {
    super();
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const k = pair(this.options.kernelSize);
    const s = pair(this.options.stride ?? this.options.kernelSize);
    const p = pair(this.options.padding ?? 0);
    return pool('max', x, k, s, p, this.options.ceilMode ?? false, false);
  }
}

/** Average pooling (torch.nn.AvgPool2d, `countIncludePad` true by default as torch). */
export class AvgPool2d extends Module {
  constructor(
    readonly options: {
      kernelSize: Pair;
      stride?: Pair;
      padding?: Pair;
      ceilMode?: boolean;
      countIncludePad?: boolean;
    },
  ) {
    super();
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const k = pair(this.options.kernelSize);
    const s = pair(this.options.stride ?? this.options.kernelSize);
    const p = pair(this.options.padding ?? 0);
    return pool(
      'avg',
      x,
      k,
      s,
      p,
      this.options.ceilMode ?? false,
      this.options.countIncludePad ?? true,
    );
  }
}

/** torch's pooled size: floor or ceil, minus a last window starting inside the right padding. */
function pooledSize(len: number, k: number, s: number, p: number, ceil: boolean): number {
  let out = Math.floor((len + 2 * p - k + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= len + p) out -= 1;
  return out;
}

function pool(
  kind: 'max' | 'avg',
  x: tf.Tensor4D,
  k: [number, number],
  s: [number, number],
  p: [number, number],
  ceil: boolean,
  countIncludePad: boolean,
): tf.Tensor4D {
  const [, h, w] = x.shape;
  const oh = pooledSize(h, k[0], s[0], p[0], ceil);
  const ow = pooledSize(w, k[1], s[1], p[1], ceil);
  // Pad explicitly (-inf for max, 0 for avg) so that every window is whole, then pool 'valid'.
  const bottom = Math.max((oh - 1) * s[0] + k[0] - h - p[0], 0);
  const right = Math.max((ow - 1) * s[1] + k[1] - w - p[1], 0);
  if (kind === 'max') {
    // Floor mode with one padding for both axes is tfjs' own numeric padding (excluded from the max).
    if (!ceil && p[0] === p[1]) return tf.maxPool(x, k, s, p[0]);
    const padded =
      p[0] || p[1] || bottom || right
        ? tf.pad(
            x,
            [
              [0, 0],
              [p[0], bottom],
              [p[1], right],
              [0, 0],
            ],
            -3.4e38,
          )
        : x;
    return tf.maxPool(padded, k, s, 'valid');
  }
  if (!p[0] && !p[1] && !bottom && !right) return tf.avgPool(x, k, s, 'valid');
  const padded = tf.pad(
    x,
    [
      [0, 0],
      [p[0], bottom],
      [p[1], right],
      [0, 0],
    ],
    0,
  );
  const sum = tf.mul(tf.avgPool(padded, k, s, 'valid'), k[0] * k[1]);
  // Divisor per window: its cells inside the input extended by the padding
  // (countIncludePad, torch's default) or inside the input alone.
  const ph = h + p[0] + bottom;
  const pw = w + p[1] + right;
  const mask = new Float32Array(ph * pw);
  const [r0, r1] = countIncludePad ? [0, h + 2 * p[0]] : [p[0], p[0] + h];
  const [c0, c1] = countIncludePad ? [0, w + 2 * p[1]] : [p[1], p[1] + w];
  for (let r = r0; r < Math.min(r1, ph); r++) mask.fill(1, r * pw + c0, r * pw + Math.min(c1, pw));
  const count = tf.mul(tf.avgPool(tf.tensor4d(mask, [1, ph, pw, 1]), k, s, 'valid'), k[0] * k[1]);
  return tf.div(sum, count) as tf.Tensor4D;
}

/** Adaptive average pooling (torch.nn.AdaptiveAvgPool2d) with torch's bin edges. */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair = 1) {
    super();
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return adaptiveAvgPool2d(x, pair(this.outputSize));
  }
}

/** Bins `[floor(i*H/out), ceil((i+1)*H/out))` averaged, as torch. */
export function adaptiveAvgPool2d(x: tf.Tensor4D, [oh, ow]: [number, number]): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (oh === 1 && ow === 1) return tf.mean(x, [1, 2], true) as tf.Tensor4D;
  if (h % oh === 0 && w % ow === 0)
    return tf.avgPool(x, [h / oh, w / ow], [h / oh, w / ow], 'valid');
  const rows: tf.Tensor4D[] = [];
  for (let i = 0; i < oh; i++) {
    const y0 = Math.floor((i * h) / oh);
    const y1 = Math.ceil(((i + 1) * h) / oh);
    const cols: tf.Tensor4D[] = [];
    for (let j = 0; j < ow; j++) {
      const x0 = Math.floor((j * w) / ow);
      const x1 = Math.ceil(((j + 1) * w) / ow);
      cols.push(
        tf.mean(tf.slice(x, [0, y0, x0, 0], [n, y1 - y0, x1 - x0, c]), [1, 2], true) as tf.Tensor4D,
      );
    }
    rows.push(tf.concat(cols, 2));
  }
  return tf.concat(rows, 1);
}

export interface InterpolateOptions {
  /** Output `[h, w]`, or use `scaleFactor`. */
  size?: [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear';
  alignCorners?: boolean;
}

/**
 * Resize NHWC maps (torch.nn.functional.interpolate): 'nearest' takes
 * `floor(dst * in / out)`; 'bilinear' uses half-pixel centres unless `alignCorners`.
 */
export function interpolate(x: tf.Tensor4D, opts: InterpolateOptions): tf.Tensor4D {
  const [, h, w] = x.shape;
  let size = opts.size;
  if (!size) {
    if (opts.scaleFactor === undefined) throw new Error('interpolate: give size or scaleFactor');
    const [fh, fw] = pair(opts.scaleFactor);
    size = [Math.floor(h * fh), Math.floor(w * fw)];
  }
  if ((opts.mode ?? 'nearest') === 'nearest')
    return tf.image.resizeNearestNeighbor(x, size, false, false);
  const align = opts.alignCorners ?? false;
  return tf.image.resizeBilinear(x, size, align, !align);
}

/** Module form of {@link interpolate} (torch.nn.Upsample). */
export class Upsample extends Module {
  constructor(readonly options: InterpolateOptions) {
    super();
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return interpolate(x, this.options);
  }
}

/** `normCfg` of a {@link ConvModule} (mmcv names). */
export interface NormCfg {
  type: 'BN' | 'BN2d' | 'SyncBN' | 'GN';
  requiresGrad?: boolean;
  momentum?: number;
  eps?: number;
  numGroups?: number;
}

/** `actCfg` of a {@link ConvModule}; `null` for none. */
export interface ActCfg {
  type: Activation['kind'];
  negativeSlope?: number;
}

/** Builds a norm layer from an mmcv-style config; returns its conventional name ('bn' / 'gn'). */
export function buildNormLayer(cfg: NormCfg, channels: number): [string, Module] {
  if (cfg.type === 'GN') {
    if (!cfg.numGroups) throw new Error('normCfg GN needs numGroups');
    return ['gn', new GroupNorm(cfg.numGroups, channels, { eps: cfg.eps })];
  }
  if (cfg.type === 'BN' || cfg.type === 'BN2d' || cfg.type === 'SyncBN') {
    return ['bn', new BatchNorm2d(channels, { eps: cfg.eps, momentum: cfg.momentum })];
  }
  throw new Error(
    `normCfg.type: expected one of BN | GN, got ${JSON.stringify((cfg as { type: unknown }).type)}`,
  );
}

export interface ConvModuleOptions extends Conv2dOptions {
  /** `'auto'` (the default): a bias only when there is no norm layer. */
  bias?: boolean;
  normCfg?: NormCfg | null;
  actCfg?: ActCfg | null;
}

/**
 * Conv + optional norm + optional activation (mmcv's ConvModule, order
 * conv-norm-act). Children are named `conv`, `bn`/`gn` and `activate`, so
 * state dict keys read `...conv.weight`, `...bn.runningMean`.
 */
export class ConvModule extends Module {
  readonly conv: Conv2d;
  readonly norm?: Module;
  readonly act?: Activation;
  constructor(opts: ConvModuleOptions) {
    super();
    const normCfg = opts.normCfg ?? null;
    const actCfg = opts.actCfg === undefined ? ({ type: 'ReLU' } as ActCfg) : opts.actCfg;
    this.conv = this.addModule('conv', new Conv2d({ ...opts, bias: opts.bias ?? !normCfg }));
    if (normCfg) {
      const [name, layer] = buildNormLayer(normCfg, opts.outChannels);
      this.norm = this.addModule(name, layer);
      if (normCfg.requiresGrad === false) this.freeze(name);
    }
    if (actCfg)
      this.act = this.addModule('activate', new Activation(actCfg.type, actCfg.negativeSlope));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    let y = this.conv.forward(x);
    if (this.norm) y = this.norm.forward(y) as tf.Tensor4D;
    if (this.act) y = this.act.forward(y) as tf.Tensor4D;
    return y;
  }
}

MODELS.register(Conv2d, { name: 'Conv2d' });
MODELS.register(ConvModule, { name: 'ConvModule' });
MODELS.register(ConvTranspose2d, { name: 'ConvTranspose2d' });
MODELS.register(Linear, { name: 'Linear' });
MODELS.register(Identity, { name: 'Identity' });
