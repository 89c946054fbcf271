/**
 * Errors of the data path. Every message names the file, the field and the
 * value, e.g. `data/VOC2007/Annotations/000005.xml: object[2].bndbox: missing`.
 */

/** A data file (annotation, image, split list) is wrong or missing. */
export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly detail: string,
    cause?: unknown,
  ) {
    super(`${file}${field ? `: ${field}` : ''}: ${detail}`, cause ? { cause } : undefined);
    this.name = 'DatasetError';
  }
}

/** Short printable form of a data value for error messages. */
export function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(v);
  }
}

/**
 * Counts items skipped under `skipInvalid: true` and keeps the first few
 * messages, so a loader can report "skipped 3 of 5011 images (first: ...)".
 */
export class SkipLog {
  count = 0;
  readonly messages: string[] = [];
  constructor(private readonly keep = 20) {}
  add(message: string): void {
    this.count++;
    if (this.messages.length < this.keep) this.messages.push(message);
  }
}
