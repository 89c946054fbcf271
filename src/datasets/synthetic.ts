/**
 * A synthetic detection / segmentation data set of coloured shapes on
 * textured backgrounds, written in the real on-disk formats (JPEG + VOC XML,
 * COCO JSON with polygon masks, VOC-style palette PNG label maps) so that
 * every loader and the whole training path can be exercised without
 * downloading anything. Deterministic from its seed.
 *
 * Classes differ by geometry only (colours are random), so a detector must
 * learn shape. Shapes never overlap one another; occlusion comes from
 * rectangular "bars" laid over part of a shape. The visible part of a shape is
 * the shape's polygon minus the bars, written as (up to four) exact polygons,
 * and the pixels, the label maps, the boxes and the COCO polygons are all
 * derived from those same polygons with one rasteriser.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../utils/random.js';
import { encodeIndexedPng } from './png.js';
import { fillSpans, polygonArea, subtractRect, type FlatPolygon } from './raster.js';

/** The shape classes, in label order. */
export const SYNTHETIC_CLASSES = ['circle', 'square', 'triangle', 'star', 'hexagon'] as const;

/** Options of {@link makeSyntheticShapes}. */
export interface SyntheticOptions {
  /** Output folder; gets `JPEGImages/`, `Annotations/`, `ImageSets/`, `SegmentationClass/`, `SegmentationObject/`, `annotations/`. */
  outDir: string;
  numTrain: number;
  numVal: number;
  /** Image side in pixels (square images). Default 256. */
  imageSize?: number;
  seed?: number;
  /** Objects per image, inclusive range. Default [1, 4]. */
  objectsPerImage?: [number, number];
  /** Object size (bounding-circle diameter) range in pixels at `imageSize`. Default scales [24, 110] from 256. */
  sizeRange?: [number, number];
  /** Probability that an object gets an occluding bar. Default 0.3. */
  occlusionProb?: number;
  /** JPEG quality. Default 90. */
  jpegQuality?: number;
  /** Parallel image encodes / writes. Default 8. */
  concurrency?: number;
}

/** One generated object. */
export interface SyntheticObject {
  label: number;
  name: string;
  /** Visible region as polygons (flat lists). */
  polygons: FlatPolygon[];
  /** Bounding box of the visible pixels `[x1, y1, x2, y2]` (exclusive right/bottom). */
  bbox: [number, number, number, number];
  /** Number of visible pixels. */
  area: number;
  occluded: boolean;
}

/** One generated image. */
export interface SyntheticImage {
  id: string;
  split: 'train' | 'val';
  width: number;
  height: number;
  objects: SyntheticObject[];
}

/** What {@link makeSyntheticShapes} wrote. */
export interface SyntheticResult {
  outDir: string;
  classes: string[];
  images: SyntheticImage[];
}

function shapePolygon(kind: number, cx: number, cy: number, r: number, rot: number): FlatPolygon {
  const p: number[] = [];
  const ring = (n: number, radius: (i: number) => number): void => {
    for (let i = 0; i < n; i++) {
      const a = rot + (2 * Math.PI * i) / n;
      const rr = radius(i);
      p.push(cx + rr * Math.cos(a), cy + rr * Math.sin(a));
    }
  };
  switch (kind) {
    case 0:
      ring(48, () => r);
      break; // circle
    case 1:
      ring(4, () => r);
      break; // square (circumradius r)
    case 2:
      ring(3, () => r);
      break; // triangle
    case 3:
      ring(10, (i) => (i % 2 ? r * 0.45 : r));
      break; // five-pointed star
    default:
      ring(6, () => r); // hexagon
  }
  return p;
}

type Rgb = [number, number, number];

function colourDistance(a: Rgb, b: Rgb): number {
  return Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]);
}

function randomColour(rng: Rng): Rgb {
  return [rng.int(0, 256), rng.int(0, 256), rng.int(0, 256)];
}

/** Paint a textured background (gradient + stripes + noise) into `img` (RGB HWC). */
function paintBackground(rng: Rng, img: Uint8Array, w: number, h: number): Rgb[] {
  const c0 = randomColour(rng);
  const c1 = randomColour(rng);
  const ang = rng.uniform(0, Math.PI);
  // Gradient along direction `ang`, normalised to [0, 1] over the image.
  const ca = Math.cos(ang),
    sa0 = Math.sin(ang);
  const lo = Math.min(0, ca * (w - 1)) + Math.min(0, sa0 * (h - 1));
  const span = Math.abs(ca) * (w - 1) + Math.abs(sa0) * (h - 1) || 1;
  const gx = ca / span,
    gy = sa0 / span,
    g0 = -lo / span;
  const stripes = rng.bool(0.5);
  const period = rng.uniform(6, 28);
  const sa = rng.uniform(0, Math.PI);
  const sx = (Math.cos(sa) * 2 * Math.PI) / period,
    sy = (Math.sin(sa) * 2 * Math.PI) / period;
  const amp = stripes ? rng.uniform(10, 30) : 0;
  const noise = rng.uniform(4, 20);
  let i = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = g0 + x * gx + y * gy;
      const s = amp ? amp * Math.sin(x * sx + y * sy) : 0;
      for (let c = 0; c < 3; c++) {
        const v = c0[c] + (c1[c] - c0[c]) * t + s + (rng.next() - 0.5) * 2 * noise;
        img[i++] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return [c0, c1];
}

function paintPolygons(
  rng: Rng,
  img: Uint8Array,
  w: number,
  h: number,
  polys: FlatPolygon[],
  colour: Rgb,
  noise: number,
): void {
  fillSpans(polys, w, h, (y, a, b) => {
    for (let x = a; x < b; x++) {
      const o = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = colour[c] + (rng.next() - 0.5) * 2 * noise;
        img[o + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  });
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

/** Generate the layout and pixels of one image (no I/O). Exported for tests. */
export function renderSyntheticImage(
  rng: Rng,
  size: number,
  opts: Required<Pick<SyntheticOptions, 'objectsPerImage' | 'sizeRange' | 'occlusionProb'>>,
): { pixels: Uint8Array; classMap: Uint8Array; objectMap: Uint8Array; objects: SyntheticObject[] } {
  const w = size,
    h = size;
  const pixels = new Uint8Array(w * h * 3);
  const bg = paintBackground(rng, pixels, w, h);
  const n = rng.int(opts.objectsPerImage[0], opts.objectsPerImage[1] + 1);
  const placed: { cx: number; cy: number; r: number }[] = [];
  const objects: SyntheticObject[] = [];
  const classMap = new Uint8Array(w * h);
  const objectMap = new Uint8Array(w * h);
  const bars: { rect: [number, number, number, number]; colour: Rgb }[] = [];
  for (let k = 0; k < n; k++) {
    let ok = false,
      cx = 0,
      cy = 0,
      r = 0;
    for (let attempt = 0; attempt < 30 && !ok; attempt++) {
      r = rng.uniform(opts.sizeRange[0], opts.sizeRange[1]) / 2;
      cx = rng.uniform(r * 0.7, w - r * 0.7);
      cy = rng.uniform(r * 0.7, h - r * 0.7);
      ok = placed.every((p) => Math.hypot(p.cx - cx, p.cy - cy) > p.r + r + 3);
    }
    if (!ok) continue;
    const label = rng.int(0, SYNTHETIC_CLASSES.length);
    const full = shapePolygon(label, cx, cy, r, rng.uniform(0, 2 * Math.PI));
    let visible: FlatPolygon[] = [full];
    let occluded = false;
    if (rng.bool(opts.occlusionProb)) {
      // A bar entering the shape's box from one side, covering 20-40% of it.
      const side = rng.int(0, 4);
      const frac = rng.uniform(0.2, 0.4);
      const thick = rng.uniform(0.8, 1.6) * r;
      const along = rng.uniform(-0.5, 0.5) * r;
      let rect: [number, number, number, number];
      if (side < 2) {
        const depth = 2 * r * frac;
        const x1 = side === 0 ? cx - r - 2 : cx + r - depth;
        rect = [x1, cy + along - thick / 2, x1 + depth + 2, cy + along + thick / 2];
      } else {
        const depth = 2 * r * frac;
        const y1 = side === 2 ? cy - r - 2 : cy + r - depth;
        rect = [cx + along - thick / 2, y1, cx + along + thick / 2, y1 + depth + 2];
      }
      rect = rect.map((v) => Math.round(v)) as [number, number, number, number];
      const clear = placed.every((p) => {
        const nx = Math.max(rect[0], Math.min(p.cx, rect[2])),
          ny = Math.max(rect[1], Math.min(p.cy, rect[3]));
        return Math.hypot(nx - p.cx, ny - p.cy) > p.r + 2;
      });
      const pieces = clear ? subtractRect(full, rect) : [full];
      const visArea = pieces.reduce((s, q) => s + Math.abs(polygonArea(q)), 0);
      if (clear && pieces.length && visArea >= 0.55 * Math.abs(polygonArea(full))) {
        visible = pieces;
        occluded = true;
        let colour = randomColour(rng);
        for (let t = 0; t < 10 && colourDistance(colour, bg[0]) < 90; t++)
          colour = randomColour(rng);
        bars.push({ rect, colour });
      }
    }
    placed.push({ cx, cy, r });
    visible = visible.map((q) => q.map(round2));
    let colour = randomColour(rng);
    for (
      let t = 0;
      t < 20 && (colourDistance(colour, bg[0]) < 150 || colourDistance(colour, bg[1]) < 150);
      t++
    )
      colour = randomColour(rng);
    paintPolygons(rng, pixels, w, h, visible, colour, 6);
    let x1 = w,
      y1 = h,
      x2 = 0,
      y2 = 0,
      area = 0;
    const objIndex = objects.length + 1;
    fillSpans(visible, w, h, (y, a, b) => {
      classMap.fill(label + 1, y * w + a, y * w + b);
      objectMap.fill(objIndex, y * w + a, y * w + b);
      area += b - a;
      if (a < x1) x1 = a;
      if (b > x2) x2 = b;
      if (y < y1) y1 = y;
      if (y + 1 > y2) y2 = y + 1;
    });
    if (area === 0) continue;
    objects.push({
      label,
      name: SYNTHETIC_CLASSES[label],
      polygons: visible,
      bbox: [x1, y1, x2, y2],
      area,
      occluded,
    });
  }
  for (const bar of bars) {
    const [a, b, c, d] = bar.rect;
    paintPolygons(rng, pixels, w, h, [[a, b, c, b, c, d, a, d]], bar.colour, 10);
  }
  return { pixels, classMap, objectMap, objects };
}

function vocXml(img: SyntheticImage): string {
  const objs = img.objects
    .map(
      (o) => `  <object>
    <name>${o.name}</name>
    <pose>Unspecified</pose>
    <truncated>${o.occluded ? 1 : 0}</truncated>
    <difficult>0</difficult>
    <bndbox>
      <xmin>${o.bbox[0] + 1}</xmin>
      <ymin>${o.bbox[1] + 1}</ymin>
      <xmax>${o.bbox[2]}</xmax>
      <ymax>${o.bbox[3]}</ymax>
    </bndbox>
  </object>
`,
    )
    .join('');
  return `<annotation>
  <folder>synthetic</folder>
  <filename>${img.id}.jpg</filename>
  <size>
    <width>${img.width}</width>
    <height>${img.height}</height>
    <depth>3</depth>
  </size>
  <segmented>1</segmented>
${objs}</annotation>
`;
}

function cocoJson(images: SyntheticImage[], classes: readonly string[]): string {
  let annId = 1;
  const out = {
    info: { description: 'tfdet synthetic shapes', version: '1.0' },
    licenses: [],
    categories: classes.map((name, i) => ({ id: i + 1, name, supercategory: 'shape' })),
    images: images.map((im) => ({
      id: Number(im.id),
      file_name: `${im.id}.jpg`,
      width: im.width,
      height: im.height,
    })),
    annotations: images.flatMap((im) =>
      im.objects.map((o) => ({
        id: annId++,
        image_id: Number(im.id),
        category_id: o.label + 1,
        bbox: [o.bbox[0], o.bbox[1], o.bbox[2] - o.bbox[0], o.bbox[3] - o.bbox[1]],
        area: o.area,
        iscrowd: 0,
        segmentation: o.polygons,
      })),
    ),
  };
  return JSON.stringify(out);
}

/**
 * Write a synthetic shapes data set (VOC layout + COCO JSON) and return its
 * layout. Same seed and options, same bytes.
 *
 * @example
 * ```ts
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 *
 * const r = await makeSyntheticShapes({ outDir: join(tmpdir(), 'tfdet_shapes'), numTrain: 2, numVal: 1, seed: 0 });
 * r.images[0].objects[0];
 * // => { label: 2, name: 'triangle', bbox: [143, 31, 218, 116], polygons: [[143.12, 71.46, 218.4, 30.46, 216.27, 116.15]],
 * //      area: 3182, occluded: false }
 * ```
 */
export async function makeSyntheticShapes(options: SyntheticOptions): Promise<SyntheticResult> {
  const size = options.imageSize ?? 256;
  const seed = options.seed ?? 0;
  const scale = size / 256;
  const opts = {
    objectsPerImage: options.objectsPerImage ?? ([1, 4] as [number, number]),
    sizeRange: options.sizeRange ?? ([24 * scale, 110 * scale] as [number, number]),
    occlusionProb: options.occlusionProb ?? 0.3,
  };
  const quality = options.jpegQuality ?? 90;
  const out = options.outDir;
  const dirs = [
    'JPEGImages',
    'Annotations',
    'ImageSets/Main',
    'ImageSets/Segmentation',
    'SegmentationClass',
    'SegmentationObject',
    'annotations',
  ];
  await Promise.all(dirs.map((d) => mkdir(join(out, d), { recursive: true })));
  const total = options.numTrain + options.numVal;
  const images: SyntheticImage[] = [];
  const pending = new Set<Promise<void>>();
  const limit = options.concurrency ?? 8;
  for (let i = 0; i < total; i++) {
    // One stream per image: an image's content depends on the seed and its index only.
    const rng = Rng.derive(seed, i);
    const id = String(i + 1).padStart(6, '0');
    const split = i < options.numTrain ? 'train' : 'val';
    const r = renderSyntheticImage(rng, size, opts);
    const info: SyntheticImage = { id, split, width: size, height: size, objects: r.objects };
    images.push(info);
    const job = (async () => {
      const jpg = await sharp(r.pixels, { raw: { width: size, height: size, channels: 3 } })
        .jpeg({ quality, chromaSubsampling: '4:4:4' })
        .toBuffer();
      await Promise.all([
        writeFile(join(out, 'JPEGImages', `${id}.jpg`), jpg),
        writeFile(join(out, 'Annotations', `${id}.xml`), vocXml(info)),
        writeFile(
          join(out, 'SegmentationClass', `${id}.png`),
          encodeIndexedPng(r.classMap, size, size),
        ),
        writeFile(
          join(out, 'SegmentationObject', `${id}.png`),
          encodeIndexedPng(r.objectMap, size, size),
        ),
      ]);
    })();
    pending.add(job);
    void job.finally(() => pending.delete(job)).catch(() => undefined);
    if (pending.size >= limit) await Promise.race(pending);
  }
  await Promise.all(pending);
  const train = images.filter((im) => im.split === 'train');
  const val = images.filter((im) => im.split === 'val');
  const list = (arr: SyntheticImage[]): string =>
    arr.map((im) => im.id).join('\n') + (arr.length ? '\n' : '');
  await Promise.all([
    writeFile(join(out, 'ImageSets/Main/train.txt'), list(train)),
    writeFile(join(out, 'ImageSets/Main/val.txt'), list(val)),
    writeFile(join(out, 'ImageSets/Main/trainval.txt'), list(images)),
    writeFile(join(out, 'ImageSets/Segmentation/train.txt'), list(train)),
    writeFile(join(out, 'ImageSets/Segmentation/val.txt'), list(val)),
    writeFile(join(out, 'annotations/instances_train.json'), cocoJson(train, SYNTHETIC_CLASSES)),
    writeFile(join(out, 'annotations/instances_val.json'), cocoJson(val, SYNTHETIC_CLASSES)),
  ]);
  return { outDir: out, classes: [...SYNTHETIC_CLASSES], images };
}
