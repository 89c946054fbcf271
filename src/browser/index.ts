/**
 * The browser entry (`dist/browser/tfdet.js`, built by
 * `npm run build:browser`): the same models as in Node, on WebGPU, WebGL or
 * wasm in a page, with no Node built-ins. Importing it registers every model
 * component, so any resolved config a training wrote can be built.
 *
 * @example
 * ```ts
 * import { setBackend, loadDetector } from './dist/browser/tfdet.js';
 * await setBackend('webgpu');
 * const det = await loadDetector({ config: 'work/ssd_r18_shapes.json', checkpoint: 'work/epoch_9.safetensors' });
 * const { detections, times } = await det.detect(document.querySelector('img')!);
 * ```
 *
 * @packageDocumentation
 */
import '../ops/index.js';
import '../masks/index.js';
import '../task_utils/index.js';
import '../losses/index.js';
import '../backbones/index.js';
import '../necks/index.js';
import '../classifiers/index.js';
import '../heads/index.js';
import '../roi_heads/index.js';
import '../detectors/index.js';
import '../segmentors/index.js';

export * as tf from '@tensorflow/tfjs-core';
export * from './backend.js';
export * from './detector.js';
export * from './preprocess.js';
export * from '../registry.js';
export * from '../nn/index.js';
export * from '../structures/index.js';
export { rleDecode, rleEncode } from '../masks/index.js';
export * from './finetune.js';
