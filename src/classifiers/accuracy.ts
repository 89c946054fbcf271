/**
 * Top-k accuracy (mmpretrain's `Accuracy`), streaming: `process` per batch,
 * `compute` at the end.
 */
import { z } from 'zod';
import { METRICS } from '../registry.js';
import type { ClsDataSample } from '../structures/index.js';

export const accuracySchema = z
  .object({
    topk: z
      .union([z.number().int().positive(), z.array(z.number().int().positive()).min(1)])
      .default([1, 5]),
    prefix: z.string().default('accuracy'),
  })
  .strict();

/**
 * Top-k accuracy in percent. A sample counts as a hit at k when fewer than k
 * classes score strictly higher than its true class (ties go in its favour,
 * where torch.topk would break them by index).
 *
 * @example
 * ```ts
 * const acc = new Accuracy({ topk: [1, 2] });
 * acc.process({}, [{ predScore: [0.1, 0.7, 0.2], gtLabel: 1 }, { predScore: [0.5, 0.1, 0.4], gtLabel: 2 }]);
 * acc.compute(); // => { 'accuracy/top1': 50, 'accuracy/top2': 100 }
 * ```
 */
export class Accuracy {
  readonly topk: number[];
  readonly prefix: string;
  /** Per processed sample, in order: how many classes score above its true class. */
  results: number[] = [];

  constructor(options: z.input<typeof accuracySchema> = {}) {
    const o = accuracySchema.parse(options);
    this.topk = Array.isArray(o.topk) ? o.topk : [o.topk];
    this.prefix = o.prefix;
  }

  /** Records the rank of the true class of every sample. `dataBatch` is unused (kept for the evaluator's signature). */
  process(_dataBatch: unknown, dataSamples: ClsDataSample[]): void {
    for (const [i, s] of dataSamples.entries()) {
      const scores = s.predScore;
      if (!Number.isInteger(s.gtLabel) || s.gtLabel < 0 || s.gtLabel >= scores.length) {
        throw new Error(
          `Accuracy: sample ${i}: gtLabel ${s.gtLabel} is not a class index in 0..${scores.length - 1}`,
        );
      }
      const g = scores[s.gtLabel];
      let rank = 0;
      for (let c = 0; c < scores.length; c++) if (scores[c] > g) rank++;
      this.results.push(rank);
    }
  }

  /** `{prefix/topK: percent}` over everything processed since the last `compute`; then resets. */
  compute(): Record<string, number> {
    const n = this.results.length;
    const out: Record<string, number> = {};
    for (const k of this.topk)
      out[`${this.prefix}/top${k}`] = n ? (100 * this.results.filter((r) => r < k).length) / n : 0;
    this.results = [];
    return out;
  }
}

METRICS.register(Accuracy, { name: 'Accuracy', schema: accuracySchema });
