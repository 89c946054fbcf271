/**
 * COCO JSON formats (ground-truth data set and results list), their
 * validation with clear errors, and file loading.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, formatValue, validateArgs } from '../config/validate.js';
import type { AnyRLE, RLE } from '../masks/index.js';

/** An image entry of a COCO data set. */
export interface CocoImage {
  id: number;
  width?: number;
  height?: number;
  file_name?: string;
  [key: string]: unknown;
}

/** A category entry of a COCO data set. */
export interface CocoCategory {
  id: number;
  name: string;
  [key: string]: unknown;
}

/** A ground-truth annotation of a COCO data set. */
export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** `[x, y, w, h]`. */
  bbox?: number[];
  /** Object area used for the small/medium/large ranges (COCO: the mask area). */
  area: number;
  iscrowd?: number | boolean;
  segmentation?: number[][] | AnyRLE;
  [key: string]: unknown;
}

/** A COCO ground-truth data set (`instances_*.json`). */
export interface CocoJson {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
  [key: string]: unknown;
}

/** One detection in COCO's results format. */
export interface CocoResult {
  image_id: number;
  category_id: number;
  score: number;
  /** `[x, y, w, h]`. */
  bbox?: number[];
  segmentation?: RLE | AnyRLE | number[][];
  [key: string]: unknown;
}

const num = z.number().refine(Number.isFinite, 'a finite number');
const rleSchema = z.object({
  size: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
  counts: z.union([z.string(), z.array(z.number().int().nonnegative())]),
});
const segmSchema = z.union([z.array(z.array(num)), rleSchema]);

/** zod schema of a ground-truth annotation. */
export const cocoAnnotationSchema = z.looseObject({
  id: num,
  image_id: num,
  category_id: num,
  bbox: z.array(num).length(4).optional(),
  area: num,
  iscrowd: z.union([z.number(), z.boolean()]).optional(),
  segmentation: segmSchema.optional(),
});

const imageSchema = z.looseObject({
  id: num,
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
});
const categorySchema = z.looseObject({ id: num, name: z.string() });

/** zod schema of a COCO data set. */
export const cocoDatasetSchema = z.looseObject({
  images: z.array(imageSchema),
  annotations: z.array(cocoAnnotationSchema),
  categories: z.array(categorySchema),
});

/** zod schema of one result. */
export const cocoResultSchema = z.looseObject({
  image_id: num,
  category_id: num,
  score: num,
  bbox: z.array(num).length(4).optional(),
  segmentation: segmSchema.optional(),
});

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isBox = (v: unknown) =>
  Array.isArray(v) && v.length === 4 && isNum(v[0]) && isNum(v[1]) && isNum(v[2]) && isNum(v[3]);
const isSegm = (v: unknown) => {
  if (Array.isArray(v)) return v.every((p) => Array.isArray(p) && p.every(isNum));
  if (v === null || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  return (
    Array.isArray(r.size) &&
    r.size.length === 2 &&
    (typeof r.counts === 'string' || Array.isArray(r.counts))
  );
};

function quickAnn(a: any): boolean {
  return (
    a !== null &&
    typeof a === 'object' &&
    isNum(a.id) &&
    isNum(a.image_id) &&
    isNum(a.category_id) &&
    isNum(a.area) &&
    (a.bbox === undefined || isBox(a.bbox)) &&
    (a.iscrowd === undefined || typeof a.iscrowd === 'number' || typeof a.iscrowd === 'boolean') &&
    (a.segmentation === undefined || isSegm(a.segmentation))
  );
}

function quickRes(a: any): boolean {
  return (
    a !== null &&
    typeof a === 'object' &&
    isNum(a.image_id) &&
    isNum(a.category_id) &&
    isNum(a.score) &&
    (a.bbox === undefined || isBox(a.bbox)) &&
    (a.segmentation === undefined || isSegm(a.segmentation))
  );
}

/** A bbox that is an array of another length than 4: zod would say only `length >= 4` or `<= 4`. */
function checkBoxLength(a: unknown, at: string): void {
  const b = (a as { bbox?: unknown } | null)?.bbox;
  if (Array.isArray(b) && b.length !== 4)
    throw new ConfigError(`${at}.bbox`, '[x, y, w, h] (4 numbers)', formatValue(b));
}

function withFile<T>(file: string | undefined, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ConfigError && file)
      throw new ConfigError(e.path, e.expected, e.actual, e.cause, file);
    throw e;
  }
}

/**
 * Check a parsed COCO data set; returns it typed. Large files are checked by
 * a fast pass first; the first bad element is reported through zod.
 *
 * @throws ConfigError naming `file` and the JSON path, e.g.
 * `gt.json: annotations[3].area: expected number, got undefined (missing)`.
 * @example
 * ```ts
 * parseCocoDataset({ images: [], annotations: [], categories: [] }); // => { images: [], annotations: [], categories: [] } (the same object)
 * ```
 */
export function parseCocoDataset(data: unknown, file?: string): CocoJson {
  return withFile(file, () => {
    const d = data as any;
    if (d === null || typeof d !== 'object' || Array.isArray(d)) {
      throw new ConfigError(
        '(root)',
        'a COCO data set object {images, annotations, categories}',
        formatValue(d),
      );
    }
    if (!Array.isArray(d.annotations) || !Array.isArray(d.images) || !Array.isArray(d.categories)) {
      validateArgs(cocoDatasetSchema, data, '', 'a COCO data set');
    }
    d.annotations.forEach((a: unknown, i: number) => {
      if (quickAnn(a)) return;
      checkBoxLength(a, `annotations[${i}]`);
      validateArgs(cocoAnnotationSchema, a, `annotations[${i}]`);
    });
    d.images.forEach((a: unknown, i: number) => validateArgs(imageSchema, a, `images[${i}]`));
    d.categories.forEach((a: unknown, i: number) =>
      validateArgs(categorySchema, a, `categories[${i}]`),
    );
    return d as CocoJson;
  });
}

/**
 * Check a parsed COCO results list (`[{image_id, category_id, bbox|segmentation, score}]`).
 *
 * @throws ConfigError naming `file` and the JSON path, e.g. `dt.json: [12].score: expected number, got "0.5"`.
 * @example
 * ```ts
 * parseCocoResults([{ image_id: 1, category_id: 1, bbox: [0, 0, 2, 2], score: 0.9 }]).length; // => 1
 * ```
 */
export function parseCocoResults(data: unknown, file?: string): CocoResult[] {
  return withFile(file, () => {
    if (!Array.isArray(data)) {
      const d = data as any;
      // a results file saved as a data set dict: use its annotations
      if (d && typeof d === 'object' && Array.isArray(d.annotations))
        return parseCocoResults(d.annotations, file);
      throw new ConfigError(
        '(root)',
        'an array of results [{image_id, category_id, bbox|segmentation, score}]',
        formatValue(data),
      );
    }
    data.forEach((a: unknown, i: number) => {
      if (quickRes(a)) return;
      checkBoxLength(a, `[${i}]`);
      validateArgs(cocoResultSchema, a, `[${i}]`);
    });
    return data as CocoResult[];
  });
}

/**
 * Read and parse a JSON file; a syntax error names the file and the position.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 *
 * readJsonFile('../shared/data/real/fce_small/gt_dataset.json'); // => { images: [...], annotations: [...], ... }
 * writeFileSync(join(tmpdir(), 'broken.json'), '{"images": [');
 * readJsonFile(join(tmpdir(), 'broken.json'));
 * // throws ConfigError: .../broken.json: (root): expected valid JSON, got Unexpected end of JSON input
 * ```
 */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as Error).message})`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError('(root)', 'valid JSON', (e as Error).message, e, file);
  }
}

/**
 * Load and check a COCO ground-truth file.
 *
 * @example
 * ```ts
 * loadCocoDataset('../shared/data/real/coco_val2014_100/instances_val2014_100.json').images.length; // => 100
 * ```
 */
export function loadCocoDataset(file: string): CocoJson {
  return parseCocoDataset(readJsonFile(file), file);
}

/**
 * Load and check a COCO results file.
 *
 * @example
 * ```ts
 * loadCocoResults('../shared/data/real/coco_val2014_100/instances_val2014_fakebbox100_results.json')[0];
 * // => { image_id: 42, category_id: 18, bbox: [258.15, 41.29, 348.26, 243.78], score: 0.236 }
 * ```
 */
export function loadCocoResults(file: string): CocoResult[] {
  return parseCocoResults(readJsonFile(file), file);
}
