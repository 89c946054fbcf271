/**
 * The default hooks (mmengine's): IterTimerHook, LoggerHook,
 * ParamSchedulerHook, CheckpointHook, and the custom EMAHook and
 * EarlyStoppingHook.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { validateArgs } from '../../config/index.js';
import { writeFileAtomic, sidecarPath } from '../../nn/index.js';
import { HOOKS } from '../../registry.js';
import { formatDuration, formatNumber } from '../logging.js';
import { scheduledLr } from '../optim/schedulers.js';
import type { Runner } from '../runner.js';
import { Hook, type CheckpointContent, type Priority, type TrainStepOutputs } from './hook.js';

const priority = z.union([z.string(), z.number()]).optional();

/** Times each iteration (`time`) and the wait for its batch (`data_time`); the logger reads them. */
export class IterTimerHook extends Hook {
  static readonly configSchema = z.strictObject({ priority });
  override priority: Priority = 'NORMAL';
  private last = 0;
  /** Seconds of the last iteration and of its data wait. */
  time = 0;
  dataTime = 0;
  /** Mean iteration time since the start (or resume) of training, for the ETA. */
  private sum = 0;
  private count = 0;

  override beforeTrainEpoch(): void {
    this.last = performance.now();
  }
  override beforeValEpoch(): void {
    this.last = performance.now();
  }
  override beforeTestEpoch(): void {
    this.last = performance.now();
  }
  override beforeTrainIter(): void {
    this.dataTime = (performance.now() - this.last) / 1000;
  }
  override beforeValIter(): void {
    this.dataTime = (performance.now() - this.last) / 1000;
  }
  override beforeTestIter(): void {
    this.dataTime = (performance.now() - this.last) / 1000;
  }
  private tick(train: boolean): void {
    const now = performance.now();
    this.time = (now - this.last) / 1000;
    this.last = now;
    if (train) {
      this.sum += this.time;
      this.count++;
    }
  }
  override afterTrainIter(): void {
    this.tick(true);
  }
  override afterValIter(): void {
    this.tick(false);
  }
  override afterTestIter(): void {
    this.tick(false);
  }
  /** Seconds left at the mean iteration time. */
  eta(remainingIters: number): number {
    return this.count ? (this.sum / this.count) * remainingIters : NaN;
  }
}

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
      if (m[k] !== undefined) parts.push(`${k}: ${m[k]!.toFixed(4)}`);
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

/**
 * Sets the learning rate before every iteration from the chained schedulers
 * (`runner.paramSchedulers`): iteration-based ones read the global
 * iteration, epoch-based ones the epoch.
 */
export class ParamSchedulerHook extends Hook {
  static readonly configSchema = z.strictObject({ priority });
  override priority: Priority = 'LOW';
  override beforeTrainIter(r: Runner): void {
    const opt = r.optimWrapper?.optimizer;
    if (!opt) return;
    opt.lr = scheduledLr(opt.baseLr, r.paramSchedulers, { epoch: r.epoch, iter: r.iter });
  }
}

const checkpointSchema = z.strictObject({
  priority,
  interval: z.number().int().optional(),
  byEpoch: z.boolean().optional(),
  maxKeepCkpts: z.number().int().optional(),
  saveLast: z.boolean().optional(),
  saveBest: z
    .union([z.string(), z.array(z.string())])
    .nullable()
    .optional(),
  rule: z
    .union([z.enum(['greater', 'less']), z.array(z.enum(['greater', 'less']))])
    .nullable()
    .optional(),
  outDir: z.string().optional(),
  saveOptimizer: z.literal(true).optional(),
  saveParamScheduler: z.literal(true).optional(),
});

const removeCheckpoint = (file: string): void => {
  for (const f of [file, sidecarPath(file)]) fs.rmSync(f, { force: true });
};

/**
 * Saves a checkpoint every `interval` epochs (or iterations with
 * `byEpoch: false`) and at the end, writes `last_checkpoint` (atomically,
 * after the checkpoint), keeps the newest `maxKeepCkpts`, and with
 * `saveBest: 'coco/bbox_mAP'` keeps the best-scoring one as
 * `best_coco_bbox_mAP_epoch_N.safetensors`.
 */
export class CheckpointHook extends Hook {
  static readonly configSchema = checkpointSchema;
  override priority: Priority = 'VERY_LOW';
  readonly interval: number;
  private byEpochOpt?: boolean;
  readonly maxKeepCkpts: number;
  readonly saveLast: boolean;
  readonly saveBest: string[];
  readonly rules: ('greater' | 'less' | undefined)[];
  readonly outDir?: string;
  /** Regular checkpoints written so far (oldest first). */
  kept: string[] = [];
  /** Best score and file per metric. */
  best: Record<string, { score: number; file: string }> = {};
  private pending?: string;

  constructor(opts: z.infer<typeof checkpointSchema> = {}) {
    super();
    this.interval = opts.interval ?? 1;
    this.byEpochOpt = opts.byEpoch;
    this.maxKeepCkpts = opts.maxKeepCkpts ?? -1;
    this.saveLast = opts.saveLast ?? true;
    this.saveBest =
      opts.saveBest == null ? [] : Array.isArray(opts.saveBest) ? opts.saveBest : [opts.saveBest];
    const rules = opts.rule == null ? [] : Array.isArray(opts.rule) ? opts.rule : [opts.rule];
    this.rules = this.saveBest.map((_, i) => rules[i] ?? rules[0]);
    this.outDir = opts.outDir;
  }

  private byEpoch(r: Runner): boolean {
    return this.byEpochOpt ?? r.trainLoop?.byEpoch ?? true;
  }

  private dir(r: Runner): string {
    return this.outDir ?? r.workDir;
  }

  override afterTrainEpoch(r: Runner): Promise<void> | void {
    if (!this.byEpoch(r) || !r.trainLoop?.byEpoch) return;
    const last = r.epoch === r.trainLoop.maxEpochs;
    if ((this.interval > 0 && r.epoch % this.interval === 0) || (last && this.saveLast))
      return this.save(r, `epoch_${r.epoch}.safetensors`);
  }

  override afterTrainIter(r: Runner): Promise<void> | void {
    if (this.byEpoch(r)) return;
    const last = r.iter === r.trainLoop!.maxIters;
    if ((this.interval > 0 && r.iter % this.interval === 0) || (last && this.saveLast))
      return this.save(r, `iter_${r.iter}.safetensors`);
  }

  /** Saves `name`, then points `last_checkpoint` at it, then drops the oldest beyond `maxKeepCkpts`. */
  async save(r: Runner, name: string): Promise<void> {
    const file = path.join(this.dir(r), name);
    this.pending = file;
    await r.saveCheckpoint(file);
    this.pending = undefined;
    writeFileAtomic(path.join(r.workDir, 'last_checkpoint'), file);
    this.kept = this.kept.filter((k) => k !== file);
    this.kept.push(file);
    if (this.maxKeepCkpts > 0) {
      while (this.kept.length > this.maxKeepCkpts) removeCheckpoint(this.kept.shift()!);
    }
    r.logger.file(`saved checkpoint ${file}`);
  }

  override async afterValEpoch(r: Runner, metrics: Record<string, number>): Promise<void> {
    if (!r.trainLoop) return;
    for (let i = 0; i < this.saveBest.length; i++) {
      let key = this.saveBest[i]!;
      if (key === 'auto') key = Object.keys(metrics)[0] ?? key;
      const score = metrics[key];
      if (score === undefined) {
        r.logger.info(
          `CheckpointHook: saveBest '${key}' is not among the metrics (${Object.keys(metrics).join(', ')})`,
        );
        continue;
      }
      const rule = this.rules[i] ?? (/loss/.test(key) ? 'less' : 'greater');
      const prev = this.best[key];
      if (prev && !(rule === 'greater' ? score > prev.score : score < prev.score)) continue;
      const byEpoch = this.byEpoch(r);
      const name = `best_${key.replace(/\//g, '_')}_${byEpoch ? `epoch_${r.epoch}` : `iter_${r.iter}`}.safetensors`;
      const file = path.join(this.dir(r), name);
      this.best[key] = { score, file };
      this.pending = file;
      await r.saveCheckpoint(file, { bestMetric: key, bestScore: score });
      this.pending = undefined;
      // The previous best goes only once the new one is on disk.
      if (prev && prev.file !== file) removeCheckpoint(prev.file);
      r.logger.info(`best ${key}: ${formatNumber(score)}; saved ${file}`);
    }
  }

  override beforeSaveCheckpoint(_r: Runner, c: CheckpointContent): void {
    const isBest = !!this.pending && path.basename(this.pending).startsWith('best_');
    let kept =
      isBest || !this.pending
        ? this.kept
        : [...this.kept.filter((k) => k !== this.pending), this.pending];
    if (this.maxKeepCkpts > 0) kept = kept.slice(-this.maxKeepCkpts);
    c.hooks.CheckpointHook = { kept, best: this.best };
  }

  override afterLoadCheckpoint(_r: Runner, c: CheckpointContent): void {
    const s = c.hooks.CheckpointHook as
      { kept?: string[]; best?: CheckpointHook['best'] } | undefined;
    if (!s) return;
    this.kept = s.kept ?? [];
    this.best = s.best ?? {};
  }
}

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

/** Accepted for mmdetection configs; the runner already seeds each epoch's order. */
export class DistSamplerSeedHook extends Hook {
  static readonly configSchema = z.strictObject({ priority });
}

/** Accepted for mmdetection configs; the runner keeps its runtime information itself. */
export class RuntimeInfoHook extends Hook {
  static readonly configSchema = z.strictObject({ priority });
}

for (const h of [
  IterTimerHook,
  LoggerHook,
  ParamSchedulerHook,
  CheckpointHook,
  EMAHook,
  EarlyStoppingHook,
  DistSamplerSeedHook,
  RuntimeInfoHook,
]) {
  HOOKS.register(h, { force: true });
}
