/**
 * PASCAL VOC semantic segmentation: `SegmentationClass/*.png` palette
 * images whose palette indices are the class indices (0 background, 1..20
 * the VOC classes, 255 the "void" border, ignored), with splits in
 * `ImageSets/Segmentation/{train,val,trainval}.txt`.
 */
import { z } from 'zod';
import { BaseDetDataset, baseDatasetSchema, type BaseDatasetOptions } from './base.js';
import { DatasetError } from './errors.js';
import { readImageSize } from './image_header.js';
import { readSplitList, VOC_CLASSES } from './voc.js';
import type { DataInfo } from './types.js';
import { DATASETS } from '../registry.js';

/** Options of {@link VOCSegDataset}. */
export interface VOCSegDatasetOptions extends BaseDatasetOptions {
  imgSuffix?: string;
  segMapSuffix?: string;
}

/**
 * VOC segmentation data set (mmsegmentation's `PascalVOCDataset`). Classes
 * are `['background', ...20 VOC classes]`; pair it with
 * `LoadAnnotations({withBbox: false, withLabel: false, withSeg: true})` and
 * `PackSegInputs`.
 *
 * @example
 * ```ts
 * new VOCSegDataset({ dataRoot: 'data/VOCdevkit/VOC2012', annFile: 'ImageSets/Segmentation/train.txt', pipeline: [...] });
 * ```
 */
export class VOCSegDataset extends BaseDetDataset {
  static override readonly CLASSES: readonly string[] = ['background', ...VOC_CLASSES];
  static readonly configSchema = baseDatasetSchema
    .extend({ imgSuffix: z.string().optional(), segMapSuffix: z.string().optional() })
    .strict();

  constructor(options: VOCSegDatasetOptions = {}) {
    super(options);
  }

  // Segmentation samples have no instances; nothing to filter.
  protected override filterData(list: DataInfo[]): DataInfo[] {
    return list;
  }

  protected loadDataList(): DataInfo[] {
    const o = this.options as VOCSegDatasetOptions;
    if (!o.annFile)
      throw new DatasetError(
        this.constructor.name,
        'annFile',
        'missing (a split list such as ImageSets/Segmentation/train.txt)',
      );
    const sub = o.dataPrefix?.subDataRoot ?? '';
    const out: DataInfo[] = [];
    for (const id of readSplitList(this.resolve(o.annFile))) {
      const imgPath = this.resolve(
        sub,
        o.dataPrefix?.img ?? 'JPEGImages',
        `${id}${o.imgSuffix ?? '.jpg'}`,
      );
      const segMapPath = this.resolve(
        sub,
        o.dataPrefix?.seg ?? 'SegmentationClass',
        `${id}${o.segMapSuffix ?? '.png'}`,
      );
      const size = readImageSize(segMapPath);
      if (!size) {
        this.invalid(new DatasetError(segMapPath, '', 'label map missing or not a PNG'));
        continue;
      }
      out.push({
        imgPath,
        imgId: id,
        width: size.width,
        height: size.height,
        instances: [],
        segMapPath,
      });
    }
    return out;
  }
}

DATASETS.register(VOCSegDataset, { name: 'VOCSegDataset' });
