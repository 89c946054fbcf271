/**
 * One image's predictions as `tools/infer.ts` writes them to `results.json`
 * and the browser's `detect()` returns them: detections above a score
 * threshold with class names, boxes in original-image pixels and instance
 * masks as COCO RLE, and a label map's classes with their pixel counts.
 */
import { rleEncode, type RLE } from '../masks/index.js';
import type { InstanceData } from './instance_data.js';

/** One detection of a results entry. */
export interface DetectionEntry {
  /** `[x1, y1, x2, y2]` in original-image pixels, rounded to 0.01. */
  bbox: number[];
  /** Rounded to 1e-4. */
  score: number;
  label: number;
  className: string;
  /** The instance mask (Mask R-CNN) as COCO RLE of the original image. */
  segmentation?: RLE;
}

/** A label map's classes, in label order, with their pixel counts. */
export interface SemSegClassEntry {
  label: number;
  className: string;
  pixels: number;
}

/**
 * The detections with `score >= scoreThr`, in the model's order. `oriShape`
 * is `[h, w]` of the image the masks cover.
 *
 * @example
 * ```ts
 * const p = { bboxes: Float32Array.of(1, 2, 3.456, 4, 0, 0, 1, 1), scores: Float32Array.of(0.9, 0.1), labels: Int32Array.of(1, 0) };
 * detectionEntries(p, ['cat', 'dog'], 0.3, [4, 4]); // => [{ bbox: [1, 2, 3.46, 4], score: 0.9, label: 1, className: 'dog' }]
 * ```
 */
export function detectionEntries(
  p: InstanceData,
  classes: readonly string[],
  scoreThr: number,
  oriShape: [number, number],
): DetectionEntry[] {
  const [h, w] = oriShape;
  const keep = Array.from(p.scores.keys()).filter((k) => p.scores[k] >= scoreThr);
  return keep.map((k) => ({
    bbox: Array.from(p.bboxes.subarray(4 * k, 4 * k + 4), (v) => Math.round(v * 100) / 100),
    score: Math.round(p.scores[k] * 1e4) / 1e4,
    label: p.labels[k],
    className: classes[p.labels[k]] ?? String(p.labels[k]),
    ...(p.masks ? { segmentation: rleEncode(p.masks[k], h, w) } : {}),
  }));
}

/**
 * The labels present in a label map, with class names and pixel counts.
 *
 * @example
 * ```ts
 * semSegClasses(Uint8Array.of(0, 2, 2, 0, 0), ['bg', 'a', 'b']); // => [{ label: 0, className: 'bg', pixels: 3 }, { label: 2, className: 'b', pixels: 2 }]
 * ```
 */
export function semSegClasses(
  labelMap: Uint8Array,
  classes: readonly string[],
): SemSegClassEntry[] {
  const counts = new Map<number, number>();
  for (const v of labelMap) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => a[0] - b[0])
    .map(([label, pixels]) => ({ label, className: classes[label] ?? String(label), pixels }));
}
