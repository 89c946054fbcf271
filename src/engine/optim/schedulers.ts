/**
 * Learning-rate schedulers with mmengine's semantics: each is active on the
 * steps `[begin, end)` (epochs when `byEpoch`, iterations otherwise), holds
 * its last value after `end`, and chained schedulers multiply. The rate is
 * computed in closed form from the step counters, so resuming needs no
 * scheduler state beyond the epoch and iteration.
 *
 * With `begin = 0` and the default factors, the factor at step `s` is:
 * - LinearLR: `start + (end - start) * min(s, T) / T`, `T = end - begin - 1`;
 * - MultiStepLR: `gamma ^ #{milestones <= s}`;
 * - CosineAnnealingLR: `(etaMin + (base - etaMin) (1 + cos(pi s / T)) / 2) / base`, `T = tMax ?? end - begin`;
 * - PolyLR: `((base - etaMin) (1 - min(s, T) / T) ^ power + etaMin) / base`, `T = end - begin - 1`.
 */
import { z } from 'zod';
import { PARAM_SCHEDULERS } from '../../registry.js';

/** mmengine's INF end. */
export const SCHEDULER_INF = 1e9;

const common = {
  begin: z.number().int().min(0).optional(),
  end: z.number().int().positive().optional(),
  byEpoch: z.boolean().optional(),
  verbose: z.boolean().optional(),
  /** Only the learning rate is scheduled here. */
  paramName: z.literal('lr').optional(),
};

/** Base: the multiplicative factor of the base learning rate at a step. */
export abstract class LRScheduler {
  readonly begin: number;
  end: number;
  readonly byEpoch: boolean;

  constructor(opts: { begin?: number; end?: number; byEpoch?: boolean }) {
    this.begin = opts.begin ?? 0;
    this.end = opts.end ?? SCHEDULER_INF;
    this.byEpoch = opts.byEpoch ?? true;
    if (this.end <= this.begin)
      throw new Error(
        `${this.constructor.name}: end ${this.end} must be after begin ${this.begin}`,
      );
  }

  /** Called once the loop length is known: `end` defaults to it where a schedule needs a length. */
  setDefaultEnd(_length: number): void {}

  /** Factor at `s` steps after `begin` (0 <= s < end - begin). */
  protected abstract closedForm(s: number, baseLr: number): number;

  /** Factor at global step `t` (epoch or iteration): 1 before `begin`, held after `end`. */
  factor(t: number, baseLr: number): number {
    if (t < this.begin) return 1;
    const s = Math.min(t, this.end - 1) - this.begin;
    return this.closedForm(s, baseLr);
  }
}

const linearSchema = z.strictObject({
  ...common,
  startFactor: z.number().min(0).max(1).optional(),
  endFactor: z.number().min(0).max(1).optional(),
});

/**
 * Linear warm-up (or decay) of the factor from `startFactor` to `endFactor`.
 *
 * @example
 * ```ts
 * const s = new LinearLR({ startFactor: 0.1, byEpoch: false, begin: 0, end: 5 });
 * [0, 1, 2, 3, 4, 5].map((i) => s.factor(i, 1)); // => [0.1, 0.325, 0.55, 0.775, 1, 1]
 * ```
 */
export class LinearLR extends LRScheduler {
  static readonly configSchema = linearSchema;
  readonly startFactor: number;
  readonly endFactor: number;
  constructor(opts: z.infer<typeof linearSchema>) {
    super(opts);
    this.startFactor = opts.startFactor ?? 1 / 3;
    this.endFactor = opts.endFactor ?? 1;
  }
  protected closedForm(s: number): number {
    const total = this.end - this.begin - 1;
    if (total <= 0) return this.endFactor;
    return this.startFactor + ((this.endFactor - this.startFactor) * Math.min(s, total)) / total;
  }
}

const multiStepSchema = z.strictObject({
  ...common,
  milestones: z.array(z.number().int().min(0)),
  gamma: z.number().positive().optional(),
});

/**
 * Multiplies by `gamma` at each milestone (counted from `begin`).
 *
 * @example
 * ```ts
 * const s = new MultiStepLR({ milestones: [8, 11], gamma: 0.1 });
 * [0, 7, 8, 11].map((e) => s.factor(e, 1)); // => [1, 1, 0.1, 0.01] (up to rounding)
 * ```
 */
export class MultiStepLR extends LRScheduler {
  static readonly configSchema = multiStepSchema;
  readonly milestones: number[];
  readonly gamma: number;
  constructor(opts: z.infer<typeof multiStepSchema>) {
    super(opts);
    this.milestones = [...opts.milestones].sort((a, b) => a - b);
    this.gamma = opts.gamma ?? 0.1;
  }
  protected closedForm(s: number): number {
    return this.gamma ** this.milestones.filter((m) => m <= s).length;
  }
}

const cosineSchema = z.strictObject({
  ...common,
  tMax: z.number().int().positive().optional(),
  etaMin: z.number().min(0).optional(),
  etaMinRatio: z.number().min(0).optional(),
});

/** Cosine annealing from the base rate to `etaMin` (or `base * etaMinRatio`) over `tMax` steps. */
export class CosineAnnealingLR extends LRScheduler {
  static readonly configSchema = cosineSchema;
  tMax?: number;
  readonly etaMin?: number;
  readonly etaMinRatio?: number;
  constructor(opts: z.infer<typeof cosineSchema>) {
    super(opts);
    if (opts.etaMin !== undefined && opts.etaMinRatio !== undefined)
      throw new Error('CosineAnnealingLR: give etaMin or etaMinRatio, not both');
    this.tMax = opts.tMax ?? (opts.end !== undefined ? opts.end - this.begin : undefined);
    this.etaMin = opts.etaMin;
    this.etaMinRatio = opts.etaMinRatio;
  }
  override setDefaultEnd(length: number): void {
    if (this.end === SCHEDULER_INF && length > this.begin) this.end = length;
    this.tMax ??= this.end - this.begin;
  }
  protected closedForm(s: number, baseLr: number): number {
    const T = this.tMax ?? this.end - this.begin;
    if (T >= SCHEDULER_INF) throw new Error('CosineAnnealingLR: set tMax or end');
    const etaMin = this.etaMinRatio !== undefined ? baseLr * this.etaMinRatio : (this.etaMin ?? 0);
    return (etaMin + ((baseLr - etaMin) * (1 + Math.cos((Math.PI * s) / T))) / 2) / baseLr;
  }
}

const polySchema = z.strictObject({
  ...common,
  power: z.number().optional(),
  etaMin: z.number().min(0).optional(),
});

/** Polynomial decay to `etaMin` with exponent `power` (default 1). */
export class PolyLR extends LRScheduler {
  static readonly configSchema = polySchema;
  readonly power: number;
  readonly etaMin: number;
  constructor(opts: z.infer<typeof polySchema>) {
    super(opts);
    this.power = opts.power ?? 1;
    this.etaMin = opts.etaMin ?? 0;
  }
  override setDefaultEnd(length: number): void {
    if (this.end === SCHEDULER_INF && length > this.begin) this.end = length;
  }
  protected closedForm(s: number, baseLr: number): number {
    const total = this.end - this.begin - 1;
    if (total >= SCHEDULER_INF - 1) throw new Error('PolyLR: set end');
    const frac = total <= 0 ? 1 : Math.min(s, total) / total;
    return ((baseLr - this.etaMin) * (1 - frac) ** this.power + this.etaMin) / baseLr;
  }
}

PARAM_SCHEDULERS.register(LinearLR, { name: 'LinearLR' });
PARAM_SCHEDULERS.register(MultiStepLR, { name: 'MultiStepLR' });
PARAM_SCHEDULERS.register(CosineAnnealingLR, { name: 'CosineAnnealingLR' });
PARAM_SCHEDULERS.register(PolyLR, { name: 'PolyLR' });

/**
 * The learning rate of a chain of schedulers at a given epoch and iteration:
 * `baseLr * prod(factor_i)`, each scheduler reading the epoch or the
 * iteration by its `byEpoch`.
 *
 * @example
 * ```ts
 * const chain = [new LinearLR({ startFactor: 0.001, byEpoch: false, end: 500 }), new MultiStepLR({ milestones: [8, 11] })];
 * scheduledLr(0.02, chain, { epoch: 0, iter: 0 });    // => 0.00002
 * scheduledLr(0.02, chain, { epoch: 8, iter: 4000 }); // => 0.002
 * ```
 */
export function scheduledLr(
  baseLr: number,
  schedulers: readonly LRScheduler[],
  at: { epoch: number; iter: number },
): number {
  let lr = baseLr;
  for (const s of schedulers) lr *= s.factor(s.byEpoch ? at.epoch : at.iter, baseLr);
  return lr;
}
