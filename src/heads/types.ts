/**
 * Configuration types of the dense heads (`trainCfg`, `testCfg`).
 */

/** `trainCfg` of a dense head. */
export interface DenseTrainCfg {
  assigner?: Record<string, unknown>;
  sampler?: Record<string, unknown>;
  /** Anchors further outside the image than this are not trained (`< 0`: keep all valid anchors). */
  allowedBorder?: number;
  /** Weight of positive samples in the classification loss (`<= 0`: 1). */
  posWeight?: number;
  /** SSD: negatives per positive kept by hard negative mining. */
  negPosRatio?: number;
  smoothl1Beta?: number;
  debug?: boolean;
  [key: string]: unknown;
}

/** `testCfg` of a dense head (mmdet names in camelCase). */
export interface DenseTestCfg {
  nmsPre?: number;
  minBboxSize?: number;
  scoreThr?: number;
  nms?: { type?: string; iouThreshold: number; classAgnostic?: boolean };
  maxPerImg?: number;
  [key: string]: unknown;
}
