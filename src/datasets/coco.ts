/**
 * COCO instances data set (`annotations/instances_*.json`).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { getAt } from '../config/validate.js';
import { BaseDetDataset, baseDatasetSchema, type BaseDatasetOptions } from './base.js';
import { clipBoxToImage } from './box_rule.js';
import { DatasetError, show } from './errors.js';
import type { DataInfo, InstanceInfo } from './types.js';
import { DATASETS } from '../registry.js';

/** The 80 COCO classes in the usual label order (category ids 1..90 with gaps). */
export const COCO_CLASSES = [
  'person',
  'bicycle',
  'car',
  'motorcycle',
  'airplane',
  'bus',
  'train',
  'truck',
  'boat',
  'traffic light',
  'fire hydrant',
  'stop sign',
  'parking meter',
  'bench',
  'bird',
  'cat',
  'dog',
  'horse',
  'sheep',
  'cow',
  'elephant',
  'bear',
  'zebra',
  'giraffe',
  'backpack',
  'umbrella',
  'handbag',
  'tie',
  'suitcase',
  'frisbee',
  'skis',
  'snowboard',
  'sports ball',
  'kite',
  'baseball bat',
  'baseball glove',
  'skateboard',
  'surfboard',
  'tennis racket',
  'bottle',
  'wine glass',
  'cup',
  'fork',
  'knife',
  'spoon',
  'bowl',
  'banana',
  'apple',
  'sandwich',
  'orange',
  'broccoli',
  'carrot',
  'hot dog',
  'pizza',
  'donut',
  'cake',
  'chair',
  'couch',
  'potted plant',
  'bed',
  'dining table',
  'toilet',
  'tv',
  'laptop',
  'mouse',
  'remote',
  'keyboard',
  'cell phone',
  'microwave',
  'oven',
  'toaster',
  'sink',
  'refrigerator',
  'book',
  'clock',
  'vase',
  'scissors',
  'teddy bear',
  'hair drier',
  'toothbrush',
] as const;

const id = z.union([z.number().int(), z.string()], { error: 'expected an integer or string id' });
const finite = z.number({ error: 'expected a number' });
const segmentation = z.union(
  [
    z.array(z.array(finite, { error: 'expected a polygon (array of numbers)' })),
    z.looseObject({
      size: z.tuple([finite, finite]),
      counts: z.union([z.string(), z.array(finite)]),
    }),
  ],
  { error: 'expected polygons (array of arrays of numbers) or an RLE {size, counts}' },
);

/** Schema of a COCO instances file (extra keys allowed). */
export const cocoInstancesSchema = z.looseObject({
  images: z.array(
    z.looseObject({
      id,
      file_name: z.string({ error: 'expected a string' }),
      width: finite,
      height: finite,
    }),
    { error: 'expected an array of images' },
  ),
  annotations: z
    .array(
      z.looseObject({
        id: id.optional(),
        image_id: id,
        category_id: id,
        bbox: z
          .array(finite, { error: 'expected array of 4 numbers' })
          .length(4, { error: 'expected array of 4 numbers' }),
        area: finite.optional(),
        iscrowd: z
          .union([z.literal(0), z.literal(1), z.boolean()], { error: 'expected 0 or 1' })
          .optional(),
        segmentation: segmentation.optional(),
      }),
      { error: 'expected an array of annotations' },
    )
    .optional(),
  categories: z.array(z.looseObject({ id, name: z.string({ error: 'expected a string' }) }), {
    error: 'expected an array of categories',
  }),
});

/** A parsed COCO instances file. */
export type CocoInstances = z.infer<typeof cocoInstancesSchema>;

function jsonPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : s ? `.${String(k)}` : String(k);
  return s || '(root)';
}

/**
 * Read and validate a COCO instances JSON.
 *
 * @throws DatasetError naming the file and the JSON path of the first bad
 *   field, e.g. `instances_train.json: annotations[3].bbox: expected array of 4 numbers, got "abc"`.
 */
export function loadCocoJson(file: string): CocoInstances {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DatasetError(file, '', 'annotation file not found', e);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DatasetError(file, '', `invalid JSON (${(e as Error).message})`, e);
  }
  const r = cocoInstancesSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  let path = issue.path;
  // For a union, report the deepest failing branch's path if it is more precise.
  if (issue.code === 'invalid_union' && Array.isArray((issue as { errors?: unknown }).errors)) {
    const branches = (issue as unknown as { errors: { path: PropertyKey[] }[][] }).errors;
    const deepest = branches.flat().sort((a, b) => b.path.length - a.path.length)[0];
    if (deepest && deepest.path.length > 0 && branches.length === 1)
      path = [...path, ...deepest.path];
  }
  const value = getAt(raw, path);
  let msg = issue.message;
  if (/^Invalid input/.test(msg) && issue.code === 'invalid_type')
    msg = `expected ${issue.expected}`;
  throw new DatasetError(
    file,
    jsonPath(path),
    `${msg}, got ${value === undefined ? 'nothing (missing)' : show(value)}`,
  );
}

/**
 * COCO detection / instance segmentation data set (mmdetection's
 * `CocoDataset`).
 *
 * - Category ids map to contiguous labels in the order of
 *   `metainfo.classes` (default: the file's categories sorted by id).
 * - `bbox` `[x, y, w, h]` becomes `[x1, y1, x2, y2]`; `iscrowd` sets
 *   `ignoreFlag`; boxes with `w < 1`, `h < 1`, `area <= 0` or no overlap
 *   with the image are dropped and counted in `stats.invalidBoxes`.
 * - In training, images without annotations are dropped (`filterCfg`
 *   defaults to `{filterEmptyGt: true}`); in test mode every image stays.
 * - An annotation whose `image_id` is not in `images` is an error, or a
 *   counted skip with `skipInvalid`.
 * - A reused image id, category id or category name is an error naming
 *   both entries.
 *
 * @example
 * ```ts
 * const ds = new CocoDataset({ dataRoot: '../shared/data/real/coco_val2014_100/', annFile: 'instances_val2014_100.json',
 *   dataPrefix: { img: 'val2014/' }, testMode: true, pipeline: [{ type: 'LoadImageFromFile' }] });
 * ds.catIds;           // => [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, ...] (80 ids up to 90)
 * ds.catIds.length;    // => 80
 * ```
 */
export class CocoDataset extends BaseDetDataset {
  static override readonly CLASSES: readonly string[] = COCO_CLASSES;
  static readonly configSchema = baseDatasetSchema;
  /** Category id of each label. */
  catIds: (number | string)[] = [];
  /** Label of each category id. */
  readonly catToLabel = new Map<number | string, number>();

  constructor(options: BaseDatasetOptions = {}) {
    super({ ...options, lazyInit: true });
    if (!options.lazyInit) this.fullInit();
  }

  protected override filterData(list: DataInfo[]): DataInfo[] {
    const cfg = this.options.filterCfg ?? { filterEmptyGt: true };
    const minSize = cfg.minSize ?? 0;
    return list.filter((d) => {
      if (cfg.filterEmptyGt && d.instances.length === 0) {
        this.stats.emptyImages = (this.stats.emptyImages ?? 0) + 1;
        this.drops.add(
          'images without annotations (filterCfg.filterEmptyGt)',
          this.annPath(),
          `${this.annPath()}: image ${show(d.imgId)} (${d.imgPath})`,
        );
        return false;
      }
      if (minSize > 0 && Math.min(d.width, d.height) < minSize) {
        this.stats.smallImages = (this.stats.smallImages ?? 0) + 1;
        this.drops.add(
          `images smaller than filterCfg.minSize ${minSize}`,
          this.annPath(),
          `${this.annPath()}: image ${show(d.imgId)} (${d.imgPath})`,
        );
        return false;
      }
      return true;
    });
  }

  private annPath(): string {
    return this.options.annFile ? this.resolve(this.options.annFile) : this.constructor.name;
  }

  /** `images` by id; a reused id, a missing file name or a non-positive size is an error naming the entries. */
  private readImages(
    coco: CocoInstances,
    file: string,
  ): Map<number | string, { info: DataInfo; idx: number }> {
    const images = new Map<number | string, { info: DataInfo; idx: number }>();
    coco.images.forEach((im, idx) => {
      for (const k of ['width', 'height'] as const)
        if (!(im[k] > 0))
          throw new DatasetError(
            file,
            `images[${idx}].${k}`,
            `expected a positive number, got ${show(im[k])} (file_name ${show(im.file_name)})`,
          );
      const prev = images.get(im.id);
      if (prev)
        throw new DatasetError(
          file,
          `images[${idx}].id`,
          `${show(im.id)} is already the id of images[${prev.idx}] (${show(coco.images[prev.idx].file_name)}); images[${idx}] is ${show(im.file_name)}: image ids must be unique`,
        );
      const imgPath = this.resolve(this.options.dataPrefix?.img, im.file_name);
      images.set(im.id, {
        info: { imgPath, imgId: im.id, width: im.width, height: im.height, instances: [] },
        idx,
      });
    });
    return images;
  }

  protected loadDataList(): DataInfo[] {
    const o = this.options;
    if (!o.annFile)
      throw new DatasetError(this.constructor.name, 'annFile', 'missing (a COCO instances JSON)');
    const file = this.resolve(o.annFile);
    const coco = loadCocoJson(file);
    checkCategories(coco, file);
    const byName = new Map(coco.categories.map((c) => [c.name, c.id]));
    if (o.metainfo?.classes) {
      this.catIds = o.metainfo.classes.map((name, i) => {
        const cid = byName.get(name);
        if (cid === undefined)
          throw new DatasetError(
            file,
            'categories',
            `class ${show(name)} (metainfo.classes[${i}]) is not a category of this file`,
          );
        return cid;
      });
    } else {
      const cats = [...coco.categories].sort((a, b) =>
        typeof a.id === 'number' && typeof b.id === 'number'
          ? a.id - b.id
          : String(a.id).localeCompare(String(b.id)),
      );
      this.catIds = cats.map((c) => c.id);
      this.metainfo.classes = cats.map((c) => c.name);
    }
    this.catIds.forEach((c, i) => this.catToLabel.set(c, i));
    const images = this.readImages(coco, file);
    const anns = coco.annotations ?? [];
    let invalid = 0,
      otherCat = 0;
    for (let i = 0; i < anns.length; i++) {
      const a = anns[i];
      const img = images.get(a.image_id);
      if (!img) {
        this.invalid(
          new DatasetError(
            file,
            `annotations[${i}].image_id`,
            `${show(a.image_id)} is not the id of any image in "images"`,
          ),
        );
        continue;
      }
      const label = this.catToLabel.get(a.category_id);
      if (label === undefined) {
        otherCat++;
        this.drops.add(
          `annotations of category ${show(a.category_id)} (not in classes)`,
          file,
          `${file}: annotations[${i}]`,
        );
        continue;
      }
      const [x, y, w, h] = a.bbox as [number, number, number, number];
      const W = img.info.width,
        H = img.info.height;
      const box = clipBoxToImage([x, y, x + w, y + h], W, H);
      if (!box || (a.area !== undefined && a.area <= 0) || w < 1 || h < 1) {
        invalid++;
        this.drops.add(
          'boxes empty or outside the image',
          file,
          `${file}: annotations[${i}].bbox ${show(a.bbox)} (image ${show(img.info.imgId)}, ${W}x${H})`,
        );
        continue;
      }
      const ins: InstanceInfo = {
        bbox: box,
        bboxLabel: label,
        ignoreFlag: a.iscrowd === 1 || a.iscrowd === true,
      };
      if (Array.isArray(a.segmentation)) {
        // As mmdetection's LoadAnnotations: polygons of under 3 points or with an odd
        // number of coordinates are left out (counted); `[]` or none left: no mask.
        const polys = a.segmentation.filter((p, j) => {
          if (p.length >= 6 && p.length % 2 === 0) return true;
          this.drops.add(
            'polygons with under 3 points or an odd number of coordinates (left out of the mask)',
            file,
            `${file}: annotations[${i}].segmentation[${j}] ${show(p)}`,
          );
          return false;
        });
        if (polys.length > 0) ins.mask = polys;
      } else if (a.segmentation !== undefined) {
        checkRle(a.segmentation, img.info, file, i);
        ins.mask = a.segmentation;
      }
      img.info.instances.push(ins);
    }
    if (invalid) this.stats.invalidBoxes = invalid;
    if (otherCat) this.stats.otherCategoryAnnotations = otherCat;
    return [...images.values()].map((v) => v.info);
  }
}

/**
 * Category ids and names must be unique: a reused id would give its
 * annotations the label of the last entry only, a reused name two labels.
 */
function checkCategories(coco: CocoInstances, file: string): void {
  const ids = new Map<number | string, number>();
  const names = new Map<string, number>();
  coco.categories.forEach((c, i) => {
    const a = ids.get(c.id);
    if (a !== undefined)
      throw new DatasetError(
        file,
        `categories[${i}].id`,
        `${show(c.id)} is already the id of categories[${a}] (${show(coco.categories[a].name)}); categories[${i}] is ${show(c.name)}: category ids must be unique`,
      );
    const b = names.get(c.name);
    if (b !== undefined)
      throw new DatasetError(
        file,
        `categories[${i}].name`,
        `${show(c.name)} is already the name of categories[${b}] (id ${show(coco.categories[b].id)}); categories[${i}] has id ${show(c.id)}: category names must be unique`,
      );
    ids.set(c.id, i);
    names.set(c.name, i);
  });
}

/** An RLE's `size` must be its image's `[height, width]` and its counts must sum to `height * width`. */
function checkRle(seg: unknown, info: DataInfo, file: string, i: number): void {
  if (Array.isArray(seg) || typeof seg !== 'object' || seg === null) return;
  const { size, counts } = seg as { size: [number, number]; counts: string | number[] };
  const at = `annotations[${i}].segmentation`;
  if (size[0] !== info.height || size[1] !== info.width)
    throw new DatasetError(
      file,
      `${at}.size`,
      `${show(size)} is not the [height, width] of its image ${show(info.imgId)} ([${info.height},${info.width}])`,
    );
  if (Array.isArray(counts)) {
    const sum = counts.reduce((s, c) => s + c, 0);
    if (sum !== size[0] * size[1] || counts.some((c) => !(c >= 0) || !Number.isInteger(c)))
      throw new DatasetError(
        file,
        `${at}.counts`,
        `uncompressed counts sum to ${sum}, expected ${size[0]} x ${size[1]} = ${size[0] * size[1]} non-negative integers`,
      );
  }
}

DATASETS.register(CocoDataset, { name: 'CocoDataset' });
