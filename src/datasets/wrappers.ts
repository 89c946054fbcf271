/**
 * Data set wrappers: concatenation (VOC2007 + VOC2012) and repetition.
 */
import { DATASETS, isTypedConfig, type TypedConfig } from '../registry.js';
import type { BaseDetDataset, GetOptions } from './base.js';
import type { DataInfo, DataSample, PackedInputs } from './types.js';

/** Anything indexable like a data set. */
export interface DatasetLike {
  readonly length: number;
  get(idx: number, options?: GetOptions): Promise<PackedInputs | DataSample>;
  getDataInfo(idx: number): DataInfo;
  imageShapes(): [number, number][];
  readonly metainfo: { classes: string[]; [key: string]: unknown };
}

function build(d: TypedConfig | DatasetLike, path: string): DatasetLike {
  return isTypedConfig(d) ? DATASETS.build<DatasetLike>(d, { path }) : d;
}

/**
 * Several data sets as one, indices running through them in order
 * (mmengine's `ConcatDataset`). Class lists must agree.
 *
 * @example
 * ```ts
 * const coco100 = { type: 'CocoDataset', dataRoot: '../shared/data/real/coco_val2014_100/',
 *   annFile: 'instances_val2014_100.json', testMode: true, pipeline: [] };
 * new ConcatDataset({ datasets: [coco100, coco100] }).length; // => 200 (VOC07+12 trainval: 5011 + 11540)
 * ```
 */
export class ConcatDataset implements DatasetLike {
  static readonly unbuiltArgs = ['datasets'] as const;
  readonly datasets: DatasetLike[];
  private readonly offsets: number[] = [];

  constructor(opts: { datasets: (TypedConfig | DatasetLike)[] }) {
    if (!opts.datasets?.length) throw new Error('ConcatDataset: `datasets` is empty');
    this.datasets = opts.datasets.map((d, i) => build(d, `datasets.${i}`));
    const c0 = JSON.stringify(this.datasets[0].metainfo.classes);
    this.datasets.forEach((d, i) => {
      if (JSON.stringify(d.metainfo.classes) !== c0)
        throw new Error(`ConcatDataset: datasets[${i}] has other classes than datasets[0]`);
    });
    let acc = 0;
    for (const d of this.datasets) {
      this.offsets.push(acc);
      acc += d.length;
    }
  }

  get metainfo(): { classes: string[]; [key: string]: unknown } {
    return this.datasets[0].metainfo;
  }

  get length(): number {
    return this.datasets.reduce((s, d) => s + d.length, 0);
  }

  /** `[dataset index, index inside it]` of a global index. */
  locate(idx: number): [number, number] {
    if (idx < 0 || idx >= this.length)
      throw new RangeError(`ConcatDataset: index ${idx} out of range [0, ${this.length})`);
    let k = this.offsets.length - 1;
    while (this.offsets[k] > idx) k--;
    return [k, idx - this.offsets[k]];
  }

  get(idx: number, options?: GetOptions): Promise<PackedInputs | DataSample> {
    const [k, i] = this.locate(idx);
    return this.datasets[k].get(i, options);
  }

  getDataInfo(idx: number): DataInfo {
    const [k, i] = this.locate(idx);
    return this.datasets[k].getDataInfo(i);
  }

  imageShapes(): [number, number][] {
    return this.datasets.flatMap((d) => d.imageShapes());
  }
}

/** A data set repeated `times` times (mmengine's `RepeatDataset`), to make short epochs longer. */
export class RepeatDataset implements DatasetLike {
  static readonly unbuiltArgs = ['dataset'] as const;
  readonly dataset: DatasetLike;
  readonly times: number;

  constructor(opts: { dataset: TypedConfig | DatasetLike; times: number }) {
    if (!(opts.times >= 1) || !Number.isInteger(opts.times))
      throw new Error(`RepeatDataset: times must be a positive integer, got ${opts.times}`);
    this.dataset = build(opts.dataset, 'dataset');
    this.times = opts.times;
  }

  get metainfo(): { classes: string[]; [key: string]: unknown } {
    return this.dataset.metainfo;
  }

  get length(): number {
    return this.dataset.length * this.times;
  }

  get(idx: number, options?: GetOptions): Promise<PackedInputs | DataSample> {
    return this.dataset.get(idx % this.dataset.length, options);
  }

  getDataInfo(idx: number): DataInfo {
    return this.dataset.getDataInfo(idx % this.dataset.length);
  }

  imageShapes(): [number, number][] {
    const s = this.dataset.imageShapes();
    return Array.from({ length: this.times }, () => s).flat();
  }
}

export type { BaseDetDataset };

DATASETS.register(ConcatDataset, { name: 'ConcatDataset' });
DATASETS.register(RepeatDataset, { name: 'RepeatDataset' });
