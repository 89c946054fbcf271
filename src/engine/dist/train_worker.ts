/**
 * One worker thread of a data-parallel training (started by
 * {@link trainDataParallel}): runs the job as rank `rank` of the shared
 * collective; rank 0 logs to the console and writes the files.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runTrainJob, type TrainJob } from '../train_job.js';
import { SharedMemoryCollective, type SharedMemoryInit } from './collective.js';

const { job, rank, init, lockFile } = workerData as {
  job: TrainJob;
  rank: number;
  init: SharedMemoryInit;
  lockFile: string;
};

const dist = new SharedMemoryCollective(init, rank);
const silent = { write: () => true, isTTY: false };
const result = await runTrainJob(job, {
  dist,
  // The launcher holds the work dir's lock for every worker.
  workDirLock:
    rank === 0 ? { dir: job.workDir!, file: lockFile, release: () => undefined } : undefined,
  noFiles: rank !== 0,
  console: rank === 0 ? undefined : silent,
  announce: rank === 0,
});
parentPort!.postMessage({ done: result });
