/**
 * Consistency checks of a COCO ground truth that pycocotools does not make
 * (it scores such files as they are): what `tools/eval_coco.ts` reports as
 * counted warnings, and as errors with `--strict`.
 */
import { toRuns, type AnyRLE } from '../masks/index.js';
import type { CocoJson, CocoResult } from './coco_format.js';

/** One problem of a COCO ground truth: the JSON path and what is wrong there. */
export interface CocoProblem {
  /** JSON path, e.g. `annotations[3].bbox`. */
  path: string;
  /** Kind of problem, for counting. */
  kind:
    | 'duplicate image id'
    | 'missing image'
    | 'negative box size'
    | 'RLE size mismatch'
    | 'RLE counts mismatch'
    | 'unknown category';
  message: string;
}

/** The size / counts problems of one RLE segmentation of an image `h x w`. */
function rleProblems(
  seg: AnyRLE,
  path: string,
  img: { height?: number; width?: number } | undefined,
): CocoProblem[] {
  const out: CocoProblem[] = [];
  let runs: { h: number; w: number; cnts: Uint32Array };
  try {
    runs = toRuns(seg, path);
  } catch (e) {
    return [{ path, kind: 'RLE counts mismatch', message: (e as Error).message }];
  }
  if (img?.height !== undefined && img.width !== undefined) {
    if (runs.h !== img.height || runs.w !== img.width)
      out.push({
        path: `${path}.size`,
        kind: 'RLE size mismatch',
        message: `${path}.size: [${runs.h}, ${runs.w}] is not the image's [height, width] [${img.height}, ${img.width}]`,
      });
  }
  let total = 0;
  for (const c of runs.cnts) total += c;
  if (total !== runs.h * runs.w)
    out.push({
      path: `${path}.counts`,
      kind: 'RLE counts mismatch',
      message: `${path}.counts: runs cover ${total} pixels, the size [${runs.h}, ${runs.w}] has ${runs.h * runs.w}`,
    });
  return out;
}

/**
 * The problems of a COCO ground truth that pycocotools evaluates without a
 * word: a reused image id (its annotations attach to both entries),
 * annotations of an image that is not in `images`, boxes with a negative
 * width or height, RLE segmentations whose size is not the image's or whose
 * runs do not cover it exactly.
 *
 * @example
 * ```ts
 * checkCocoDataset({
 *   images: [{ id: 1, width: 4, height: 4 }, { id: 1, width: 4, height: 4 }],
 *   annotations: [{ id: 1, image_id: 7, category_id: 1, bbox: [0, 0, -2, 2], area: 4 }],
 *   categories: [{ id: 1, name: 'a' }],
 * }).map((p) => p.message);
 * // => ['images[1].id: 1 is already the id of images[0]', 'annotations[0].image_id: 7 is not the id of any image', 'annotations[0].bbox: negative width or height in [0, 0, -2, 2]']
 * ```
 */
export function checkCocoDataset(gt: CocoJson): CocoProblem[] {
  const out: CocoProblem[] = [];
  const first = new Map<number, number>();
  gt.images.forEach((img, i) => {
    const j = first.get(img.id);
    if (j === undefined) first.set(img.id, i);
    else
      out.push({
        path: `images[${i}].id`,
        kind: 'duplicate image id',
        message: `images[${i}].id: ${img.id} is already the id of images[${j}]`,
      });
  });
  gt.annotations.forEach((a, i) => {
    const at = `annotations[${i}]`;
    const j = first.get(a.image_id);
    if (j === undefined)
      out.push({
        path: `${at}.image_id`,
        kind: 'missing image',
        message: `${at}.image_id: ${a.image_id} is not the id of any image`,
      });
    const b = a.bbox;
    if (b && (b[2] < 0 || b[3] < 0))
      out.push({
        path: `${at}.bbox`,
        kind: 'negative box size',
        message: `${at}.bbox: negative width or height in [${b.join(', ')}]`,
      });
    const seg = a.segmentation;
    if (seg && !Array.isArray(seg))
      out.push(
        ...rleProblems(seg, `${at}.segmentation`, j === undefined ? undefined : gt.images[j]),
      );
  });
  return out;
}

/**
 * The problems of a results list that pycocotools scores without a word: a
 * `category_id` that is no category of the ground truth (the result is
 * dropped, not scored), an RLE segmentation whose size is not its image's
 * (it overlaps nothing, e.g. masks left at the network's input size) or
 * whose runs do not cover it. Paths are `results[j]...`; results of images
 * that are not in the ground truth are left to the evaluation (an error).
 *
 * @example
 * ```ts
 * checkCocoResults(
 *   { images: [{ id: 1, width: 4, height: 4 }], annotations: [], categories: [{ id: 1, name: 'a' }] },
 *   [{ image_id: 1, category_id: 0, bbox: [0, 0, 2, 2], score: 0.9 }],
 * ).map((p) => p.message);
 * // => ['results[0].category_id: 0 is not the id of any category (the result is not scored)']
 * ```
 */
export function checkCocoResults(gt: CocoJson, dt: readonly CocoResult[]): CocoProblem[] {
  const out: CocoProblem[] = [];
  const cats = new Set(gt.categories.map((c) => c.id));
  const imgs = new Map<number, CocoJson['images'][number]>();
  for (const img of gt.images) imgs.set(img.id, img);
  dt.forEach((d, j) => {
    const at = `results[${j}]`;
    if (!cats.has(d.category_id))
      out.push({
        path: `${at}.category_id`,
        kind: 'unknown category',
        message: `${at}.category_id: ${d.category_id} is not the id of any category (the result is not scored)`,
      });
    const seg = d.segmentation;
    const img = imgs.get(d.image_id);
    if (seg && !Array.isArray(seg) && img) out.push(...rleProblems(seg, `${at}.segmentation`, img));
  });
  return out;
}

/**
 * One line per kind of problem with its count and first place, e.g.
 * `2 annotations[..].image_id: not the id of any image (first: annotations[0].image_id: 7 ...)`.
 *
 * @example
 * ```ts
 * summarizeCocoProblems([
 *   { path: 'images[1].id', kind: 'duplicate image id', message: 'images[1].id: 1 is already the id of images[0]' },
 * ]);
 * // => ['1 duplicate image id, e.g. images[1].id: 1 is already the id of images[0]']
 * ```
 */
export function summarizeCocoProblems(problems: readonly CocoProblem[]): string[] {
  const byKind = new Map<string, CocoProblem[]>();
  for (const p of problems) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p]);
  return [...byKind].map(([kind, ps]) => `${ps.length} ${kind}, e.g. ${ps[0].message}`);
}
