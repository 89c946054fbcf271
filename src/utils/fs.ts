/**
 * File-system helpers every writer in the project goes through: directory
 * creation that fails fast with the path and the reason (never the endless
 * loop Node's recursive mkdir falls into on special file systems such as
 * /proc), atomic writes that replace a path and never write through a
 * symbolic link, clean-up of temp files left by dead processes, and a
 * work-directory lock.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errCode, FsError, fsReason } from './fs_error.js';

export { FsError, fsReason };

/**
 * Creates `dir` and its missing parents, one level at a time, and fails at
 * once with the path and the reason: a part that is a file, a read-only or
 * full file system, or a file system that refuses new directories (/proc,
 * /sys) all name the directory that could not be made.
 */
export function ensureDir(dir: string): string {
  const abs = path.resolve(dir);
  const parts: string[] = [];
  let cur = abs;
  for (;;) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(cur);
    } catch (e) {
      const code = errCode(e);
      // ENOTDIR: a part above is a file, named when the walk up reaches it.
      if (code !== 'ENOENT' && code !== 'ENOTDIR')
        throw new FsError(cur, code, `cannot use directory ${cur}: ${fsReason(e)}`);
    }
    if (st) {
      if (!st.isDirectory())
        throw new FsError(
          cur,
          'ENOTDIR',
          `cannot create directory ${abs}: ${cur} is not a directory`,
        );
      break;
    }
    parts.push(cur);
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  for (const p of parts.reverse()) {
    try {
      fs.mkdirSync(p);
    } catch (e) {
      const code = errCode(e);
      if (code === 'EEXIST' && fs.statSync(p).isDirectory()) continue;
      const why =
        code === 'ENOENT'
          ? `the file system at ${path.dirname(p)} does not allow new directories (ENOENT)`
          : fsReason(e);
      throw new FsError(p, code, `cannot create directory ${p}: ${why}`);
    }
  }
  return abs;
}

const TMP_RE = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** The temp-file name {@link writeFileAtomic} uses for `file` in this process. */
function tempName(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`,
  );
}

function fsyncDir(dir: string): void {
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  }
}

/**
 * Atomically replaces `file` with `data`: a new temp file in the same folder
 * (created exclusively, so never through a link), fsync, rename over the
 * path, fsync the folder. A symbolic link at `file` is replaced by the new
 * file; what it pointed at is left alone. On any failure the temp file is
 * removed, the previous `file` is untouched, and the error names `file` and
 * the reason (ENOSPC, EROFS, ...).
 */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const abs = path.resolve(file);
  const dir = ensureDir(path.dirname(abs));
  const tmp = tempName(abs);
  let fd: number | undefined;
  try {
    fd = fs.openSync(
      tmp,
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL,
      0o644,
    );
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, abs);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw new FsError(abs, errCode(e), `cannot write ${abs}: ${fsReason(e)}`);
  }
  fsyncDir(dir);
}

/**
 * Appends `text` to `file` (created if missing) without following a symbolic
 * link at `file` (O_NOFOLLOW); a failure names the file and the reason.
 */
export function appendFileNoFollow(file: string, text: string): void {
  const c = fs.constants;
  try {
    const fd = fs.openSync(file, c.O_WRONLY | c.O_APPEND | c.O_CREAT | c.O_NOFOLLOW, 0o644);
    try {
      fs.writeSync(fd, text);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw new FsError(file, errCode(e), `cannot write ${file}: ${fsReason(e)}`);
  }
}

/** Whether a process with this pid is alive on this machine. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errCode(e) === 'EPERM';
  }
}

/**
 * Removes the temp files of interrupted {@link writeFileAtomic} calls in `dir`
 * whose writer process is dead (its own are kept). Returns the names removed.
 */
export function removeStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = TMP_RE.exec(n);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || pidAlive(pid)) continue;
    try {
      fs.unlinkSync(path.join(dir, n));
      removed.push(n);
    } catch {
      // another process removed it first
    }
  }
  return removed;
}

/** The bytes of `file`; a failure names the file and the reason. */
export function readFileBytes(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new FsError(file, errCode(e), `cannot read ${file}: ${fsReason(e)}`);
  }
}

/** The text of `file`, or undefined when there is no such file. */
export function readTextIfExists(file: string): string | undefined {
  if (!fs.existsSync(file)) return undefined;
  return fs.readFileSync(file, 'utf8');
}
