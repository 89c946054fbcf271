/**
 * The work dir a training owns: locked for the run (one training per work
 * dir), cleared of temp files that dead processes left, and guarded against
 * a rerun that would silently mix its checkpoints with an earlier run's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_FILE_RE } from '../config/config.js';
import { removeStaleTemps } from '../utils/fs.js';
import { acquireDirLock, type DirLock } from '../utils/lock.js';
import type { Runner } from './runner.js';

/** The name a config file gives its run: its base name without the extension (`config` without a file). */
export function configNameOf(configFile: string | undefined): string {
  return configFile ? path.basename(configFile).replace(CONFIG_FILE_RE, '') : 'config';
}

/** The absolute work dir of a run: `workDir` given, else the config's, else `work_dirs/<config name>`. */
export function resolveWorkDir(
  cfgWorkDir: unknown,
  configFile: string | undefined,
  workDir?: string,
): string {
  const fromCfg = typeof cfgWorkDir === 'string' && cfgWorkDir ? cfgWorkDir : undefined;
  return path.resolve(workDir ?? fromCfg ?? path.join('work_dirs', configNameOf(configFile)));
}

/** The checkpoints (and the `last_checkpoint` pointer) of earlier runs in `dir`, sorted. */
export function existingCheckpoints(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n === 'last_checkpoint' || /^[^.].*\.safetensors$/.test(n)).sort();
}

/**
 * Takes the work dir for a training: the lock (a live holder fails at once,
 * naming it; a dead one's lock is taken over with a message), removal of
 * stale temp files, and the rerun rule: a work dir that holds checkpoints is
 * only trained in again with `resume` (continue) or `overwrite` (start over,
 * with a warning).
 *
 * @returns the lock, to release when the training ends
 */
export function takeWorkDir(
  runner: Runner,
  resuming: boolean,
  overwrite: boolean,
  held?: DirLock,
): DirLock {
  const dir = runner.workDir;
  if (held && held.dir !== dir)
    throw new Error(`Runner: the lock given is for ${held.dir}, not the work dir ${dir}`);
  const lock = held ?? acquireDirLock(dir);
  try {
    if (lock.tookOverFrom)
      runner.logger.info(
        `work dir ${dir}: took over the lock of pid ${lock.tookOverFrom.pid} (started ${lock.tookOverFrom.started || 'at an unknown time'}), which is no longer running`,
      );
    const removed = removeStaleTemps(dir);
    if (removed.length)
      runner.logger.info(
        `work dir ${dir}: removed ${removed.length} temp file(s) of interrupted writes: ${removed.slice(0, 3).join(', ')}${removed.length > 3 ? ', ...' : ''}`,
      );
    const ckpts = existingCheckpoints(dir);
    if (ckpts.length && !resuming) {
      const list = `${ckpts.slice(0, 4).join(', ')}${ckpts.length > 4 ? `, ... (${ckpts.length} files)` : ''}`;
      if (!overwrite)
        throw new Error(
          `work dir ${dir} already holds checkpoints of an earlier run (${list}): ` +
            `pass --resume to continue that run, --overwrite to start over in it (its checkpoints will be replaced), or another --work-dir`,
        );
      runner.logger.info(
        `warning: work dir ${dir} holds checkpoints of an earlier run (${list}); starting over in it (overwrite): those of the same name are replaced as this run saves`,
      );
    }
    return lock;
  } catch (e) {
    lock.release();
    throw e;
  }
}
