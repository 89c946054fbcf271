/**
 * Loading transforms: the image file and the annotations.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { segmentationRuns, rleDecode, type Segmentation } from '../../masks/index.js';
import { DatasetError } from '../errors.js';
import { decodeIndexedPng } from '../png.js';
import type { BitmapMasks } from '../../structures/index.js';
import type { DataSample } from '../types.js';
import { ensureDecoded, probeImage } from './decode.js';
import { TRANSFORMS } from '../../registry.js';

/**
 * Load the image at `results.imgPath` (mmdetection's `LoadImageFromFile`).
 * EXIF orientation is applied; grey and RGBA images become RGB (channel
 * order RGB). Sets `img`, `oriShape`, `imgShape`, `scaleFactor = [1, 1]`.
 *
 * The decode itself is deferred to the first transform that needs pixels,
 * so that a following Resize / RandomFlip run inside the same sharp
 * pipeline (JPEG shrink-on-load, one pass); `lazy: false` decodes here.
 *
 * @example
 * ```ts
 * import sharp from 'sharp';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 *
 * const imgPath = join(tmpdir(), 'a.jpg'); // a 640x480 JPEG
 * await sharp({ create: { width: 640, height: 480, channels: 3, background: '#808080' } }).jpeg().toFile(imgPath);
 * const r = await new LoadImageFromFile({ lazy: false }).transform({ imgPath, imgId: 0, height: 0, width: 0, instances: [] });
 * r.img; // => { data: Uint8Array [...], height: 480, width: 640, channels: 3, ... }
 * r.img.data.length; // => 921600 (640 * 480 * 3)
 * ```
 */
export class LoadImageFromFile {
  static readonly configSchema = z
    .object({ lazy: z.boolean().optional(), toFloat32: z.boolean().optional() })
    .strict();
  readonly lazy: boolean;
  readonly toFloat32: boolean;

  constructor(opts: { lazy?: boolean; toFloat32?: boolean } = {}) {
    this.lazy = opts.lazy ?? true;
    this.toFloat32 = opts.toFloat32 ?? false;
  }

  async transform(results: DataSample): Promise<DataSample> {
    const file = results.imgPath;
    let buffer: Buffer;
    try {
      // Synchronous: one read from the page cache is cheaper than fs.promises' several thread-pool round trips.
      buffer = readFileSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new DatasetError(
        file,
        '',
        code === 'ENOENT' ? 'image file not found' : `cannot read image (${(e as Error).message})`,
        e,
      );
    }
    const { width, height, orientation, needsSrgb } = await probeImage(file, buffer);
    results.pending = {
      file,
      buffer,
      orientation,
      width,
      height,
      flipH: false,
      flipV: false,
      needsSrgb,
    };
    results.img = undefined;
    results.oriShape = [height, width];
    results.imgShape = [height, width];
    results.scaleFactor = [1, 1];
    results.flip = false;
    results.flipDirection = null;
    if (!results.width || !results.height) {
      results.width = width;
      results.height = height;
    }
    if (!this.lazy || this.toFloat32) {
      const img = await ensureDecoded(results);
      if (this.toFloat32) results.img = { ...img, data: Float32Array.from(img.data) };
    }
    return results;
  }
}

/**
 * Turn the sample's `instances` into arrays (mmdetection's `LoadAnnotations`):
 * `gtBboxes` (n*4 float32), `gtBboxesLabels`, `gtIgnoreFlags`, and with
 * `withMask` the instance masks (polygons / RLE decoded with the COCO mask
 * API to bitmaps of the original size), with `withSeg` the semantic label
 * map read from `segMapPath` (palette or greyscale PNG, values as stored).
 */
export class LoadAnnotations {
  static readonly configSchema = z
    .object({
      withBbox: z.boolean().optional(),
      withLabel: z.boolean().optional(),
      withMask: z.boolean().optional(),
      withSeg: z.boolean().optional(),
      polyToMask: z.boolean().optional(),
    })
    .strict();
  readonly withBbox: boolean;
  readonly withLabel: boolean;
  readonly withMask: boolean;
  readonly withSeg: boolean;

  constructor(
    opts: {
      withBbox?: boolean;
      withLabel?: boolean;
      withMask?: boolean;
      withSeg?: boolean;
      polyToMask?: boolean;
    } = {},
  ) {
    this.withBbox = opts.withBbox ?? true;
    this.withLabel = opts.withLabel ?? true;
    this.withMask = opts.withMask ?? false;
    this.withSeg = opts.withSeg ?? false;
  }

  transform(results: DataSample): DataSample {
    const inst = results.instances ?? [];
    const n = inst.length;
    if (this.withBbox) {
      const b = new Float32Array(n * 4);
      const ig = new Uint8Array(n);
      inst.forEach((ins, i) => {
        b.set(ins.bbox, i * 4);
        ig[i] = ins.ignoreFlag ? 1 : 0;
      });
      results.gtBboxes = b;
      results.gtIgnoreFlags = ig;
    }
    if (this.withLabel) results.gtBboxesLabels = Int32Array.from(inst, (ins) => ins.bboxLabel);
    const [h, w] = results.oriShape ?? [results.height, results.width];
    if (this.withMask) {
      if (!h || !w)
        throw new DatasetError(
          results.imgPath,
          'masks',
          'image size unknown; put LoadImageFromFile before LoadAnnotations',
        );
      const masks: Uint8Array[] = inst.map((ins, i) => {
        if (!ins.mask) return new Uint8Array(h * w);
        try {
          return rleDecode(
            segmentationRuns(ins.mask as Segmentation, h, w, `instances[${i}].mask`),
            'C',
          );
        } catch (e) {
          throw new DatasetError(results.imgPath, `instances[${i}].mask`, (e as Error).message, e);
        }
      });
      for (let i = 0; i < masks.length; i++) {
        if (masks[i].length !== h * w) {
          throw new DatasetError(
            results.imgPath,
            `instances[${i}].mask`,
            `RLE size does not match the image ${h}x${w}`,
          );
        }
      }
      results.gtMasks = { height: h, width: w, masks } satisfies BitmapMasks;
    }
    if (this.withSeg) {
      const p = results.segMapPath;
      if (!p)
        throw new DatasetError(
          results.imgPath,
          'segMapPath',
          'missing; the data set has no semantic maps',
        );
      let buf: Buffer;
      try {
        buf = readFileSync(p);
      } catch (e) {
        throw new DatasetError(p, '', 'label map not found', e);
      }
      let dec: { data: Uint8Array; width: number; height: number };
      try {
        dec = decodeIndexedPng(buf, 'label map');
      } catch (e) {
        throw new DatasetError(p, '', (e as Error).message, e);
      }
      if (h && w && (dec.width !== w || dec.height !== h)) {
        throw new DatasetError(
          p,
          'size',
          `label map is ${dec.width}x${dec.height}, image is ${w}x${h}`,
        );
      }
      results.gtSegMap = dec.data;
    }
    return results;
  }
}

TRANSFORMS.register(LoadImageFromFile, { name: 'LoadImageFromFile' });
TRANSFORMS.register(LoadAnnotations, { name: 'LoadAnnotations' });
