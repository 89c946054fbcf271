/** mmengine's `CheckpointHook`. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic, sidecarPath } from '../../nn/index.js';
import { formatNumber } from '../logging.js';
import type { Runner } from '../runner.js';
import { Hook, type CheckpointContent, type Priority } from './hook.js';
import { priority } from './priority.js';
import { HOOKS } from '../../registry.js';

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
    // In data-parallel training the other workers keep the same list but touch no file.
    if (r.isMain) writeFileAtomic(path.join(r.workDir, 'last_checkpoint'), file);
    this.kept = this.kept.filter((k) => k !== file);
    this.kept.push(file);
    if (this.maxKeepCkpts > 0) {
      while (this.kept.length > this.maxKeepCkpts) {
        const old = this.kept.shift()!;
        if (r.isMain) removeCheckpoint(old);
      }
    }
    r.logger.file(`saved checkpoint ${file}`);
  }

  override async afterValEpoch(r: Runner, metrics: Record<string, number>): Promise<void> {
    if (!r.trainLoop) return;
    for (let i = 0; i < this.saveBest.length; i++) {
      let key = this.saveBest[i];
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
      if (prev && prev.file !== file && r.isMain) removeCheckpoint(prev.file);
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

HOOKS.register(CheckpointHook, { name: 'CheckpointHook' });
