/** RoI feature extractors of the RoI heads (registered in MODELS). */
export * from './single_level_roi_extractor.js';
