/** Normalisation layers (BatchNorm2d, GroupNorm) on NHWC and mmcv's `build_norm_layer`. */
import * as tf from '@tensorflow/tfjs-core';
import { constant } from './init.js';
import { Module } from './module.js';

/**
 * The batch norm kernels by name (registered for cpu and wasm by
 * `src/backend/batch_norm_kernels.ts`; layers look them up, they do not import the backend).
 */
const BN_KERNELS = {
  moments: 'TfdetChannelMoments',
  apply: 'TfdetBatchNormApply',
  gradSums: 'TfdetBatchNormGradSums',
  inputGrad: 'TfdetBatchNormInputGrad',
} as const;

const hasBatchNormKernels = (backendName: string): boolean =>
  Object.values(BN_KERNELS).every((k) => tf.getKernel(k, backendName) !== undefined);

/** What synchronised batch norm needs of the data-parallel workers (the engine's `Collective`). */
export interface NormCollective {
  readonly worldSize: number;
  /** Every worker's value (JSON-serialisable), in rank order, on every worker. */
  allGather<T>(value: T): T[];
}

let normCollective: NormCollective | undefined;

/**
 * Sets the workers that `SyncBN` layers ({@link BatchNorm2d} with `sync`)
 * share their batch statistics with, for this thread (a data-parallel worker
 * sets its own; undefined: the layers act as plain batch norm).
 */
export function setNormCollective(c: NormCollective | undefined): void {
  normCollective = c;
}

/**
 * The element-wise sums of every worker's `parts` (one gather; float64, in
 * rank order, so every worker gets the same bits).
 */
function gatherSums(c: NormCollective, parts: ArrayLike<number>[]): Float32Array[] {
  const all = c.allGather(parts.map((p) => Array.from(p)));
  return parts.map((p, k) => {
    const sum = new Float64Array(p.length);
    for (const r of all) {
      const v = r[k];
      for (let i = 0; i < sum.length; i++) sum[i] += v[i];
    }
    return Float32Array.from(sum);
  });
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
    readonly options: {
      eps?: number;
      momentum?: number;
      affine?: boolean;
      /**
       * Synchronised batch norm (mmcv's `SyncBN`, torch's SyncBatchNorm): in
       * data-parallel training the statistics are those of the whole batch
       * over every worker, and so is the gradient through them.
       */
      sync?: boolean;
    } = {},
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
      return channelAffine(x, scale, shift);
    }
    const c =
      this.options.sync && (normCollective?.worldSize ?? 1) > 1 ? normCollective : undefined;
    const n = x.size / this.numFeatures;
    if (n <= 1 && !c)
      throw new Error(
        `BatchNorm2d: expected more than 1 value per channel in training, got input shape [${x.shape}]`,
      );
    const m = this.options.momentum ?? 0.1;
    const gamma = this.weight ?? tf.ones([this.numFeatures]);
    const beta = this.bias ?? tf.zeros([this.numFeatures]);
    return batchNormTrain(
      x,
      gamma,
      beta,
      this.eps,
      (mean, variance, count) => {
        if (count <= 1)
          throw new Error(
            `SyncBN: expected more than 1 value per channel over the workers, got ${count}`,
          );
        // Running statistics use the unbiased variance, as torch.
        this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
        this.runningVar.assign(
          tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(variance, (m * count) / (count - 1))),
        );
        this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, tf.scalar(1, 'int32')));
      },
      c,
    );
  }
}

/**
 * `x * scale + shift` per channel of NHWC as one recorded operation: the
 * product is freed at once instead of being held by the gradient tape for
 * the whole step (a full-size tensor per frozen BatchNorm layer). Gradients:
 * `dx = dy * scale`, `dscale = Σ dy * x`, `dshift = Σ dy`.
 */
export function channelAffine(x: tf.Tensor4D, scale: tf.Tensor, shift: tf.Tensor): tf.Tensor4D {
  const f = tf.customGrad(((xi: tf.Tensor, s: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xi, s]);
    return {
      value: tf.tidy(() => tf.add(tf.mul(xi, s), b)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ss] = saved as [tf.Tensor, tf.Tensor];
        const axes = [0, 1, 2];
        return [
          tf.mul(dy, ss),
          tf.reshape(tf.sum(tf.mul(dy, xs), axes), s.shape),
          tf.reshape(tf.sum(dy, axes), b.shape),
        ];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, scale, shift) as tf.Tensor4D;
}

/**
 * Training-mode batch norm over the channels of NHWC with a hand-written
 * gradient: `dβ = Σdy`, `dγ = Σdy·x̂`, `dx = γ/σ · (dy − dβ/N − x̂·dγ/N)`.
 * tfjs' generic gradient of `batchNorm(x, moments(x))` tiles the statistics
 * back to the input's size, which costs more than the convolutions around it.
 * `onStats(mean, biasedVariance, count)` sees the batch statistics (for
 * running averages).
 *
 * With `collective` (SyncBN, torch's SyncBatchNorm) the batch is that of every
 * worker: the mean, then the variance, of all workers' values (two
 * all-reduces of per-channel sums, combined as Chan et al.'s parallel
 * variance), and `Σdy`, `Σdy·x̂` over every worker in `dx`, the gradient
 * through the shared statistics. `dγ`, `dβ` stay local: the engine averages
 * them like any other gradient.
 *
 * On the cpu and wasm backends (float32) this runs as one-pass kernels, see
 * `batchNormTrainKernels`; other backends use the tfjs ops below.
 */
export function batchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D | tf.Tensor,
  beta: tf.Tensor1D | tf.Tensor,
  eps: number,
  onStats?: (mean: tf.Tensor1D, variance: tf.Tensor1D, count: number) => void,
  collective?: NormCollective,
): tf.Tensor4D {
  const ch = x.shape[3];
  const local = x.size / ch;
  const sync = collective && collective.worldSize > 1 ? collective : undefined;
  if (x.dtype === 'float32' && hasBatchNormKernels(tf.getBackend()))
    return batchNormTrainKernels(x, gamma, beta, eps, onStats, sync);
  let count = local;
  const f = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    let { mean, variance } = tf.moments(xi, [0, 1, 2]);
    if (sync) ({ mean, variance, count } = globalMoments(mean, variance, local, sync));
    onStats?.(mean as tf.Tensor1D, variance as tf.Tensor1D, count);
    const invStd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(tf.sub(xi, mean), invStd);
    save([xhat, invStd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, inv, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dBeta = tf.sum(dy, [0, 1, 2]);
        const dGamma = tf.sum(tf.mul(dy, xh), [0, 1, 2]);
        const [sBeta, sGamma] = sync ? gatherGradSums(sync, dBeta, dGamma) : [dBeta, dGamma];
        const centred = tf.sub(tf.sub(dy, tf.div(sBeta, count)), tf.mul(xh, tf.div(sGamma, count)));
        return [tf.mul(centred, tf.mul(gm, inv)), dGamma, dBeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, gamma, beta) as tf.Tensor4D;
}

/** `Σdy` and `Σdy·x̂` summed over every worker. */
function gatherGradSums(
  c: NormCollective,
  dBeta: tf.Tensor,
  dGamma: tf.Tensor,
): [tf.Tensor, tf.Tensor] {
  const [b, g] = gatherSums(c, [dBeta.dataSync(), dGamma.dataSync()]);
  return [tf.tensor1d(b), tf.tensor1d(g)];
}

const runKernel = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}) =>
  tf.engine().runKernel(name, inputs, attrs);

/**
 * {@link batchNormTrain} with the backend's batch norm kernels (cpu, wasm:
 * `src/backend/batch_norm_kernels.ts`), one pass over the data each: the
 * moments, the normalisation, the two gradient sums, the input gradient. The
 * gradient keeps `x`, the mean and `1/σ` rather than a full-size `x̂`.
 */
function batchNormTrainKernels(
  x: tf.Tensor4D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
  onStats: ((mean: tf.Tensor1D, variance: tf.Tensor1D, count: number) => void) | undefined,
  sync: NormCollective | undefined,
): tf.Tensor4D {
  const local = x.size / x.shape[3];
  let count = local;
  const f = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    let [mean, variance] = runKernel(BN_KERNELS.moments, { x: xi }) as tf.Tensor[];
    if (sync) ({ mean, variance, count } = globalMoments(mean, variance, local, sync));
    onStats?.(mean as tf.Tensor1D, variance as tf.Tensor1D, count);
    const invStd = tf.rsqrt(tf.add(variance, eps));
    save([xi, mean, invStd, g]);
    return {
      value: runKernel(BN_KERNELS.apply, { x: xi, mean, invStd, gamma: g, beta: b }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, m, inv, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const stats = { x: xs, mean: m, invStd: inv };
        const [dBeta, dGamma] = runKernel(BN_KERNELS.gradSums, { dy, ...stats }) as tf.Tensor[];
        const [sumDy, sumDyXhat] = sync ? gatherGradSums(sync, dBeta, dGamma) : [dBeta, dGamma];
        const inputs = { dy, ...stats, gamma: gm, sumDy, sumDyXhat };
        const dx = runKernel(BN_KERNELS.inputGrad, inputs, { count }) as tf.Tensor;
        return [dx, dGamma, dBeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, gamma, beta) as tf.Tensor4D;
}

/** The mean and biased variance over every worker from each worker's own, and the total count. */
function globalMoments(
  mean: tf.Tensor,
  variance: tf.Tensor,
  local: number,
  c: NormCollective,
): { mean: tf.Tensor; variance: tf.Tensor; count: number } {
  // One gather of every worker's count, mean and variance; each worker combines them
  // in rank order in float64 (Chan et al.'s parallel variance), so all agree.
  const all = c.allGather({
    n: local,
    m: Array.from(mean.dataSync()),
    v: Array.from(variance.dataSync()),
  });
  const ch = mean.size;
  let count = 0;
  const gMean = new Float64Array(ch);
  for (const r of all) {
    count += r.n;
    for (let i = 0; i < ch; i++) gMean[i] += r.n * r.m[i];
  }
  for (let i = 0; i < ch; i++) gMean[i] /= count;
  // Σ over workers of n_r (v_r + (m_r - mean)^2), over the total count.
  const m2 = new Float64Array(ch);
  for (const r of all)
    for (let i = 0; i < ch; i++) m2[i] += r.n * (r.v[i] + (r.m[i] - gMean[i]) ** 2);
  for (let i = 0; i < ch; i++) m2[i] /= count;
  return {
    mean: tf.tensor1d(Float32Array.from(gMean)),
    variance: tf.tensor1d(Float32Array.from(m2)),
    count,
  };
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

/** `normCfg` of a {@link ConvModule} (mmcv names). */
export interface NormCfg {
  type: 'BN' | 'BN2d' | 'SyncBN' | 'GN';
  requiresGrad?: boolean;
  momentum?: number;
  eps?: number;
  numGroups?: number;
}

/** Builds a norm layer from an mmcv-style config; returns its conventional name ('bn' / 'gn'). */
export function buildNormLayer(cfg: NormCfg, channels: number): [string, Module] {
  if (cfg.type === 'GN') {
    if (!cfg.numGroups) throw new Error('normCfg GN needs numGroups');
    return ['gn', new GroupNorm(cfg.numGroups, channels, { eps: cfg.eps })];
  }
  if (cfg.type === 'BN' || cfg.type === 'BN2d' || cfg.type === 'SyncBN') {
    return [
      'bn',
      new BatchNorm2d(channels, {
        eps: cfg.eps,
        momentum: cfg.momentum,
        sync: cfg.type === 'SyncBN',
      }),
    ];
  }
  throw new Error(
    `normCfg.type: expected one of BN | GN, got ${JSON.stringify((cfg as { type: unknown }).type)}`,
  );
}
