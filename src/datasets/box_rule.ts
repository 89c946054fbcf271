/**
 * The one rule by which the annotation loaders (COCO, VOC) treat a box
 * against its image: the box is clipped to the image; what is left must be
 * at least one pixel wide and high, otherwise the box is dropped (counted
 * and reported by the loader).
 */

/** `[x1, y1, x2, y2]` clipped to a `width` x `height` image, or null when less than a pixel of it is inside. */
export function clipBoxToImage(
  bbox: readonly [number, number, number, number],
  width: number,
  height: number,
): [number, number, number, number] | null {
  const [x1, y1, x2, y2] = bbox;
  const c: [number, number, number, number] = [
    Math.max(0, Math.min(x1, width)),
    Math.max(0, Math.min(y1, height)),
    Math.max(0, Math.min(x2, width)),
    Math.max(0, Math.min(y2, height)),
  ];
  return c[2] - c[0] >= 1 && c[3] - c[1] >= 1 ? c : null;
}
