/**
 * Small generated data sets for the dataset cases of the bad-input suite:
 * PNG images (the project's own indexed-PNG encoder), COCO instances JSON,
 * VOC XML with ImageSets split lists. Nothing here reads shared data.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CocoDataset,
  encodeIndexedPng,
  type BaseDatasetOptions,
  type VOCDatasetOptions,
} from '../../src/datasets/index.js';
import { tmpDir } from './harness.js';

/** Writes a `width` x `height` indexed PNG (all zeros) to `file` and returns the path. */
export function writePng(file: string, width: number, height: number): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, encodeIndexedPng(new Uint8Array(width * height), width, height));
  return file;
}

/** Writes `text` to `file` (folders made) and returns the path. */
export function writeText(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** Regex-escapes `s` (for messages that contain paths). */
export function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The message of what `fn` throws (fails when it does not throw). */
export function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a throw, got none');
}

export interface CocoImage {
  id: number | string;
  file_name: string;
  width: number;
  height: number;
}

/** A minimal valid COCO instances object: two images, two categories, three annotations. */
export function cocoBase(): {
  images: CocoImage[];
  annotations: Record<string, unknown>[];
  categories: { id: number; name: string }[];
} {
  return {
    images: [
      { id: 1, file_name: 'a.png', width: 40, height: 30 },
      { id: 2, file_name: 'b.png', width: 20, height: 20 },
    ],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, bbox: [2, 3, 10, 5], area: 50, iscrowd: 0 },
      { id: 2, image_id: 1, category_id: 3, bbox: [20, 10, 8, 8], area: 64, iscrowd: 1 },
      { id: 3, image_id: 2, category_id: 1, bbox: [0, 0, 20, 20], area: 400, iscrowd: 0 },
    ],
    categories: [
      { id: 1, name: 'cat' },
      { id: 3, name: 'dog' },
    ],
  };
}

/** Writes a COCO JSON (object or raw text) into a fresh folder with its images; returns folder and file. */
export function cocoDir(
  tag: string,
  content: unknown,
  opts: { images?: boolean } = {},
): { dir: string; file: string } {
  const dir = tmpDir(`ds-${tag}`);
  const file = path.join(dir, 'instances.json');
  writeText(file, typeof content === 'string' ? content : JSON.stringify(content));
  if (opts.images !== false && typeof content === 'object' && content !== null) {
    const ims = (content as { images?: CocoImage[] }).images ?? [];
    for (const im of ims)
      if (im.width > 0 && im.height > 0)
        writePng(path.join(dir, 'img', im.file_name), im.width, im.height);
  }
  return { dir, file };
}

export interface VocObject {
  name: string;
  box: [number | string, number | string, number | string, number | string];
  difficult?: boolean;
}

/** A VOC annotation XML; `size` null leaves out `<size>`. */
export function vocXml(
  objects: VocObject[],
  size: [number | string, number | string] | null = [40, 30],
): string {
  const sz = size
    ? `<size><width>${size[0]}</width><height>${size[1]}</height><depth>3</depth></size>`
    : '';
  const objs = objects
    .map(
      (o) =>
        `<object><name>${o.name}</name><difficult>${o.difficult ? 1 : 0}</difficult>` +
        `<bndbox><xmin>${o.box[0]}</xmin><ymin>${o.box[1]}</ymin><xmax>${o.box[2]}</xmax><ymax>${o.box[3]}</ymax></bndbox></object>`,
    )
    .join('');
  return `<annotation><filename>x.png</filename>${sz}${objs}</annotation>`;
}

export interface VocEntry {
  id: string;
  /** The XML text, or objects for {@link vocXml}. */
  xml: string | VocObject[];
  /** Size written in the XML (default 40x30); null for none. */
  size?: [number | string, number | string] | null;
  /** Size of the PNG written (default: `size`, or 40x30); null for no image. */
  image?: [number, number] | null;
}

/** A VOC year folder (Annotations, PNGImages, ImageSets/Main/train.txt) in a fresh folder. */
export function vocDir(
  tag: string,
  entries: VocEntry[],
): { root: string; split: string; xml: (id: string) => string; img: (id: string) => string } {
  const root = tmpDir(`ds-${tag}`);
  const xml = (id: string) => path.join(root, 'Annotations', `${id}.xml`);
  const img = (id: string) => path.join(root, 'PNGImages', `${id}.png`);
  for (const e of entries) {
    const size = e.size === undefined ? ([40, 30] as [number, number]) : e.size;
    writeText(xml(e.id), typeof e.xml === 'string' ? e.xml : vocXml(e.xml, size));
    const im =
      e.image === undefined
        ? size && typeof size[0] === 'number' && typeof size[1] === 'number'
          ? ([size[0], size[1]] as [number, number])
          : ([40, 30] as [number, number])
        : e.image;
    if (im) writePng(img(e.id), im[0], im[1]);
  }
  const split = writeText(
    path.join(root, 'ImageSets', 'Main', 'train.txt'),
    entries.map((e) => e.id).join('\n') + '\n',
  );
  return { root, split, xml, img };
}

/** VOCDataset options for a {@link vocDir} folder. */
export function vocOpts(
  root: string,
  extra: VOCDatasetOptions = {},
): VOCDatasetOptions & { dataRoot: string } {
  return {
    dataRoot: root,
    annFile: 'ImageSets/Main/train.txt',
    dataPrefix: { img: 'PNGImages' },
    imgSuffix: '.png',
    metainfo: { classes: ['cat', 'dog'] },
    ...extra,
  };
}

/** A CocoDataset over a {@link cocoDir} file (images under `img/` next to it). */
export function coco(file: string, extra: BaseDatasetOptions = {}): CocoDataset {
  return new CocoDataset({
    annFile: file,
    dataPrefix: { img: path.join(path.dirname(file), 'img') },
    ...extra,
  });
}

/** A `cat` object with VOC box `[xmin, ymin, xmax, ymax]`. */
export function cat(box: [number, number, number, number], difficult = false): VocObject {
  return { name: 'cat', box, difficult };
}
