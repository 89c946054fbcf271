/**
 * The Runner's checkpoints (mmengine's `Runner.save_checkpoint`, `resume`,
 * `load_checkpoint`): which file to resume from, saving everything a run's
 * trajectory depends on, restoring it, and loading weights only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { configToJSON } from '../config/index.js';
import { convertMmdet, convertTorchvision, detectMmdetModel } from '../converters/index.js';
import {
  CheckpointError,
  formatLoadReport,
  loadCheckpoint,
  loadWeightsFile,
  sidecarPath,
  saveCheckpoint as writeCheckpoint,
  type LoadReport,
} from '../nn/index.js';
import type { RngState } from '../utils/random.js';
import type { CheckpointContent } from './hooks/hook.js';
import type { OptimizerMeta } from './optim/optimizers.js';
import type { Runner } from './runner.js';
import { NonFiniteStateError, nonFiniteTensors } from './train_step.js';

/** The checkpoint to resume from, per `resume` / `loadFrom` (mmengine's rules), or undefined. */
export function checkpointToResume(runner: Runner): string | undefined {
  const r = runner.cfg.resume;
  if (typeof r === 'string' && r) return r;
  if (r !== true) return undefined;
  if (runner.cfg.loadFrom) return runner.cfg.loadFrom as string;
  const ptr = path.join(runner.workDir, 'last_checkpoint');
  if (!fs.existsSync(ptr)) {
    runner.logger.info(`resume: no ${ptr}; starting from scratch`);
    return undefined;
  }
  const f = fs.readFileSync(ptr, 'utf8').trim();
  return path.isAbsolute(f) ? f : path.join(runner.workDir, f);
}

/** On resume, the seed the checkpoint was trained with (so that the data order continues). */
export function adoptCheckpointSeed(runner: Runner, file: string): void {
  const side = sidecarPath(file);
  if (!fs.existsSync(side)) return;
  try {
    const meta = JSON.parse(fs.readFileSync(side, 'utf8')) as { rng?: { seed?: number } };
    const s = meta.rng?.seed;
    if (typeof s === 'number' && s !== runner.seed) {
      runner.logger.info(
        `resume: the checkpoint was trained with seed ${s}; using it instead of ${runner.seed} so the data order continues`,
      );
      runner.seed = s;
      runner.cfg.randomness = { ...(runner.cfg.randomness ?? {}), seed: s };
    }
  } catch {
    // loadCheckpoint reports a corrupt sidecar with its file name.
  }
}

/**
 * Saves the model, the optimizer moments, the counters, the generators'
 * states and every hook's state to `file` (safetensors + JSON sidecar,
 * each written atomically).
 */
export async function saveRunnerCheckpoint(
  runner: Runner,
  file: string,
  extraMeta: Record<string, unknown> = {},
): Promise<void> {
  const content: CheckpointContent = { hooks: {}, tensors: new Map(), meta: {} };
  await runner.callHook('beforeSaveCheckpoint', content);
  const optimizerState = new Map(runner.optimWrapper?.stateTensors() ?? []);
  for (const [k, t] of content.tensors) optimizerState.set(`hook:${k}`, t);
  const meta = {
    ...content.meta,
    ...extraMeta,
    epoch: runner.epoch,
    iter: runner.iter,
    innerIter: runner.innerIter,
    config: JSON.parse(configToJSON(runner.cfg)) as unknown,
    optimizer: runner.optimWrapper?.stateMeta(),
    scheduler: { epoch: runner.epoch, iter: runner.iter, lr: runner.optimWrapper?.optimizer.lr },
    rng: {
      seed: runner.seed,
      engine: runner.rng.getState(),
      dataEpoch: runner.epoch,
      dataIter: runner.innerIter,
    },
    hooks: content.hooks,
    metrics: runner.lastMetrics,
    backend: tf.getBackend(),
    time: new Date().toISOString(),
  };
  const state = runner.model.stateDict();
  if (runner.dist.worldSize > 1) assertSameOnEveryWorker(runner, state, optimizerState);
  // Never write a diverged run's weights: the previous checkpoints stay the ones to resume from.
  const bad = nonFiniteTensors(state, optimizerState);
  if (bad.length) throw new NonFiniteStateError(file, bad, runner.iter);
  // In data-parallel training rank 0 writes; the others only took part in the check.
  if (runner.isMain) writeCheckpoint(file, { state, optimizerState, meta });
}

/**
 * Data-parallel training keeps the weights and the optimizer state identical
 * on every worker; this checks it (it is not assumed) at every checkpoint: a
 * fingerprint of each tensor (sum and sum of squares in float64) from every
 * worker, compared with rank 0's.
 */
function assertSameOnEveryWorker(runner: Runner, ...maps: Map<string, tf.Tensor>[]): void {
  const names: string[] = [];
  const prints: number[] = [];
  for (const m of maps)
    for (const [name, t] of m) {
      if (t.dtype !== 'float32') continue;
      const a = t.dataSync();
      let s = 0;
      let q = 0;
      for (let i = 0; i < a.length; i++) {
        s += a[i];
        q += a[i] * a[i];
      }
      names.push(name);
      prints.push(s, q);
    }
  const all = runner.dist.allGather(prints);
  for (let w = 1; w < all.length; w++) {
    const i = all[w].findIndex((v, k) => !Object.is(v, all[0][k]));
    if (i >= 0)
      throw new Error(
        `data-parallel training: worker ${w}'s ${names[i >> 1]} differs from worker 0's after iteration ${runner.iter} (the workers must apply identical updates)`,
      );
  }
}

/**
 * Restores a checkpoint for resuming: weights and buffers (strict),
 * optimizer moments and step counts, epoch/iteration and the position in
 * the epoch's data order, the engine's generator and every hook's state.
 */
export async function resumeRunner(runner: Runner, file: string): Promise<void> {
  const ck = loadCheckpoint(file);
  try {
    runner.model.loadStateDict(ck.state, { strict: true });
    const optTensors = new Map<string, tf.Tensor>();
    const hookTensors = new Map<string, tf.Tensor>();
    for (const [k, t] of ck.optimizerState) {
      if (k.startsWith('hook:')) hookTensors.set(k.slice(5), t);
      else optTensors.set(k, t);
    }
    const meta = ck.meta as Record<string, any>;
    if (typeof meta.iter !== 'number') {
      throw new CheckpointError(
        file,
        'no training state (its sidecar is missing: an interrupted write, or a weights-only file); use --load-from to take its weights only',
      );
    }
    if (runner.optimWrapper && meta.optimizer)
      runner.optimWrapper.loadState(optTensors, meta.optimizer as OptimizerMeta);
    runner.epoch = meta.epoch ?? 0;
    runner.iter = meta.iter ?? 0;
    runner.innerIter = meta.innerIter ?? 0;
    if (Array.isArray(meta.rng?.engine)) runner.rng.setState(meta.rng.engine as RngState);
    runner.lastMetrics = meta.metrics ?? {};
    if (meta.backend && meta.backend !== tf.getBackend()) {
      runner.logger.info(
        `resume: the checkpoint was written on the '${meta.backend}' backend, this run uses '${tf.getBackend()}'; the continuation is close but not bit-identical`,
      );
    }
    await runner.callHook('afterLoadCheckpoint', {
      hooks: meta.hooks ?? {},
      tensors: hookTensors,
      meta,
    } satisfies CheckpointContent);
    runner.logger.info(
      `resumed from ${file}: epoch ${runner.epoch}, iter ${runner.iter}${runner.innerIter ? ` (${runner.innerIter} into epoch ${runner.epoch + 1})` : ''}`,
    );
  } finally {
    for (const t of ck.state.values()) t.dispose();
    for (const t of ck.optimizerState.values()) t.dispose();
  }
}

/**
 * Loads weights only (fine-tuning): every tensor whose name and shape
 * match; the rest are reported (and kept in {@link loadReport}).
 */
export async function loadRunnerWeights(runner: Runner, file: string): Promise<LoadReport> {
  // a torchvision or mmdetection .pth is converted on loading, as tools/convert_checkpoint.ts would
  const ck = loadWeightsFile(file, (sd) => {
    const mmdet = detectMmdetModel(sd.keys());
    return mmdet
      ? convertMmdet(sd, mmdet, { disposeSource: true }).state
      : convertTorchvision(sd, undefined, { disposeSource: true }).state;
  });
  try {
    const report = runner.model.loadStateDict(ck.state, { strict: false });
    runner.loadReport = report;
    runner.logger.info(`load from ${file}: ${formatLoadReport(report)}`);
    await runner.callHook('afterLoadCheckpoint', {
      hooks: {},
      tensors: new Map(),
      meta: { loadFrom: file },
    } satisfies CheckpointContent);
    return report;
  } finally {
    for (const t of ck.state.values()) t.dispose();
    for (const t of ck.optimizerState.values()) t.dispose();
  }
}
