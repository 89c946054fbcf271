/** mmengine's `ParamSchedulerHook`. */
import { z } from 'zod';
import { scheduledLr } from '../optim/schedulers.js';
import type { Runner } from '../runner.js';
import { Hook, type Priority } from './hook.js';
import { priority } from './priority.js';
import { HOOKS } from '../../registry.js';

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

HOOKS.register(ParamSchedulerHook, { name: 'ParamSchedulerHook' });
