/**
 * The base of the detection data sets (mmengine's `BaseDataset` /
 * mmdetection's `BaseDetDataset`): a list of {@link DataInfo} loaded from
 * annotation files, filtered, and run through a pipeline of transforms on
 * access.
 */
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { Registry, type TypedConfig } from '../registry.js';
import { Rng } from '../utils/random.js';
import { DatasetError, DropLog, SkipLog } from './errors.js';
import { Compose } from './transforms/index.js';
import type { DataInfo, DataSample, PackedInputs, Transform } from './types.js';

/** Options shared by every data set (camelCased mmdetection names). */
export interface BaseDatasetOptions {
  /** Root that relative `annFile` and `dataPrefix` paths are joined to. */
  dataRoot?: string;
  /** Annotation file (COCO JSON) or split list (VOC `ImageSets/Main/train.txt`). */
  annFile?: string;
  /** Sub folders: `img` (images), `seg` (label maps), `subDataRoot` (VOC year folder). */
  dataPrefix?: { img?: string; seg?: string; ann?: string; subDataRoot?: string };
  /** `filterEmptyGt`: drop images without (non-ignored) boxes; `minSize`: drop images whose shorter side is smaller. Training only. */
  filterCfg?: { filterEmptyGt?: boolean; minSize?: number; bboxMinSize?: number };
  /** Transform configs, built with TRANSFORMS (or transform objects). */
  pipeline?: (TypedConfig | Transform)[];
  /** Test mode: nothing is filtered and a failing sample is an error, not a re-draw. */
  testMode?: boolean;
  /** `classes`: class names in label order (default: the data set's own). */
  metainfo?: { classes?: readonly string[]; palette?: [number, number, number][] };
  /** Count and log bad items (annotations, images) instead of throwing. Default false. */
  skipInvalid?: boolean;
  /** Load annotations on first use instead of in the constructor. */
  lazyInit?: boolean;
  /** Keep only these indices (or the first n). */
  indices?: number | number[];
  /** Re-draws when a training sample is dropped by the pipeline. Default 1000. */
  maxRefetch?: number;
  /** Seed for re-draws and for random transforms when `get` is called without a generator. */
  seed?: number;
}

/** The file an image's annotations come from (VOC: its XML), else the image. */
export function annotationFile(d: DataInfo): string {
  return typeof d.xmlPath === 'string' ? d.xmlPath : d.imgPath;
}

/** Zod schema of {@link BaseDatasetOptions}; subclasses extend it. */
export const baseDatasetSchema = z
  .object({
    dataRoot: z.string().optional(),
    annFile: z.string().optional(),
    dataPrefix: z
      .object({
        img: z.string().optional(),
        seg: z.string().optional(),
        ann: z.string().optional(),
        subDataRoot: z.string().optional(),
      })
      .strict()
      .optional(),
    filterCfg: z
      .object({
        filterEmptyGt: z.boolean().optional(),
        minSize: z.number().optional(),
        bboxMinSize: z.number().optional(),
      })
      .strict()
      .optional(),
    pipeline: z.array(z.any()).optional(),
    testMode: z.boolean().optional(),
    metainfo: z
      .object({ classes: z.array(z.string()).optional(), palette: z.array(z.any()).optional() })
      .strict()
      .optional(),
    skipInvalid: z.boolean().optional(),
    lazyInit: z.boolean().optional(),
    indices: z.union([z.number().int(), z.array(z.number().int())]).optional(),
    maxRefetch: z.number().int().optional(),
    seed: z.number().optional(),
  })
  .strict();

/** Options of {@link BaseDetDataset.get}. */
export interface GetOptions {
  /** Generator for the random transforms of this sample (the loader derives one per sample from seed + epoch). */
  rng?: Rng;
  /** Leave the final colour pass to the collate (set by the loader). */
  deferPixels?: boolean;
}

/**
 * Base class: subclasses implement {@link loadDataList}.
 *
 * @example
 * ```ts
 * const ds = DATASETS.build<CocoDataset>({ type: 'CocoDataset', dataRoot: '../shared/data/real/coco_val2014_100/',
 *   annFile: 'instances_val2014_100.json', testMode: true, pipeline: [] });
 * ds.length;               // => 100
 * await ds.get(0);         // the pipeline's output for the first image (here its data info)
 * ```
 */
export abstract class BaseDetDataset {
  /** `pipeline` stays a list of configs; the data set builds it with TRANSFORMS. */
  static readonly unbuiltArgs = ['pipeline'] as const;
  /** Default class names of the data set. */
  static readonly CLASSES: readonly string[] = [];

  readonly options: BaseDatasetOptions;
  readonly metainfo: { classes: string[]; [key: string]: unknown };
  readonly pipeline: Compose;
  readonly testMode: boolean;
  /** Items skipped under `skipInvalid` (bad annotations, unreadable images). */
  readonly skipped = new SkipLog();
  /** Other counts of what loading dropped (e.g. `invalidBoxes`, `emptyImages`). */
  readonly stats: Record<string, number> = {};
  /** What loading dropped, by kind, with the files (see {@link dropSummary}). */
  readonly drops = new DropLog();
  /** One line per kind of dropped item (empty when nothing was dropped); printed once when loading ends. */
  dropSummary: string[] = [];
  protected dataListCache?: DataInfo[];
  private readonly rng: Rng;

  constructor(options: BaseDatasetOptions = {}) {
    this.options = options;
    this.testMode = options.testMode ?? false;
    const ctor = this.constructor as typeof BaseDetDataset;
    this.metainfo = { classes: [...(options.metainfo?.classes ?? ctor.CLASSES)] };
    if (options.metainfo?.palette) this.metainfo.palette = options.metainfo.palette;
    const at = Registry.buildPath(new.target);
    this.pipeline = new Compose(options.pipeline ?? [], at ? `${at}.pipeline` : 'pipeline');
    this.rng = new Rng(options.seed ?? 0);
    if (!options.lazyInit) this.fullInit();
  }

  /** Load and filter the annotations (idempotent). */
  fullInit(): void {
    if (this.dataListCache) return;
    let list = this.loadDataList();
    if (!this.testMode) list = this.filterData(list);
    const idx = this.options.indices;
    if (idx !== undefined)
      list = typeof idx === 'number' ? list.slice(0, idx) : idx.map((i) => list[i]).filter(Boolean);
    list.forEach((d, i) => (d.sampleIdx = i));
    this.dataListCache = list;
    this.reportDrops();
  }

  /** Fills {@link dropSummary}: one line per kind, prefixed with the data set and its annotation file. */
  protected reportDrops(): void {
    const lines = this.drops.lines();
    if (this.skipped.count > 0)
      lines.push(
        `skipped ${this.skipped.count} invalid item${this.skipped.count === 1 ? '' : 's'} (skipInvalid), e.g. ${this.skipped.messages[0]}`,
      );
    const where = this.options.annFile ? ` (${this.resolve(this.options.annFile)})` : '';
    this.dropSummary = lines.map((l) => `${this.constructor.name}${where}: ${l}`);
  }

  /** Read the annotation files into data infos. */
  protected abstract loadDataList(): DataInfo[];

  /** Training-time filtering (mmdetection's `filter_data`). */
  protected filterData(list: DataInfo[]): DataInfo[] {
    const cfg = this.options.filterCfg;
    if (!cfg) return list;
    const minSize = cfg.minSize ?? 0;
    const out = list.filter((d) => {
      if (cfg.filterEmptyGt && !d.instances.some((ins) => !ins.ignoreFlag)) {
        this.stats.emptyImages = (this.stats.emptyImages ?? 0) + 1;
        this.drops.add('images without boxes (filterCfg.filterEmptyGt)', annotationFile(d));
        return false;
      }
      if (minSize > 0 && d.width > 0 && Math.min(d.width, d.height) < minSize) {
        this.stats.smallImages = (this.stats.smallImages ?? 0) + 1;
        this.drops.add(`images smaller than filterCfg.minSize ${minSize}`, annotationFile(d));
        return false;
      }
      return true;
    });
    return out;
  }

  /** The loaded data infos. */
  get dataList(): DataInfo[] {
    this.fullInit();
    return this.dataListCache!;
  }

  get length(): number {
    return this.dataList.length;
  }

  /** Class names in label order. */
  get classes(): string[] {
    return this.metainfo.classes;
  }

  /** A copy of the info of image `idx`, before any transform. */
  getDataInfo(idx: number): DataInfo {
    const d = this.dataList[idx];
    if (!d)
      throw new RangeError(
        `${this.constructor.name}: index ${idx} out of range [0, ${this.length})`,
      );
    return { ...d, instances: d.instances.map((ins) => ({ ...ins })) };
  }

  /** `[h, w]` of each image, for aspect-ratio grouping (0 where unknown). */
  imageShapes(): [number, number][] {
    return this.dataList.map((d) => [d.height, d.width]);
  }

  /** Labels present in image `idx` (for class-balanced sampling). */
  getCatIds(idx: number): number[] {
    return [...new Set(this.dataList[idx].instances.map((i) => i.bboxLabel))];
  }

  /** Join a path to `dataRoot` unless absolute. */
  protected resolve(...parts: (string | undefined)[]): string {
    const p = join(...parts.filter((x): x is string => !!x));
    return isAbsolute(p) || !this.options.dataRoot ? p : join(this.options.dataRoot, p);
  }

  /** Throw or count, as `skipInvalid` says. Returns true when the caller should skip. */
  protected invalid(err: DatasetError): true {
    if (!this.options.skipInvalid) throw err;
    this.skipped.add(err.message);
    return true;
  }

  /**
   * Image `idx` through the pipeline. In training mode a sample the
   * pipeline drops (returns null) or cannot load (under `skipInvalid`) is
   * replaced by another, drawn at random, as mmdetection does; in test mode
   * that is an error.
   */
  async get(idx: number, options: GetOptions = {}): Promise<PackedInputs | DataSample> {
    const rng = options.rng ?? this.rng;
    const max = this.options.maxRefetch ?? 1000;
    let cur = idx;
    for (let attempt = 0; attempt <= max; attempt++) {
      const info = this.getDataInfo(cur) as DataSample;
      info.rng = rng;
      if (options.deferPixels) info.deferPixels = true;
      let out: DataSample | PackedInputs | null;
      try {
        out = await this.pipeline.run(info);
      } catch (e) {
        if (!(e instanceof DatasetError) || !this.options.skipInvalid) throw e;
        this.skipped.add(e.message);
        out = null;
      }
      if (out) return out;
      if (this.testMode) {
        throw new DatasetError(info.imgPath, '', `the pipeline dropped this image in test mode`);
      }
      cur = rng.int(0, this.length);
    }
    throw new Error(
      `${this.constructor.name}: no valid sample after ${max} re-draws starting at index ${idx}; check the data and the pipeline's filters`,
    );
  }
}
