/**
 * The error every file-system helper throws (`fs.ts`, and `fs.browser.ts` in
 * the browser build), with the error codes in words.
 */

/** A file-system failure, naming the path and the reason in words. */
export class FsError extends Error {
  override name = 'FsError';
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'it is a directory',
  EEXIST: 'it already exists',
  ELOOP: 'it is a symbolic link',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'input/output error',
};

/** The reason an error code stands for, in words (the code itself when unknown). */
export function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && REASONS[code]) return `${REASONS[code]} (${code})`;
  return code ?? (e instanceof Error ? e.message : String(e));
}

/** The `code` of a Node system error (`ENOENT`, ...), if it has one. */
export function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}
