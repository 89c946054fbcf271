/** mmengine's `EarlyStoppingHook` (custom hook). */
import { z } from 'zod';
import { formatNumber } from '../logging.js';
import type { Runner } from '../runner.js';
import { Hook, type CheckpointContent, type Priority } from './hook.js';
import { priority } from './priority.js';
import { HOOKS } from '../../registry.js';

const earlySchema = z.strictObject({
  priority,
  monitor: z.string(),
  rule: z.enum(['greater', 'less']).optional(),
  minDelta: z.number().min(0).optional(),
  strict: z.boolean().optional(),
  patience: z.number().int().positive().optional(),
  stoppingThreshold: z.number().optional(),
});

/**
 * Stops training when the monitored metric has not improved by more than
 * `minDelta` for `patience` validations (or reached `stoppingThreshold`).
 * The rule defaults to `less` for names containing `loss`, else `greater`.
 * Unlike mmengine (0.1), `minDelta` defaults to 0, which suits mAP-like
 * metrics in [0, 1].
 */
export class EarlyStoppingHook extends Hook {
  static readonly configSchema = earlySchema;
  override priority: Priority = 'LOWEST';
  readonly monitor: string;
  readonly rule: 'greater' | 'less';
  readonly minDelta: number;
  readonly strict: boolean;
  readonly patience: number;
  readonly stoppingThreshold?: number;
  best?: number;
  wait = 0;

  constructor(opts: z.infer<typeof earlySchema>) {
    super();
    this.monitor = opts.monitor;
    this.rule = opts.rule ?? (/loss/.test(opts.monitor) ? 'less' : 'greater');
    this.minDelta = opts.minDelta ?? 0;
    this.strict = opts.strict ?? false;
    this.patience = opts.patience ?? 5;
    this.stoppingThreshold = opts.stoppingThreshold;
  }

  override afterValEpoch(r: Runner, metrics: Record<string, number>): void {
    const score = metrics[this.monitor];
    if (score === undefined) {
      const msg = `EarlyStoppingHook: '${this.monitor}' is not among the metrics (${Object.keys(metrics).join(', ') || 'none'})`;
      if (this.strict) throw new Error(msg);
      r.logger.info(msg);
      return;
    }
    const greater = this.rule === 'greater';
    if (
      this.stoppingThreshold !== undefined &&
      (greater ? score >= this.stoppingThreshold : score <= this.stoppingThreshold)
    ) {
      this.stop(
        r,
        `'${this.monitor}' reached the stopping threshold ${this.stoppingThreshold} (${formatNumber(score)})`,
      );
      return;
    }
    const improved =
      this.best === undefined ||
      (greater ? score > this.best + this.minDelta : score < this.best - this.minDelta);
    if (improved) {
      this.best = score;
      this.wait = 0;
      return;
    }
    this.wait++;
    if (this.wait >= this.patience) {
      this.stop(
        r,
        `'${this.monitor}' has not improved for ${this.wait} validations (best ${formatNumber(this.best!)})`,
      );
    }
  }

  private stop(r: Runner, why: string): void {
    if (r.trainLoop) r.trainLoop.stopTraining = true;
    r.logger.info(`early stopping: ${why}`);
  }

  override beforeSaveCheckpoint(_r: Runner, c: CheckpointContent): void {
    c.hooks.EarlyStoppingHook = { best: this.best ?? null, wait: this.wait };
  }

  override afterLoadCheckpoint(_r: Runner, c: CheckpointContent): void {
    const s = c.hooks.EarlyStoppingHook as { best?: number | null; wait?: number } | undefined;
    if (!s) return;
    this.best = s.best ?? undefined;
    this.wait = s.wait ?? 0;
  }
}

HOOKS.register(EarlyStoppingHook, { name: 'EarlyStoppingHook' });
