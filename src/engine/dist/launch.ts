/**
 * Data-parallel training on one machine: `tools/train.ts CONFIG --nproc N`
 * starts N worker threads, each with its own backend instance (its own wasm
 * heap), joined by a {@link SharedMemoryCollective}. The launcher holds the
 * work dir's lock, watches the workers, and stops the run as soon as one of
 * them fails or dies: the others leave their next collective operation with
 * the reason instead of waiting for ever.
 */
import { Worker } from 'node:worker_threads';
import type { DirLock } from '../../utils/lock.js';
import type { TrainJob, TrainJobResult } from '../train_job.js';
import { abortCollective, createSharedMemory } from './collective.js';

/**
 * A worker thread running `url`. A TypeScript file is loaded through tsx,
 * registered inside the worker first (a worker does not inherit the loader
 * hooks of `node --import tsx`).
 */
export function startWorker(url: URL, workerData: unknown): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  const api = import.meta.resolve('tsx/esm/api');
  const boot = `import { register } from ${JSON.stringify(api)};\nregister();\nawait import(${JSON.stringify(url.href)});\n`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData });
}

/** A worker of a data-parallel training failed; the run stopped. */
export class WorkerFailedError extends Error {
  override name = 'WorkerFailedError';
  constructor(
    readonly rank: number,
    readonly reason: string,
  ) {
    super(`data-parallel training stopped: worker ${rank} ${reason}`);
  }
}

/**
 * Runs `job` on `nproc` workers (the job's `workDir` must be set and locked
 * by the caller). Resolves with rank 0's result; rejects with a
 * {@link WorkerFailedError} naming the first worker that failed.
 */
export async function trainDataParallel(
  job: TrainJob,
  nproc: number,
  lock: DirLock,
): Promise<TrainJobResult> {
  if (!job.workDir) throw new Error('trainDataParallel: the job needs its workDir');
  const init = createSharedMemory(nproc);
  const url = new URL('./train_worker.ts', import.meta.url);
  let result: TrainJobResult | undefined;
  let failure: WorkerFailedError | undefined;
  const workers: Worker[] = [];
  const stopAll = (rank: number, reason: string) => {
    if (failure) return;
    failure = new WorkerFailedError(rank, reason);
    abortCollective(init, `worker ${rank} ${reason}`);
    // Workers that are not waiting in a collective operation (e.g. decoding images) are stopped.
    setTimeout(() => {
      for (const w of workers) void w.terminate();
    }, 5000).unref();
  };
  await new Promise<void>((resolve) => {
    let exited = 0;
    for (let rank = 0; rank < nproc; rank++) {
      const w = startWorker(url, { job, rank, init, lockFile: lock.file });
      workers.push(w);
      w.on('message', (m: { done?: TrainJobResult }) => {
        if (m.done && rank === 0) result = m.done;
      });
      w.on('error', (e: Error) => {
        if (e.name !== 'CollectiveAbortedError') stopAll(rank, `failed: ${e.message}`);
      });
      w.on('exit', (code) => {
        if (code !== 0) stopAll(rank, `exited with code ${code}`);
        if (++exited === nproc) resolve();
      });
    }
  });
  if (failure) throw failure;
  if (!result) throw new Error('data-parallel training: worker 0 ended without a result');
  return result;
}
