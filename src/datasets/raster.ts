/**
 * Scanline polygon rasterisation and polygon clipping for the synthetic
 * data set (and for drawing). A pixel (x, y) is inside when its centre
 * (x + 0.5, y + 0.5) is inside the polygon by the even-odd rule, so two
 * polygons that share an edge never both cover a pixel.
 */

/** A polygon as a flat list `[x0, y0, x1, y1, ...]`. */
export type FlatPolygon = number[];

/**
 * Call `span(y, x0, x1)` for every run of pixels `[x0, x1)` of row `y` whose
 * centres lie inside the union of `polygons` (even-odd per polygon list),
 * clipped to a `width` x `height` image.
 *
 * @example
 * ```ts
 * const spans: number[][] = [];
 * fillSpans([[1, 1, 4, 1, 4, 3, 1, 3]], 8, 8, (y, a, b) => spans.push([y, a, b]));
 * spans; // => [[1, 1, 4], [2, 1, 4]]
 * ```
 */
export function fillSpans(
  polygons: readonly FlatPolygon[],
  width: number,
  height: number,
  span: (y: number, x0: number, x1: number) => void,
): void {
  let minY = Infinity,
    maxY = -Infinity;
  for (const p of polygons)
    for (let i = 1; i < p.length; i += 2) {
      if (p[i] < minY) minY = p[i]!;
      if (p[i] > maxY) maxY = p[i]!;
    }
  const y0 = Math.max(0, Math.floor(minY - 0.5));
  const y1 = Math.min(height - 1, Math.ceil(maxY));
  const xs: number[] = [];
  for (let y = y0; y <= y1; y++) {
    const cy = y + 0.5;
    xs.length = 0;
    for (const p of polygons) {
      const n = p.length >> 1;
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const ax = p[2 * j],
          ay = p[2 * j + 1],
          bx = p[2 * i],
          by = p[2 * i + 1];
        if (ay <= cy !== by <= cy) xs.push(ax + ((cy - ay) * (bx - ax)) / (by - ay));
      }
    }
    if (xs.length < 2) continue;
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // Pixels whose centre x + 0.5 lies in [xs[k], xs[k+1]).
      const a = Math.max(0, Math.ceil(xs[k] - 0.5));
      const b = Math.min(width, Math.ceil(xs[k + 1] - 0.5));
      if (b > a) span(y, a, b);
    }
  }
}

/** Rasterise polygons to a row-major 0/1 mask. */
export function rasterizePolygons(
  polygons: readonly FlatPolygon[],
  width: number,
  height: number,
): Uint8Array {
  const m = new Uint8Array(width * height);
  fillSpans(polygons, width, height, (y, a, b) => m.fill(1, y * width + a, y * width + b));
  return m;
}

/**
 * Clip a polygon to the half-plane `sign * (axis coordinate - at) > 0`
 * (Sutherland-Hodgman). `axis` 0 is x, 1 is y.
 */
export function clipHalfPlane(p: FlatPolygon, axis: 0 | 1, at: number, sign: 1 | -1): FlatPolygon {
  const out: number[] = [];
  const n = p.length >> 1;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    const ax = p[2 * i],
      ay = p[2 * i + 1],
      bx = p[2 * j],
      by = p[2 * j + 1];
    const da = sign * ((axis === 0 ? ax : ay) - at);
    const db = sign * ((axis === 0 ? bx : by) - at);
    if (da >= 0) out.push(ax, ay);
    if (da >= 0 !== db >= 0) {
      const t = da / (da - db);
      out.push(ax + t * (bx - ax), ay + t * (by - ay));
    }
  }
  return out.length >= 6 ? out : [];
}

/**
 * `polygon` minus the axis-aligned rectangle `[x1, y1, x2, y2]`, as up to
 * four disjoint polygons (left, right, top, bottom strips of the plane).
 */
export function subtractRect(
  polygon: FlatPolygon,
  rect: readonly [number, number, number, number],
): FlatPolygon[] {
  const [x1, y1, x2, y2] = rect;
  const left = clipHalfPlane(polygon, 0, x1, -1);
  const right = clipHalfPlane(polygon, 0, x2, 1);
  const mid = clipHalfPlane(clipHalfPlane(polygon, 0, x1, 1), 0, x2, -1);
  const top = mid.length ? clipHalfPlane(mid, 1, y1, -1) : [];
  const bottom = mid.length ? clipHalfPlane(mid, 1, y2, 1) : [];
  return [left, right, top, bottom].filter((q) => q.length >= 6 && Math.abs(polygonArea(q)) > 1e-6);
}

/** Signed area (shoelace); positive for counter-clockwise in y-up axes. */
export function polygonArea(p: FlatPolygon): number {
  let a = 0;
  const n = p.length >> 1;
  for (let i = 0, j = n - 1; i < n; j = i++) a += p[2 * j] * p[2 * i + 1] - p[2 * i] * p[2 * j + 1];
  return a / 2;
}
