/**
 * A directory lock: one process at a time trains in a work dir. The lock is
 * a file `<dir>/.lock` created exclusively (O_EXCL), holding the holder's
 * pid, host, start time and command line. A lock whose holder is dead (same
 * host, pid not alive) is taken over with a message; a live holder makes
 * {@link acquireDirLock} fail at once, naming the directory and the holder.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureDir, FsError, fsReason, pidAlive } from './fs.js';

/** What a lock file holds. */
export interface LockHolder {
  pid: number;
  host: string;
  started: string;
  command: string;
}

/** The lock of another live process is held on the directory. */
export class DirLockedError extends Error {
  override name = 'DirLockedError';
  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `work dir ${dir} is in use by another run: pid ${holder.pid} on ${holder.host}, started ${holder.started} (${holder.command}); ` +
        `wait for it to finish, or give this run another --work-dir`,
    );
  }
}

/**
 * A held lock; {@link release} removes the lock file (also done when the
 * process exits), and the directory too when the lock created it and nothing
 * else was written there.
 */
export interface DirLock {
  readonly dir: string;
  readonly file: string;
  /** The holder whose stale lock was taken over, if any. */
  readonly tookOverFrom?: LockHolder;
  release(): void;
}

/** The lock file's name inside a locked directory. */
export const LOCK_NAME = '.lock';

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof h.pid !== 'number') return undefined;
    return {
      pid: h.pid,
      host: String(h.host ?? ''),
      started: String(h.started ?? ''),
      command: String(h.command ?? ''),
    };
  } catch {
    return undefined;
  }
}

function isStale(h: LockHolder | undefined): boolean {
  // An unreadable lock is one whose writer died before it wrote the pid.
  if (!h) return true;
  return h.host === os.hostname() && !pidAlive(h.pid);
}

function createExclusive(file: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new FsError(
      file,
      (e as NodeJS.ErrnoException).code,
      `cannot lock ${path.dirname(file)}: ${fsReason(e)}`,
    );
  }
  try {
    fs.writeSync(fd, JSON.stringify(holder));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * Moves a stale lock aside atomically (rename: of two processes taking over
 * the same stale lock only one succeeds) and removes it. Returns the stale
 * holder, or undefined when the lock changed in between (then the caller
 * tries again).
 */
function takeOver(file: string): { done: boolean; was?: LockHolder } {
  const aside = `${file}.${process.pid}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { done: false };
    throw new FsError(
      file,
      (e as NodeJS.ErrnoException).code,
      `cannot take over ${file}: ${fsReason(e)}`,
    );
  }
  const was = readHolder(aside);
  if (!isStale(was)) {
    // A live holder created its lock between our read and our rename: give it back.
    try {
      fs.linkSync(aside, file);
    } catch {
      // it holds a new lock already
    }
    fs.rmSync(aside, { force: true });
    throw new DirLockedError(path.dirname(file), was!);
  }
  fs.rmSync(aside, { force: true });
  return { done: true, was };
}

/** A lock file without a holder yet, created in the last seconds: its writer is writing it. */
function beingWritten(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs < 5000;
  } catch {
    return false;
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Locks `dir` (created if missing) for this process.
 *
 * @param command what the holder is doing, shown to a second run (default: this process's command line)
 * @throws DirLockedError when a live process holds the lock
 */
export function acquireDirLock(dir: string, command?: string): DirLock {
  const existed = fs.existsSync(dir);
  const abs = ensureDir(dir);
  const file = path.join(abs, LOCK_NAME);
  const holder: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    started: new Date().toISOString(),
    command: command ?? process.argv.slice(1).join(' '),
  };
  let tookOverFrom: LockHolder | undefined;
  for (let attempt = 0; attempt < 50; attempt++) {
    if (createExclusive(file, holder)) {
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.removeListener('exit', release);
        // Only our own lock is removed.
        if (readHolder(file)?.pid === process.pid) fs.rmSync(file, { force: true });
        // A directory made for the lock alone goes with it (a run that failed early leaves nothing).
        if (!existed) {
          try {
            fs.rmdirSync(abs);
          } catch {
            // the run wrote files into it
          }
        }
      };
      process.on('exit', release);
      return { dir: abs, file, tookOverFrom, release };
    }
    const current = readHolder(file);
    if (!current && beingWritten(file)) {
      sleepMs(50);
      continue;
    }
    if (current && current.pid === process.pid && current.host === holder.host)
      throw new Error(`work dir ${abs} is already locked by this process`);
    if (!isStale(current)) throw new DirLockedError(abs, current!);
    const t = takeOver(file);
    if (t.done) tookOverFrom = t.was ?? { pid: 0, host: '', started: '', command: '(unreadable)' };
  }
  throw new Error(
    `cannot lock work dir ${abs}: the lock file kept changing (several runs starting at once?)`,
  );
}
