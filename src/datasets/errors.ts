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
  // JSON.stringify writes Infinity and NaN (e.g. a JSON `1e999`) as `null`.
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
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

/** One kind of dropped item: how many, in which files, and the first example. */
export interface DropEntry {
  count: number;
  files: Set<string>;
  example: string;
}

/**
 * What loading a data set left out, by kind (`objects of unknown class
 * 'trianglee'`, `boxes outside the image`, ...), so that the loader can print
 * one line per kind: "dropped 37 objects of unknown class 'trianglee' in 12
 * files, e.g. Annotations/000003.xml".
 */
export class DropLog {
  readonly entries = new Map<string, DropEntry>();

  /** Counts one dropped item of kind `what` from `file`; `example` defaults to the file. */
  add(what: string, file: string, example = file): void {
    const e = this.entries.get(what);
    if (e) {
      e.count++;
      e.files.add(file);
    } else this.entries.set(what, { count: 1, files: new Set([file]), example });
  }

  /** One line per kind, e.g. `dropped 2 boxes outside the image in 1 file, e.g. a.xml: object[1] ...`. */
  lines(): string[] {
    return [...this.entries].map(([what, e]) => {
      const n = e.files.size;
      return `dropped ${e.count} ${what} in ${n} file${n === 1 ? '' : 's'}, e.g. ${e.example}`;
    });
  }
}
