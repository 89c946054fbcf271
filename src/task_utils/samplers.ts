/**
 * Samplers (mmdet `task_modules/samplers`): pick the positive and negative
 * priors that a head trains on from an {@link AssignResult}.
 */
import { z } from 'zod';
import { TASK_UTILS } from '../registry.js';
import type { AssignResult } from './assigners.js';

/** Indices of the priors a head trains on. */
export interface SamplingResult {
  posInds: Int32Array;
  negInds: Int32Array;
  /** For each positive, the index of its gt (0-based). */
  posAssignedGtInds: Int32Array;
  /** Whether the sampler subsampled (mmdet: losses then average over pos + neg). */
  sampled: boolean;
}

function collect(gtInds: Int32Array, pred: (v: number) => boolean): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < gtInds.length; i++) if (pred(gtInds[i])) out.push(i);
  return Int32Array.from(out);
}

function result(
  assign: AssignResult,
  pos: Int32Array,
  neg: Int32Array,
  sampled: boolean,
): SamplingResult {
  return {
    posInds: pos,
    negInds: neg,
    posAssignedGtInds: pos.map((i) => assign.gtInds[i] - 1),
    sampled,
  };
}

/**
 * Takes every assigned prior: positives `gtInds > 0`, negatives `gtInds == 0`.
 *
 * @example
 * ```ts
 * new PseudoSampler().sample({ numGts: 1, gtInds: Int32Array.of(1, 0, -1), maxOverlaps: Float32Array.of(0.8, 0.2, 0),
 *   labels: Int32Array.of(2, -1, -1) }).posInds; // => Int32Array [0]
 * ```
 */
export class PseudoSampler {
  static readonly configSchema = z.object({}).passthrough();
  sample(assign: AssignResult): SamplingResult {
    return result(
      assign,
      collect(assign.gtInds, (v) => v > 0),
      collect(assign.gtInds, (v) => v === 0),
      false,
    );
  }
}

/** mulberry32: a tiny seeded generator, enough for shuffling sample indices. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function choose(inds: Int32Array, k: number, rand: () => number): Int32Array {
  if (inds.length <= k) return inds;
  const a = Array.from(inds);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (a.length - i));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return Int32Array.from(a.slice(0, k).sort((x, y) => x - y));
}

export interface RandomSamplerOptions {
  /** Total samples per image. */
  num: number;
  /** Largest fraction of positives. */
  posFraction: number;
  /** At most `negPosUb * numPos` negatives (`< 0`: no bound). */
  negPosUb?: number;
  addGtAsProposals?: boolean;
  seed?: number;
}

/**
 * mmdet `AssignResult.add_gt_`: the assignment of `[gt; priors]` when the
 * `g` gt boxes are put in front of the priors as extra proposals: gt `j`
 * is assigned to itself (IoU 1) with its label.
 *
 * @example
 * ```ts
 * const a = addGtAsProposals({ numGts: 1, gtInds: Int32Array.of(0, 1), maxOverlaps: Float32Array.of(0.1, 0.6), labels: Int32Array.of(-1, 3) }, Int32Array.of(3));
 * a.gtInds; // => Int32Array [1, 0, 1]
 * ```
 */
export function addGtAsProposals(assign: AssignResult, gtLabels: Int32Array): AssignResult {
  const g = gtLabels.length;
  const n = assign.gtInds.length;
  const gtInds = new Int32Array(g + n);
  const maxOverlaps = new Float32Array(g + n);
  const labels = new Int32Array(g + n);
  for (let j = 0; j < g; j++) {
    gtInds[j] = j + 1;
    maxOverlaps[j] = 1;
    labels[j] = gtLabels[j]!;
  }
  gtInds.set(assign.gtInds, g);
  maxOverlaps.set(assign.maxOverlaps, g);
  labels.set(assign.labels, g);
  return { numGts: assign.numGts, gtInds, maxOverlaps, labels };
}

/**
 * mmdet `RandomSampler`: up to `num * posFraction` random positives, the rest
 * of `num` random negatives (bounded by `negPosUb * max(1, numPos)` when set).
 * With `addGtAsProposals`, the caller (a two-stage RoI head) first puts the
 * gt boxes in front of its proposals with {@link addGtAsProposals}; the
 * RPN rejects it (anchors are not proposals).
 */
export class RandomSampler {
  static readonly configSchema = z
    .object({
      num: z.number().int().positive(),
      posFraction: z.number().min(0).max(1),
      negPosUb: z.number().optional(),
      addGtAsProposals: z.boolean().optional(),
      seed: z.number().int().optional(),
    })
    .strict();
  readonly num: number;
  readonly posFraction: number;
  readonly negPosUb: number;
  /** Two-stage RoI heads put the gt boxes in front of the proposals before sampling (see {@link addGtAsProposals}). */
  readonly addGtAsProposals: boolean;
  private readonly rand: () => number;

  constructor(opts: RandomSamplerOptions) {
    this.num = opts.num;
    this.posFraction = opts.posFraction;
    this.negPosUb = opts.negPosUb ?? -1;
    this.addGtAsProposals = opts.addGtAsProposals ?? false;
    this.rand = mulberry32(opts.seed ?? 0);
  }

  sample(assign: AssignResult): SamplingResult {
    const pos = choose(
      collect(assign.gtInds, (v) => v > 0),
      Math.floor(this.num * this.posFraction),
      this.rand,
    );
    let numNeg = this.num - pos.length;
    if (this.negPosUb >= 0)
      numNeg = Math.min(numNeg, Math.floor(this.negPosUb * Math.max(1, pos.length)));
    const neg = choose(
      collect(assign.gtInds, (v) => v === 0),
      numNeg,
      this.rand,
    );
    return result(assign, pos, neg, true);
  }
}

TASK_UTILS.register(PseudoSampler, { name: 'PseudoSampler' });
TASK_UTILS.register(RandomSampler, { name: 'RandomSampler' });
