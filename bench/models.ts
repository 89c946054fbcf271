/**
 * Model definitions shared by the benches: the ResNet-18 classifier of
 * bench/backend.ts and the RetinaNet R-18 FPN of bench/train.ts, ours and
 * the Python lines that build the same model in torchvision.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ResNet } from '../src/backbones/index.js';
import '../src/necks/index.js';
import '../src/detectors/index.js';
import type { SingleStageDetector } from '../src/detectors/index.js';
import { Linear, Module } from '../src/index.js';
import { MODELS } from '../src/registry.js';
import type { DetBatch } from '../src/structures/index.js';

/** ResNet-18 with global average pooling and a 1000-way linear head (torchvision's resnet18). */
export class Classifier extends Module {
  readonly backbone = this.addModule(
    'backbone',
    new ResNet({ depth: 18, outIndices: [3], normEval: false }),
  );
  readonly fc = this.addModule('fc', new Linear(512, 1000));
  forward(x: tf.Tensor4D): tf.Tensor2D {
    const [f] = this.backbone.forward(x);
    return this.fc.forward(tf.mean(f, [1, 2])) as tf.Tensor2D;
  }
}

/**
 * A training step of the {@link Classifier} (forward and backward, no
 * optimizer) on fixed random images of `batch` x `size` x `size` and labels
 * `(i * 37) % 1000`, as the PyTorch side builds them; `step` returns the loss.
 */
export function classifierStep(
  batch: number,
  size: number,
): { step: () => number; dispose: () => void } {
  const model = new Classifier();
  model.train();
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const labels = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batch }, (_, i) => (i * 37) % 1000),
      'int32',
    ),
    1000,
  );
  const vars = model.trainableParameters().map(([, v]) => v);
  const step = (): number =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(labels, model.forward(x)) as tf.Scalar,
        vars,
      );
      // Reading every gradient forces the whole backward pass to finish.
      for (const g of Object.values(grads)) g.dataSync();
      return value.dataSync()[0];
    });
  return { step, dispose: () => (model.dispose(), tf.dispose([x, labels])) };
}

/** Python lines that build `m`, torchvision's ResNet-18 (needs `import torchvision`). */
export const TORCH_RESNET18 = 'm = torchvision.models.resnet18()';

/** Deterministic boxes (x1, y1, x2, y2) and labels per image, the same on both sides. */
export interface Targets {
  boxes: number[][][];
  labels: number[][];
}

/** `perImage` random boxes (32..232 px a side) inside a `size`² image for each of `batch` images. */
export function retinaTargets(
  batch: number,
  size: number,
  numClasses: number,
  perImage: number,
): Targets {
  let s = 12345;
  const r = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const boxes: number[][][] = [];
  const labels: number[][] = [];
  for (let b = 0; b < batch; b++) {
    const bb: number[][] = [];
    const ll: number[] = [];
    for (let k = 0; k < perImage; k++) {
      const w = 32 + r() * 200,
        h = 32 + r() * 200;
      const x = r() * (size - w),
        y = r() * (size - h);
      bb.push([x, y, x + w, y + h]);
      ll.push(Math.floor(r() * numClasses));
    }
    boxes.push(bb);
    labels.push(ll);
  }
  return { boxes, labels };
}

/** Our RetinaNet: ResNet-18 (C3-C5), FPN P3-P7 with 256 channels, 9 anchors per location. */
export function buildRetinaNet(numClasses: number): SingleStageDetector {
  return MODELS.build<SingleStageDetector>({
    type: 'RetinaNet',
    backbone: { type: 'ResNet', depth: 18, outIndices: [1, 2, 3], normEval: true },
    neck: {
      type: 'FPN',
      inChannels: [128, 256, 512],
      outChannels: 256,
      startLevel: 0,
      addExtraConvs: 'onOutput',
      numOuts: 5,
    },
    bboxHead: {
      type: 'RetinaHead',
      numClasses,
      inChannels: 256,
      stackedConvs: 4,
      featChannels: 256,
      anchorGenerator: {
        type: 'AnchorGenerator',
        octaveBaseScale: 4,
        scalesPerOctave: 3,
        ratios: [0.5, 1.0, 2.0],
        strides: [8, 16, 32, 64, 128],
      },
      bboxCoder: {
        type: 'DeltaXYWHBBoxCoder',
        targetMeans: [0, 0, 0, 0],
        targetStds: [1, 1, 1, 1],
      },
      lossCls: { type: 'FocalLoss', useSigmoid: true, gamma: 2.0, alpha: 0.25, lossWeight: 1.0 },
      lossBbox: { type: 'L1Loss', lossWeight: 1.0 },
    },
    trainCfg: {
      assigner: {
        type: 'MaxIoUAssigner',
        posIouThr: 0.5,
        negIouThr: 0.4,
        minPosIou: 0,
        ignoreIofThr: -1,
      },
      allowedBorder: -1,
      posWeight: -1,
    },
    testCfg: {
      nmsPre: 1000,
      minBboxSize: 0,
      scoreThr: 0.05,
      nms: { type: 'nms', iouThreshold: 0.5 },
      maxPerImg: 100,
    },
  });
}

/** A detection batch of `inputs` ([N, size, size, 3]) with the ground truth of `t`. */
export function retinaBatch(inputs: tf.Tensor4D, t: Targets, size: number): DetBatch {
  const meta = {
    imgId: 0,
    imgPath: '',
    oriShape: [size, size] as [number, number],
    imgShape: [size, size] as [number, number],
    scaleFactor: [1, 1] as [number, number],
    flip: false,
    flipDirection: null,
    padShape: [size, size] as [number, number],
    batchInputShape: [size, size] as [number, number],
  };
  return {
    inputs,
    dataSamples: t.boxes.map((b, i) => ({
      metainfo: { ...meta, imgId: i },
      gtInstances: { bboxes: Float32Array.from(b.flat()), labels: Int32Array.from(t.labels[i]) },
    })),
  };
}

/**
 * Python lines that build `model`, torchvision's RetinaNet with a ResNet-18
 * FPN backbone (P3-P7, 9 anchors), from a dict `cfg` with `numClasses` and
 * `size`. They import what they use.
 */
export const TORCH_RETINANET = String.raw`
from torchvision.models.detection import RetinaNet
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
from torchvision.ops.feature_pyramid_network import LastLevelP6P7
bb = resnet_fpn_backbone(backbone_name='resnet18', weights=None, trainable_layers=5, returned_layers=[2, 3, 4], extra_blocks=LastLevelP6P7(256, 256))
model = RetinaNet(bb, num_classes=cfg['numClasses'], min_size=cfg['size'], max_size=cfg['size'])
`;
