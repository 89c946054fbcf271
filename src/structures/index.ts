/**
 * The data structures every stage passes on (mmdet.structures): data
 * samples, instances, loss dicts and batches, defined once here and imported
 * by the datasets, models, engine and metrics.
 */
export type * from './img_meta.js';
export type * from './instance_data.js';
export type * from './det_data_sample.js';
export type * from './seg_data_sample.js';
export type * from './cls_data_sample.js';
export type * from './loss.js';
export type * from './batch.js';
export * from './prediction_entry.js';
