/**
 * The data sample of classification (mmpretrain's `DataSample`, as the
 * Accuracy metric reads it).
 */

/** One prediction: the class scores and the true label. */
export interface ClsDataSample {
  predScore: ArrayLike<number>;
  gtLabel: number;
}
