/**
 * `fs.ts` for the browser build (scripts/build_browser.ts puts this file in
 * its place): a page has no file system, so every helper that touches one
 * says so, naming the path and what to do instead. The model path never
 * calls them there: checkpoints come in as bytes (`checkpointFromBytes`).
 */
import { FsError, fsReason } from './fs_error.js';

export { FsError, fsReason };

function noFileSystem(what: string, file: string): never {
  throw new FsError(
    file,
    'ENOSYS',
    `${what}(${JSON.stringify(file)}): the browser has no file system; pass bytes (an ArrayBuffer, File or URL) instead of a path`,
  );
}

export function ensureDir(dir: string): string {
  return noFileSystem('ensureDir', dir);
}

export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  void data;
  noFileSystem('writeFileAtomic', file);
}

export function appendFileNoFollow(file: string, text: string): void {
  void text;
  noFileSystem('appendFileNoFollow', file);
}

/** No process ids in a page: always false. */
export function pidAlive(pid: number): boolean {
  void pid;
  return false;
}

/** No folder to clean in a page: nothing removed. */
export function removeStaleTemps(dir: string): string[] {
  void dir;
  return [];
}

export function readFileBytes(file: string): Uint8Array {
  return noFileSystem('readFileBytes', file);
}

export function readTextIfExists(file: string): string | undefined {
  return noFileSystem('readTextIfExists', file);
}
