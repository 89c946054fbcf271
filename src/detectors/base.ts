/**
 * mmdet `BaseDetector` (`models/detectors/base.py`): what every detector
 * shares. It builds the backbone and the optional neck, keeps `trainCfg` /
 * `testCfg`, extracts features, and dispatches mmdet's `forward(inputs,
 * data_samples, mode)` to `loss`, `predict` or `_forward`. `dataPreprocessor`
 * and `initCfg` are accepted for mmdetection configs: the pipeline
 * normalises and pads, and the parts initialise themselves.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Module } from '../nn/module.js';
import { isTypedConfig, MODELS, Registry, type TypedConfig } from '../registry.js';
import type { DetBatch, DetDataSample, LossDict } from '../structures/index.js';

/** Options every detector takes (mmdet `BaseDetector.__init__` plus backbone and neck). */
export interface BaseDetectorOptions<TrainCfg = unknown, TestCfg = unknown> {
  backbone: Module | TypedConfig;
  neck?: Module | TypedConfig | null;
  trainCfg?: TrainCfg | null;
  testCfg?: TestCfg | null;
  dataPreprocessor?: unknown;
  initCfg?: unknown;
}

/** A child module: built from its config (at `path` for errors), or taken as given. */
const buildChild = (c: unknown, path: string): Module =>
  isTypedConfig(c) ? MODELS.build<Module>(c, { path }) : (c as Module);

const asList = (x: tf.Tensor4D | tf.Tensor4D[]): tf.Tensor4D[] => (Array.isArray(x) ? x : [x]);

/**
 * The base of the detectors: a subclass builds its heads after `super()`
 * and implements `loss`, `predict` and `_forward`.
 */
export abstract class BaseDetector<TrainCfg = unknown, TestCfg = unknown> extends Module {
  readonly backbone: Module;
  readonly neck?: Module;
  readonly trainCfg?: TrainCfg | null;
  readonly testCfg?: TestCfg | null;
  /** Where the user's config put this detector (`model`), for the key paths of errors. */
  protected readonly cfgPath: string;

  constructor(opts: BaseDetectorOptions<TrainCfg, TestCfg>) {
    super();
    this.cfgPath = Registry.buildPath(new.target) ?? 'model';
    const at = this.cfgPath;
    this.backbone = this.addModule('backbone', buildChild(opts.backbone, `${at}.backbone`));
    if (opts.neck) this.neck = this.addModule('neck', buildChild(opts.neck, `${at}.neck`));
    this.trainCfg = opts.trainCfg;
    this.testCfg = opts.testCfg;
  }

  /** Backbone (and neck) features, NHWC, highest resolution first. */
  extractFeat(inputs: tf.Tensor4D): tf.Tensor4D[] {
    let x = asList(this.backbone.forward(inputs) as tf.Tensor4D | tf.Tensor4D[]);
    if (this.neck) x = asList(this.neck.forward(x) as tf.Tensor4D | tf.Tensor4D[]);
    return x;
  }

  /** Losses of a batch; call inside a gradient closure (keys containing 'loss' are summed by the engine). */
  abstract loss(batch: DetBatch): LossDict;

  /**
   * Detections per image, boxes in original-image pixels (`rescale`) or
   * network-input pixels. Asynchronous: the head outputs are read back with
   * `await` (the only read that works on webgpu), in as few reads as the
   * heads can make.
   */
  abstract predict(batch: DetBatch, rescale?: boolean): Promise<DetDataSample[]>;

  /** mmdet's `_forward`: the raw outputs of the heads, without post-processing. */
  protected abstract _forward(batch: DetBatch): unknown;

  /** mmdet's `forward(inputs, data_samples, mode)`: `'loss'`, `'predict'` or `'tensor'` (the raw outputs). */
  forward(batch: DetBatch, mode: 'loss' | 'predict' | 'tensor' = 'tensor'): unknown {
    if (mode === 'loss') return this.loss(batch);
    if (mode === 'predict') return this.predict(batch);
    return this._forward(batch);
  }
}
