/** mmengine's `DistSamplerSeedHook`, accepted and inert. */
import { z } from 'zod';
import { Hook } from './hook.js';
import { priority } from './priority.js';
import { HOOKS } from '../../registry.js';

/** Accepted for mmdetection configs; the runner already seeds each epoch's order. */
export class DistSamplerSeedHook extends Hook {
  static readonly configSchema = z.strictObject({ priority });
}

HOOKS.register(DistSamplerSeedHook, { name: 'DistSamplerSeedHook' });
