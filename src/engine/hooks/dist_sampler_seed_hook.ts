/** mmengine's `DistSamplerSeedHook`. */
import { z } from 'zod';
import { Hook } from './hook.js';
import { priority } from './priority.js';
import { HOOKS } from '../../registry.js';
import type { Runner } from '../runner.js';

/** What one worker is about to draw in an epoch. */
interface EpochDraw {
  epoch: number;
  seed: number;
  batches: number;
  samples: number;
}

/**
 * mmengine sets the distributed sampler's epoch here. Our loaders take the
 * epoch as an argument (an epoch's order is a function of the seed and the
 * epoch, with no sampler state to set), so in data-parallel training the
 * hook checks instead, before every epoch, that every worker is about to
 * draw the same epoch of the same seeded order, with as many batches over
 * a data set of the same size: what makes the shards partition the epoch.
 * A mismatch stops the training with the workers' values.
 */
export class DistSamplerSeedHook extends Hook {
  static readonly configSchema = z.strictObject({ priority });

  override beforeTrainEpoch(r: Runner): void {
    if (r.dist.worldSize === 1) return;
    const ds = r.trainLoader?.dataset as { length?: number } | undefined;
    const mine: EpochDraw = {
      epoch: r.epoch,
      seed: r.seed,
      batches: r.trainLoader?.length ?? -1,
      samples: ds?.length ?? -1,
    };
    const all = r.dist.allGather(mine);
    const key = (d: EpochDraw) => `${d.epoch}/${d.seed}/${d.batches}/${d.samples}`;
    if (all.every((d) => key(d) === key(all[0]))) return;
    const show = (d: EpochDraw, i: number) =>
      `worker ${i}: epoch ${d.epoch}, seed ${d.seed}, ${d.batches} batches of ${d.samples} samples`;
    throw new Error(
      `DistSamplerSeedHook: the workers would not draw disjoint shards of one epoch (${all.map(show).join('; ')})`,
    );
  }
}

HOOKS.register(DistSamplerSeedHook, { name: 'DistSamplerSeedHook' });
