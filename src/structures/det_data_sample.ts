/**
 * The data samples of detection (mmdetection's `DetDataSample`): what the
 * loader hands a detector per image ({@link DetSample}) and what `predict`
 * returns and the metrics read ({@link DetDataSample}).
 */
import type { ImgMeta } from './img_meta.js';
import type { GtInstance, GtInstances, InstanceData, PredInstances } from './instance_data.js';
import type { PixelData } from './seg_data_sample.js';

/** One image's targets and meta information, as collated by the loader. */
export interface DetSample {
  metainfo: ImgMeta;
  gtInstances: GtInstances;
  ignoredInstances?: GtInstances;
}

/**
 * One image's sample with predictions: what `predict` returns per image
 * (with `metainfo`, whose fields are also copied to the top level as
 * mmdetection exposes them) and what the metrics' `process()` takes.
 * `P` is the form of the predictions: the models' {@link InstanceData}, or
 * any {@link PredInstances} for the metrics (see {@link MetricDataSample}).
 */
export interface DetDataSample<P extends PredInstances = InstanceData> {
  metainfo: ImgMeta;
  predInstances: P;
  imgId?: number;
  /** `[height, width]` of the original image (the size of bitmap masks). */
  oriShape?: readonly [number, number];
  width?: number;
  height?: number;
  /** Ground truth, used when the metric has no annotation file. */
  instances?: readonly GtInstance[];
  /** mmdetection style ground truth (alternative to `instances`). */
  gtInstances?: Pick<PredInstances, 'bboxes' | 'labels'>;
  /** mmdetection style ignored (difficult) ground truth. */
  ignoredInstances?: Pick<PredInstances, 'bboxes' | 'labels'>;
  [key: string]: unknown;
}

/** A {@link DetDataSample} as the metrics (CocoMetric, VOCMetric) read it: every field optional, predictions in any form. */
export type MetricDataSample = Partial<DetDataSample<PredInstances>>;

/** The sample PackDetInputs / PackSegInputs pack for one image: a {@link DetSample} with `ignoredInstances`, and PackSegInputs' label map. */
export type PackedDataSample = DetSample & { ignoredInstances: GtInstances; gtSemSeg?: PixelData };
