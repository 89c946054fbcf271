/**
 * Hooks in the manner of mmengine's `Hook`: one no-op method per stage of a
 * run; a concrete hook overrides only the stages it needs. Hooks run in
 * order of priority (lower number first; equal priorities keep their
 * registration order).
 *
 * @example
 * ```ts
 * class PrintLossHook extends Hook {
 *   override priority: Priority = 'LOW';
 *   override afterTrainIter(runner: Runner, _i: number, _b: unknown, out?: TrainStepOutputs) {
 *     if (runner.iter % 10 === 0) console.log(runner.iter, out?.losses.loss);
 *   }
 * }
 * HOOKS.register(PrintLossHook);
 * // config: customHooks: [{ type: 'PrintLossHook' }]
 * ```
 */
import type { Runner } from '../runner.js';

/** mmengine's priority names and numbers. */
export const PRIORITY = {
  HIGHEST: 0,
  VERY_HIGH: 10,
  HIGH: 30,
  ABOVE_NORMAL: 40,
  NORMAL: 50,
  BELOW_NORMAL: 60,
  LOW: 70,
  VERY_LOW: 90,
  LOWEST: 100,
} as const;

export type PriorityName = keyof typeof PRIORITY;
/** A priority name or a number in [0, 100]. */
export type Priority = PriorityName | number;

/** The number of a priority. */
export function priorityValue(p: Priority): number {
  if (typeof p === 'number') {
    if (!(p >= 0 && p <= 100)) throw new Error(`hook priority must be in [0, 100], got ${p}`);
    return p;
  }
  const v = PRIORITY[p];
  if (v === undefined)
    throw new Error(
      `unknown hook priority '${String(p)}' (use ${Object.keys(PRIORITY).join(', ')} or a number)`,
    );
  return v;
}

/** What one training iteration produced, passed to `afterTrainIter`. */
export interface TrainStepOutputs {
  /** Every logged term (loss terms, their total as `loss`, and other scalars). */
  losses: Record<string, number>;
  /** Learning rate used for this step (the base group's). */
  lr: number;
  /** Gradient norm before clipping (when clipping is on). */
  gradNorm?: number;
}

/** A checkpoint being saved or just loaded: hooks add or read their state here. */
export interface CheckpointContent {
  /** JSON state by hook name (saved in the sidecar under `hooks`). */
  hooks: Record<string, unknown>;
  /** Extra tensors by name (saved in the tensor file). */
  tensors: Map<string, import('@tensorflow/tfjs-core').Tensor>;
  meta: Record<string, unknown>;
}

type Awaitable = void | Promise<void>;

/** Base class of hooks: every stage is a no-op. */
export class Hook {
  /** Order among hooks (mmengine's numbers; lower runs first). */
  priority: Priority = 'NORMAL';

  beforeRun(_runner: Runner): Awaitable {}
  afterRun(_runner: Runner): Awaitable {}
  beforeTrain(_runner: Runner): Awaitable {}
  afterTrain(_runner: Runner): Awaitable {}
  beforeTrainEpoch(_runner: Runner): Awaitable {}
  afterTrainEpoch(_runner: Runner): Awaitable {}
  beforeTrainIter(_runner: Runner, _batchIdx: number, _dataBatch: unknown): Awaitable {}
  afterTrainIter(
    _runner: Runner,
    _batchIdx: number,
    _dataBatch: unknown,
    _outputs: TrainStepOutputs,
  ): Awaitable {}
  beforeVal(_runner: Runner): Awaitable {}
  afterVal(_runner: Runner): Awaitable {}
  beforeValEpoch(_runner: Runner): Awaitable {}
  afterValEpoch(_runner: Runner, _metrics: Record<string, number>): Awaitable {}
  beforeValIter(_runner: Runner, _batchIdx: number, _dataBatch: unknown): Awaitable {}
  afterValIter(
    _runner: Runner,
    _batchIdx: number,
    _dataBatch: unknown,
    _outputs: unknown[],
  ): Awaitable {}
  beforeTest(_runner: Runner): Awaitable {}
  afterTest(_runner: Runner): Awaitable {}
  beforeTestEpoch(_runner: Runner): Awaitable {}
  afterTestEpoch(_runner: Runner, _metrics: Record<string, number>): Awaitable {}
  beforeTestIter(_runner: Runner, _batchIdx: number, _dataBatch: unknown): Awaitable {}
  afterTestIter(
    _runner: Runner,
    _batchIdx: number,
    _dataBatch: unknown,
    _outputs: unknown[],
  ): Awaitable {}
  beforeSaveCheckpoint(_runner: Runner, _checkpoint: CheckpointContent): Awaitable {}
  afterLoadCheckpoint(_runner: Runner, _checkpoint: CheckpointContent): Awaitable {}
}

/** Names of the stages, for {@link Runner.callHook}. */
export type HookStage = Exclude<keyof Hook, 'priority'>;
