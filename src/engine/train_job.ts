/**
 * One training as tools/train.ts describes it (config file, overrides and
 * flags), run in this thread: by tools/train.ts itself, or by each worker of
 * a data-parallel training (`--nproc`).
 */
import { setBackend, type BackendName } from '../backend/index.js';
import { loadConfig } from '../config/index.js';
import type { DirLock } from '../utils/lock.js';
import type { Collective } from './dist/collective.js';
import type { ConsoleLike } from './logging.js';
import { registerAllModules } from './register_all.js';
import { Runner } from './index.js';

/** What tools/train.ts was asked to do (plain data: it is posted to worker threads). */
export interface TrainJob {
  configFile: string;
  cfgOptions: string[];
  allowImports: boolean;
  workDir?: string;
  seed?: number;
  deterministic?: boolean;
  autoScaleLr?: boolean;
  /** A checkpoint, or true for `<work dir>/last_checkpoint`. */
  resume?: string | true;
  loadFrom?: string;
  backend?: string;
  overwrite: boolean;
}

/** How the job runs here: the work dir's lock (taken by the caller), the workers, the console. */
export interface TrainJobContext {
  workDirLock?: DirLock;
  dist?: Collective;
  /** Write no files (the data-parallel workers other than rank 0). */
  noFiles?: boolean;
  console?: ConsoleLike;
  /** Print the backend line (default true). */
  announce?: boolean;
}

/** What a finished job reports. */
export interface TrainJobResult {
  iter: number;
  epoch: number;
  workDir: string;
  /** The run's log dir (`<work dir>/<timestamp>`; rank 0's in data-parallel training). */
  logDir: string;
}

/** Loads the config, applies the job's overrides, picks the backend and trains. */
export async function runTrainJob(
  job: TrainJob,
  ctx: TrainJobContext = {},
): Promise<TrainJobResult> {
  await registerAllModules();
  const cfg = await loadConfig(job.configFile, {
    cfgOptions: job.cfgOptions,
    allowImports: job.allowImports,
  });
  if (job.workDir) cfg.workDir = job.workDir;
  if (job.seed !== undefined) cfg.randomness = { ...(cfg.randomness ?? {}), seed: job.seed };
  if (job.autoScaleLr)
    cfg.autoScaleLr = { baseBatchSize: 16, ...(cfg.autoScaleLr ?? {}), enable: true };
  if (job.deterministic) cfg.randomness = { ...(cfg.randomness ?? {}), deterministic: true };
  if (job.resume !== undefined) cfg.resume = job.resume;
  if (job.loadFrom) cfg.loadFrom = job.loadFrom;
  const backend = (job.backend ?? cfg.backend ?? 'auto') as BackendName;
  const choice = await setBackend(backend);
  if (ctx.announce ?? true) console.log(`backend: ${choice.reason}`);
  cfg.backend = backend;
  const runner = new Runner(cfg, {
    configFile: job.configFile,
    overwrite: job.overwrite,
    workDirLock: ctx.workDirLock,
    dist: ctx.dist,
    noFiles: ctx.noFiles,
    console: ctx.console,
  });
  await runner.train();
  return { iter: runner.iter, epoch: runner.epoch, workDir: runner.workDir, logDir: runner.logDir };
}
