/**
 * PASCAL VOC detection (VOCdevkit layout):
 *
 * ```
 * VOC2007/
 *   Annotations/000005.xml
 *   ImageSets/Main/{train,val,trainval,test}.txt
 *   JPEGImages/000005.jpg
 * ```
 */
import { readFileSync } from 'node:fs';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import { BaseDetDataset, baseDatasetSchema, type BaseDatasetOptions } from './base.js';
import { clipBoxToImage } from './box_rule.js';
import { DatasetError, show } from './errors.js';
import { readImageSize } from './image_header.js';
import type { DataInfo, InstanceInfo } from './types.js';
import { DATASETS } from '../registry.js';

/** The 20 PASCAL VOC classes, in the usual label order. */
export const VOC_CLASSES = [
  'aeroplane',
  'bicycle',
  'bird',
  'boat',
  'bottle',
  'bus',
  'car',
  'cat',
  'chair',
  'cow',
  'diningtable',
  'dog',
  'horse',
  'motorbike',
  'person',
  'pottedplant',
  'sheep',
  'sofa',
  'train',
  'tvmonitor',
] as const;

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => name === 'object',
});

/** One parsed VOC annotation file. */
export interface VocAnnotation {
  filename?: string;
  width: number;
  height: number;
  objects: {
    name: string;
    bbox: [number, number, number, number];
    difficult: boolean;
    truncated: boolean;
  }[];
}

function num(v: unknown): number {
  return typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
}

/**
 * Parse a VOC annotation XML. Boxes are converted from VOC's 1-based
 * inclusive pixel indices to 0-based `[x1, y1, x2, y2]` pixel edges
 * (`x1 = xmin - 1`, `x2 = xmax`), so a box's width is `xmax - xmin + 1`
 * pixels as VOC means it. Size is 0 when the XML has none.
 *
 * @throws DatasetError naming the file and the field, e.g.
 *   `Annotations/000005.xml: object[2].bndbox: missing`.
 * @example
 * ```ts
 * parseVocXml('<annotation><size><width>500</width><height>375</height></size><object><name>dog</name>' +
 *   '<bndbox><xmin>48</xmin><ymin>240</ymin><xmax>195</xmax><ymax>371</ymax></bndbox></object></annotation>', 'a.xml');
 * // => { filename: undefined, width: 500, height: 375, objects: [{ name: 'dog', bbox: [47, 239, 195, 371], difficult: false, truncated: false }] }
 * ```
 */
export function parseVocXml(xml: string, file: string): VocAnnotation {
  if (xml.trim() === '') throw new DatasetError(file, '', 'empty file (no <annotation> element)');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new DatasetError(file, `line ${valid.err.line}`, `malformed XML (${valid.err.msg})`);
  }
  const doc = parser.parse(xml) as { annotation?: Record<string, any> };
  const ann = doc.annotation;
  if ((ann as unknown) === '')
    throw new DatasetError(
      file,
      'annotation',
      'the <annotation> element is empty (no <size>, no <object>)',
    );
  if (!ann || typeof ann !== 'object')
    throw new DatasetError(file, 'annotation', 'missing root element <annotation>');
  const size = ann.size as Record<string, unknown> | undefined;
  const width = size ? num(size.width) : 0;
  const height = size ? num(size.height) : 0;
  if (size && (!(width > 0) || !(height > 0))) {
    throw new DatasetError(
      file,
      'size',
      `expected positive width and height, got ${show(size.width)} x ${show(size.height)}`,
    );
  }
  const objs = (ann.object ?? []) as Record<string, any>[];
  const objects = objs.map((o, i) => {
    const at = `object[${i}]`;
    if (typeof o !== 'object' || o === null) throw new DatasetError(file, at, 'empty <object>');
    for (const k of ['name', 'bndbox', 'difficult'])
      if (Array.isArray(o[k]))
        throw new DatasetError(file, `${at}.${k}`, `${o[k].length} <${k}> elements, expected one`);
    const name = typeof o.name === 'string' ? o.name.trim() : '';
    if (!name) throw new DatasetError(file, `${at}.name`, 'missing');
    // mmdetection reads `int(difficult)`: anything but 0 / 1 (or empty) is an error, not "not difficult".
    if (o.difficult !== undefined && !['', '0', '1'].includes(String(o.difficult).trim()))
      throw new DatasetError(
        file,
        `${at}.difficult`,
        `expected 0 or 1, got ${show(o.difficult)} (object ${show(name)})`,
      );
    const bb = o.bndbox as Record<string, unknown> | undefined;
    if (!bb || typeof bb !== 'object') throw new DatasetError(file, `${at}.bndbox`, 'missing');
    const v = (['xmin', 'ymin', 'xmax', 'ymax'] as const).map((k) => {
      const x = num(bb[k]);
      if (!Number.isFinite(x))
        throw new DatasetError(
          file,
          `${at}.bndbox.${k}`,
          `expected a number, got ${show(bb[k])} (object ${show(name)})`,
        );
      return x;
    });
    const [xmin, ymin, xmax, ymax] = v as [number, number, number, number];
    if (xmax < xmin)
      throw new DatasetError(
        file,
        `${at}.bndbox`,
        `xmax ${xmax} < xmin ${xmin} (object ${show(name)})`,
      );
    if (ymax < ymin)
      throw new DatasetError(
        file,
        `${at}.bndbox`,
        `ymax ${ymax} < ymin ${ymin} (object ${show(name)})`,
      );
    const flag = (x: unknown): boolean => typeof x === 'string' && Number(x) === 1;
    return {
      name,
      bbox: [xmin - 1, ymin - 1, xmax, ymax] as [number, number, number, number],
      difficult: flag(o.difficult),
      truncated: flag(o.truncated),
    };
  });
  return {
    filename: typeof ann.filename === 'string' ? ann.filename : undefined,
    width: width || 0,
    height: height || 0,
    objects,
  };
}

/** Read a split list (`ImageSets/Main/train.txt`): one id per line (VOC's per-class lists `id  1` also work). */
export function readSplitList(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DatasetError(file, '', 'split list not found', e);
  }
  const ids = text
    .split(/\r?\n/)
    .map((l) => l.trim().split(/\s+/)[0])
    .filter(Boolean);
  if (ids.length === 0) throw new DatasetError(file, '', 'empty image list (no ids in the file)');
  return ids;
}

/** Options of {@link VOCDataset}. */
export interface VOCDatasetOptions extends BaseDatasetOptions {
  /** Image extension. Default `.jpg`. */
  imgSuffix?: string;
}

/**
 * PASCAL VOC detection data set (mmdetection's `VOCDataset`). `dataRoot` is
 * a VOC year folder, or the VOCdevkit with `dataPrefix.subDataRoot:
 * 'VOC2007/'`; `annFile` is a split list relative to it. `difficult` objects
 * get `ignoreFlag`; objects of classes not in `metainfo.classes` are left
 * out. Missing image sizes are read from the image header.
 *
 * @example
 * ```ts
 * const ds = new VOCDataset({ dataRoot: 'data/VOCdevkit/', annFile: 'VOC2007/ImageSets/Main/trainval.txt',
 *   dataPrefix: { subDataRoot: 'VOC2007/' }, filterCfg: { filterEmptyGt: true, minSize: 32 }, pipeline: [...] });
 * ```
 */
export class VOCDataset extends BaseDetDataset {
  static override readonly CLASSES: readonly string[] = VOC_CLASSES;
  static readonly configSchema = baseDatasetSchema
    .extend({ imgSuffix: z.string().optional() })
    .strict();

  constructor(options: VOCDatasetOptions = {}) {
    super(options);
  }

  protected loadDataList(): DataInfo[] {
    const o = this.options as VOCDatasetOptions;
    if (!o.annFile)
      throw new DatasetError(
        `${this.constructor.name}`,
        'annFile',
        'missing (a split list such as ImageSets/Main/train.txt)',
      );
    const sub = o.dataPrefix?.subDataRoot ?? '';
    const ids = readSplitList(this.resolve(o.annFile));
    const classIndex = new Map(this.classes.map((c, i) => [c, i]));
    const minBox = o.filterCfg?.bboxMinSize ?? 0;
    const out: DataInfo[] = [];
    for (const id of ids) {
      const xmlPath = this.resolve(sub, o.dataPrefix?.ann ?? 'Annotations', `${id}.xml`);
      const imgPath = this.resolve(
        sub,
        o.dataPrefix?.img ?? 'JPEGImages',
        `${id}${o.imgSuffix ?? '.jpg'}`,
      );
      let ann: VocAnnotation;
      try {
        let xml: string;
        try {
          xml = readFileSync(xmlPath, 'utf8');
        } catch (e) {
          throw new DatasetError(xmlPath, '', 'annotation file not found', e);
        }
        ann = parseVocXml(xml, xmlPath);
      } catch (e) {
        if (e instanceof DatasetError && this.invalid(e)) continue;
        throw e;
      }
      let { width, height } = ann;
      const header = readImageSize(imgPath);
      if (width && height && header && (header.width !== width || header.height !== height)) {
        this.invalid(
          new DatasetError(
            xmlPath,
            'size',
            `${width}x${height} does not match the image ${imgPath} (${header.width}x${header.height} in its header)`,
          ),
        );
        continue;
      }
      if (!width || !height) {
        const s = header;
        if (!s) {
          this.invalid(
            new DatasetError(
              xmlPath,
              'size',
              `missing, and the image ${imgPath} has no readable header`,
            ),
          );
          continue;
        }
        ({ width, height } = s);
      }
      const instances: InstanceInfo[] = [];
      for (const [k, obj] of ann.objects.entries()) {
        const label = classIndex.get(obj.name);
        if (label === undefined) {
          this.stats.unknownClassObjects = (this.stats.unknownClassObjects ?? 0) + 1;
          this.drops.add(`objects of unknown class ${show(obj.name)}`, xmlPath);
          continue;
        }
        const box = clipBoxToImage(obj.bbox, width, height);
        if (!box) {
          this.stats.invalidBoxes = (this.stats.invalidBoxes ?? 0) + 1;
          this.drops.add(
            'boxes empty or outside the image',
            xmlPath,
            `${xmlPath}: object[${k}].bndbox [${obj.bbox.join(', ')}] (image ${width}x${height})`,
          );
          continue;
        }
        const [x1, y1, x2, y2] = box;
        const small = minBox > 0 && !this.testMode && (x2 - x1 < minBox || y2 - y1 < minBox);
        instances.push({
          bbox: box,
          bboxLabel: label,
          ignoreFlag: obj.difficult || small,
          truncated: obj.truncated,
        });
      }
      out.push({ imgPath, imgId: id, width, height, instances, xmlPath });
    }
    return out;
  }
}

DATASETS.register(VOCDataset, { name: 'VOCDataset' });
