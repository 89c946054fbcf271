/** mmengine's `RuntimeInfoHook`, accepted and inert. */
import { z } from 'zod';
import { Hook } from './hook.js';
import { priority } from './priority.js';
import { HOOKS } from '../../registry.js';

/** Accepted for mmdetection configs; the runner keeps its runtime information itself. */
export class RuntimeInfoHook extends Hook {
  static readonly configSchema = z.strictObject({ priority });
}

HOOKS.register(RuntimeInfoHook, { name: 'RuntimeInfoHook' });
