/**
 * Checks of a built data set: what its loading dropped
 * ({@link dropSummaries}), and, before training starts, that every image of a data set is there
 * and has a JPEG or PNG header that parses (headers only: nothing is
 * decoded), so that a bad file is found at once instead of when an
 * iteration reaches it.
 */
import { existsSync, statSync } from 'node:fs';
import { DatasetError } from './errors.js';
import { readImageSize } from './image_header.js';
import type { DataInfo } from './types.js';

/** What {@link checkImageFiles} walks: a data set with a data list, or a wrapper of data sets. */
interface Walkable {
  dataList?: readonly DataInfo[];
  dropSummary?: readonly string[];
  datasets?: readonly unknown[];
  dataset?: unknown;
}

function collect(ds: unknown, out: Map<string, DataInfo>): void {
  const ws: Walkable[] = [];
  leaves(ds, ws);
  for (const w of ws)
    for (const d of w.dataList ?? []) if (typeof d.imgPath === 'string') out.set(d.imgPath, d);
}

function leaves(ds: unknown, out: Walkable[]): void {
  if (typeof ds !== 'object' || ds === null) return;
  const w = ds as Walkable;
  if (Array.isArray(w.dataList) || Array.isArray(w.dropSummary)) out.push(w);
  else if (Array.isArray(w.datasets)) for (const d of w.datasets) leaves(d, out);
  else if (w.dataset !== undefined && w.dataset !== ds) leaves(w.dataset, out);
}

/**
 * The drop summary lines ({@link BaseDetDataset.dropSummary}) of a data set
 * or of the data sets a wrapper holds, in order; empty when nothing was dropped.
 */
export function dropSummaries(dataset: unknown): string[] {
  const out: Walkable[] = [];
  leaves(dataset, out);
  return out.flatMap((w) => {
    void w.dataList; // loads a lazy data set, which fills its summary
    return [...(w.dropSummary ?? [])];
  });
}

/** Why `file` cannot be used as an image, or null when its header parses. */
export function imageFileProblem(file: string): string | null {
  if (!existsSync(file)) return 'missing';
  if (!statSync(file).isFile()) return 'not a file';
  return readImageSize(file) ? null : 'not a readable JPEG or PNG (header does not parse)';
}

/**
 * Every image of `dataset` (its `dataList`; ConcatDataset / RepeatDataset
 * are walked) that is missing or whose header does not parse, listed in one
 * error.
 *
 * @returns the number of images checked.
 * @throws DatasetError `2 of 5 images: cannot be read (headers checked before training):` then one `file: why` line per bad image.
 */
export function checkImageFiles(dataset: unknown): number {
  const infos = new Map<string, DataInfo>();
  collect(dataset, infos);
  const bad: string[] = [];
  for (const file of infos.keys()) {
    const why = imageFileProblem(file);
    if (why) bad.push(`${file}: ${why}`);
  }
  if (bad.length > 0)
    throw new DatasetError(
      `${bad.length} of ${infos.size} images`,
      '',
      `cannot be read (headers checked before training):\n  ${bad.join('\n  ')}`,
    );
  return infos.size;
}
