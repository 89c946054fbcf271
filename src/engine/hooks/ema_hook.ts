/** mmengine's `EMAHook` (custom hook). */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { validateArgs } from '../../config/index.js';
import type { Runner } from '../runner.js';
import { Hook, type CheckpointContent, type Priority } from './hook.js';
import { priority } from './priority.js';
import { HOOKS } from '../../registry.js';

const emaSchema = z.strictObject({
  priority,
  type: z.string().optional(),
  emaType: z.enum(['ExponentialMovingAverage', 'ExpMomentumEMA']).optional(),
  gamma: z.number().positive().optional(),
  momentum: z.number().gt(0).lt(1).optional(),
  interval: z.number().int().positive().optional(),
  updateBuffers: z.boolean().optional(),
  begin: z.number().int().min(0).optional(),
  strictLoad: z.boolean().optional(),
});

/**
 * Keeps an exponential moving average of the weights (mmengine's
 * `ExponentialMovingAverage`: `avg += momentum * (param - avg)`, a plain
 * copy on the first update; with `emaType: 'ExpMomentumEMA'` the weight is
 * `(1 - momentum) * exp(-(1 + step) / gamma) + momentum`, as YOLOX/RTMDet use) and validates/tests with it, swapping the
 * averaged weights in for the evaluation and back afterwards. The averages
 * are saved with each checkpoint and restored on resume.
 */
export class EMAHook extends Hook {
  static readonly configSchema = emaSchema;
  override priority: Priority = 'NORMAL';
  readonly momentum: number;
  readonly interval: number;
  readonly updateBuffers: boolean;
  readonly begin: number;
  readonly emaType: 'ExponentialMovingAverage' | 'ExpMomentumEMA';
  readonly gamma: number;
  private avg = new Map<string, tf.Tensor>();
  private steps = 0;

  constructor(opts: z.infer<typeof emaSchema> = {}) {
    super();
    const o = validateArgs(emaSchema, opts, 'customHooks.EMAHook');
    this.momentum = o.momentum ?? 0.0002;
    this.interval = o.interval ?? 1;
    this.updateBuffers = o.updateBuffers ?? false;
    this.begin = o.begin ?? 0;
    this.emaType = o.emaType ?? 'ExponentialMovingAverage';
    this.gamma = o.gamma ?? 2000;
  }

  /** The weight of the new parameters at this update (ExpMomentumEMA decays it towards `momentum`). */
  currentMomentum(): number {
    if (this.emaType === 'ExpMomentumEMA')
      return (1 - this.momentum) * Math.exp(-(1 + this.steps) / this.gamma) + this.momentum;
    return this.momentum;
  }

  private tracked(r: Runner): [string, tf.Variable][] {
    return this.updateBuffers
      ? [...r.model.stateDict()].filter(([, v]) => v.dtype === 'float32')
      : r.model.namedParameters();
  }

  private reset(r: Runner): void {
    this.dispose();
    for (const [n, v] of this.tracked(r)) this.avg.set(n, tf.keep(v.clone()));
  }

  override beforeRun(r: Runner): void {
    if (this.avg.size === 0) this.reset(r);
  }

  override afterTrainIter(r: Runner): void {
    if (r.iter <= this.begin || r.iter % this.interval !== 0) return;
    const m = this.currentMomentum();
    for (const [n, v] of this.tracked(r)) {
      const old = this.avg.get(n);
      const next = tf.tidy(() =>
        this.steps === 0 || !old ? v.clone() : tf.add(old, tf.mul(tf.sub(v, old), m)),
      );
      old?.dispose();
      this.avg.set(n, next);
    }
    this.steps++;
  }

  /** Exchanges the model's weights and the averages. */
  swap(r: Runner): void {
    for (const [n, v] of this.tracked(r)) {
      const a = this.avg.get(n);
      if (!a) continue;
      const raw = v.clone();
      v.assign(a);
      a.dispose();
      this.avg.set(n, raw);
    }
  }

  override beforeValEpoch(r: Runner): void {
    this.swap(r);
  }
  override afterValEpoch(r: Runner): void {
    this.swap(r);
  }
  override beforeTestEpoch(r: Runner): void {
    this.swap(r);
  }
  override afterTestEpoch(r: Runner): void {
    this.swap(r);
  }

  override beforeSaveCheckpoint(_r: Runner, c: CheckpointContent): void {
    for (const [n, t] of this.avg) c.tensors.set(`EMAHook/${n}`, t);
    c.hooks.EMAHook = { steps: this.steps };
  }

  override afterLoadCheckpoint(r: Runner, c: CheckpointContent): void {
    const saved = [...c.tensors].filter(([k]) => k.startsWith('EMAHook/'));
    if (saved.length === 0) {
      // Loaded weights (loadFrom) without averages: start the average from them.
      this.reset(r);
      this.steps = 0;
      return;
    }
    this.dispose();
    for (const [k, t] of saved) this.avg.set(k.slice('EMAHook/'.length), tf.keep(t.clone()));
    this.steps = (c.hooks.EMAHook as { steps?: number } | undefined)?.steps ?? 0;
  }

  dispose(): void {
    for (const t of this.avg.values()) t.dispose();
    this.avg.clear();
  }
}

HOOKS.register(EMAHook, { name: 'EMAHook' });
