/** mmengine's `LoggerHook`. */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { formatDuration, formatNumber } from '../logging.js';
import type { Runner } from '../runner.js';
import { Hook, type Priority, type TrainStepOutputs } from './hook.js';
import { IterTimerHook } from './iter_timer_hook.js';
import { priority } from './priority.js';
import { HOOKS } from '../../registry.js';

const loggerSchema = z.strictObject({
  priority,
  interval: z.number().int().positive().optional(),
  ignoreLast: z.boolean().optional(),
  logMetricByEpoch: z.boolean().optional(),
});

/**
 * Logs every `interval` iterations: the window mean of each loss term, the
 * learning rate, the ETA, times and tensor memory, to the text log, to
 * `vis_data/scalars.json` (one JSON object a line) and to the console (a
 * progress bar on a TTY, plain lines otherwise). Validation metrics go to the
 * same places.
 */
export class LoggerHook extends Hook {
  static readonly configSchema = loggerSchema;
  override priority: Priority = 'BELOW_NORMAL';
  readonly interval: number;
  readonly ignoreLast: boolean;
  private window = new Map<string, number[]>();

  constructor(opts: z.infer<typeof loggerSchema> = {}) {
    super();
    this.interval = opts.interval ?? 50;
    this.ignoreLast = opts.ignoreLast ?? false;
  }

  private timer(r: Runner): IterTimerHook | undefined {
    return r.getHook(IterTimerHook);
  }

  private push(k: string, v: number): void {
    const w = this.window.get(k) ?? [];
    w.push(v);
    this.window.set(k, w);
  }

  private means(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, w] of this.window) out[k] = w.reduce((a, b) => a + b, 0) / w.length;
    return out;
  }

  override afterTrainIter(r: Runner, batchIdx: number, _b: unknown, out: TrainStepOutputs): void {
    const loop = r.trainLoop!;
    const t = this.timer(r);
    for (const [k, v] of Object.entries(out.losses)) this.push(k, v);
    if (out.gradNorm !== undefined) this.push('grad_norm', out.gradNorm);
    if (t) {
      this.push('time', t.time);
      this.push('data_time', t.dataTime);
    }
    const len = (loop as { dataloader?: { length: number } }).dataloader?.length ?? 0;
    const eta = t ? t.eta(loop.maxIters - r.iter) : NaN;
    const lossText = Object.entries(out.losses)
      .filter(([k]) => k.includes('loss'))
      .map(([k, v]) => `${k} ${formatNumber(v)}`)
      .join(' ');
    if (r.logger.isTTY) {
      const head = loop.byEpoch ? `epoch ${r.epoch + 1}/${loop.maxEpochs} iter` : 'iter';
      const done = loop.byEpoch ? batchIdx + 1 : r.iter;
      const total = loop.byEpoch ? len : loop.maxIters;
      r.logger.bar(
        done,
        total,
        `${head} | eta ${formatDuration(eta)} | lr ${out.lr.toExponential(3)} | ${lossText}`,
      );
    }
    const endOfEpoch = loop.byEpoch && batchIdx + 1 === len;
    const due = loop.byEpoch ? (batchIdx + 1) % this.interval === 0 : r.iter % this.interval === 0;
    if (!due && !(endOfEpoch && !this.ignoreLast) && r.iter !== loop.maxIters) return;
    const m = this.means();
    this.window.clear();
    const memory = Math.round(tf.memory().numBytes / 2 ** 20);
    const record: Record<string, number> = {
      lr: out.lr,
      ...m,
      memory,
      epoch: r.epoch + 1,
      iter: r.iter,
      step: r.iter,
    };
    r.logger.scalars(record);
    const where = loop.byEpoch
      ? `Epoch(train) [${r.epoch + 1}][${String(batchIdx + 1).padStart(String(len).length)}/${len}]`
      : `Iter(train) [${String(r.iter).padStart(String(loop.maxIters).length)}/${loop.maxIters}]`;
    const parts = [`lr: ${out.lr.toExponential(4)}`, `eta: ${formatDuration(eta)}`];
    for (const k of ['time', 'data_time'])
      if (m[k] !== undefined) parts.push(`${k}: ${m[k].toFixed(4)}`);
    parts.push(`memory: ${memory}`);
    if (m.grad_norm !== undefined) parts.push(`grad_norm: ${formatNumber(m.grad_norm)}`);
    for (const [k, v] of Object.entries(m))
      if (!['time', 'data_time', 'grad_norm'].includes(k)) parts.push(`${k}: ${formatNumber(v)}`);
    const line = `${where}  ${parts.join('  ')}`;
    if (r.logger.isTTY) r.logger.file(line);
    else r.logger.info(line);
  }

  override afterValIter(r: Runner, batchIdx: number): void {
    const loop = r.valLoop as { dataloader?: { length: number } } | undefined;
    r.logger.bar(batchIdx + 1, loop?.dataloader?.length ?? 0, 'validating');
  }

  override afterTestIter(r: Runner, batchIdx: number): void {
    const loop = r.testLoop as { dataloader?: { length: number } } | undefined;
    r.logger.bar(batchIdx + 1, loop?.dataloader?.length ?? 0, 'testing');
  }

  private metricLine(r: Runner, stage: 'val' | 'test', metrics: Record<string, number>): void {
    r.logger.clearBar();
    const byEpoch = r.trainLoop?.byEpoch ?? true;
    const step = byEpoch ? r.epoch : r.iter;
    r.logger.scalars({ ...metrics, step });
    const where =
      stage === 'test'
        ? 'Epoch(test)'
        : byEpoch
          ? `Epoch(val) [${r.epoch}]`
          : `Iter(val) [${r.iter}]`;
    const text = Object.entries(metrics)
      .map(([k, v]) => `${k}: ${formatNumber(v)}`)
      .join('  ');
    r.logger.info(`${where}  ${text || '(no metrics)'}`);
  }

  override afterValEpoch(r: Runner, metrics: Record<string, number>): void {
    this.metricLine(r, 'val', metrics);
  }

  override afterTestEpoch(r: Runner, metrics: Record<string, number>): void {
    this.metricLine(r, 'test', metrics);
  }

  override afterTrain(r: Runner): void {
    r.logger.clearBar();
  }
}

HOOKS.register(LoggerHook, { name: 'LoggerHook' });
