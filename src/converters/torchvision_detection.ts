/**
 * torchvision's detection models (torch names and layouts) onto the
 * configs under `configs/torchvision/`: the names of our module tree and
 * our layouts (conv weights OIHW -> HWIO, linear `[out, in]` -> `[in, out]`),
 * BatchNorm buffers renamed (`running_mean` -> `runningMean`). A
 * FrozenBatchNorm2d has no `num_batches_tracked`; its count is written as
 * 0, what a fresh BatchNorm holds.
 *
 * Both torchvision key styles are read: `Conv2dNormActivation` blocks
 * (`inner_blocks.0.0.weight`, `conv.0.0.weight`, torchvision >= 0.13) and
 * the earlier bare convs (`inner_blocks.0.weight`, `conv.0.weight`,
 * `conv.2.weight` between ReLUs).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  convertTensor,
  convertTorchvisionStateDict,
  renameLeaf,
  TORCHVISION_FAMILIES,
  type TorchvisionFamily,
} from '../backbones/convert_torchvision.js';
import {
  convertTorchvisionSegmentor,
  detectTorchvisionSegmentor,
  TORCHVISION_SEGMENTORS,
  type TorchvisionSegmentor,
} from './torchvision_segmentation.js';

/** torchvision detection models the converter knows. */
export const TORCHVISION_DETECTORS = [
  'retinanet_resnet50_fpn',
  'fasterrcnn_resnet50_fpn',
  'maskrcnn_resnet50_fpn',
  'retinanet_resnet50_fpn_v2',
  'fasterrcnn_resnet50_fpn_v2',
  'maskrcnn_resnet50_fpn_v2',
  'fcos_resnet50_fpn',
] as const;
export type TorchvisionDetector = (typeof TORCHVISION_DETECTORS)[number];

/** What {@link convertTorchvisionDetector} produced. */
export interface DetectorConversion {
  model: TorchvisionDetector;
  /** Tensors in our names and layouts (new tensors; the caller disposes them). */
  state: Map<string, tf.Tensor>;
  /** Source keys left out, with why. */
  skipped: string[];
}

/** Which torchvision detector a state dict is from, by its characteristic keys; undefined if none. */
export function detectTorchvisionDetector(keys: Iterable<string>): TorchvisionDetector | undefined {
  const ks = new Set(keys);
  if (!ks.has('backbone.body.conv1.weight')) return undefined;
  if (ks.has('head.regression_head.bbox_ctrness.weight')) return 'fcos_resnet50_fpn';
  if (ks.has('head.classification_head.cls_logits.weight'))
    // v2: GroupNorm in the towers
    return ks.has('head.classification_head.conv.0.1.weight')
      ? 'retinanet_resnet50_fpn_v2'
      : 'retinanet_resnet50_fpn';
  // v2: two RPN convs, the conv box head
  const v2 = ks.has('rpn.head.conv.1.0.weight') ? '_v2' : '';
  if (ks.has('roi_heads.mask_predictor.mask_fcn_logits.weight'))
    return `maskrcnn_resnet50_fpn${v2}`;
  if (ks.has('roi_heads.box_predictor.cls_score.weight')) return `fasterrcnn_resnet50_fpn${v2}`;
  return undefined;
}

/**
 * A stacked-conv head's block: `conv.i.0.*` (Conv2dNormActivation; `.1.` its
 * GroupNorm) or the earlier `conv.2i.*` between ReLUs.
 */
function headConv(rest: string, ours: string, blocks: boolean): string | undefined {
  let m: RegExpMatchArray | null;
  if (blocks && (m = rest.match(/^(\d+)\.0\.(weight|bias)$/)))
    return `${ours}.${m[1]}.conv.${m[2]}`;
  if (blocks && (m = rest.match(/^(\d+)\.1\.(weight|bias)$/))) return `${ours}.${m[1]}.gn.${m[2]}`;
  if (!blocks && (m = rest.match(/^(\d+)\.(weight|bias)$/)) && Number(m[1]) % 2 === 0)
    return `${ours}.${Number(m[1]) / 2}.conv.${m[2]}`;
  return undefined;
}

/** The ResNet body and its FPN (`backbone.body.*`, `backbone.fpn.*`). */
function mapResnetFpn(key: string, fpnLevels: number): string | undefined {
  let m: RegExpMatchArray | null;
  if ((m = key.match(/^backbone\.body\.(.+)$/))) return `backbone.${m[1]}`;
  if ((m = key.match(/^backbone\.fpn\.(inner|layer)_blocks\.(\d+)\.(?:0\.)?(weight|bias)$/)))
    return `neck.${m[1] === 'inner' ? 'lateralConvs' : 'fpnConvs'}.${m[2]}.conv.${m[3]}`;
  // the v2 models' FPN BatchNorms
  if ((m = key.match(/^backbone\.fpn\.(inner|layer)_blocks\.(\d+)\.1\.(\w+)$/)))
    return `neck.${m[1] === 'inner' ? 'lateralConvs' : 'fpnConvs'}.${m[2]}.bn.${m[3]}`;
  if ((m = key.match(/^backbone\.fpn\.extra_blocks\.p([67])\.(weight|bias)$/)))
    return `neck.fpnConvs.${fpnLevels + Number(m[1]) - 6}.conv.${m[2]}`;
  return undefined;
}

function mapRetinanet(key: string, blocks: boolean): string | undefined {
  let m: RegExpMatchArray | null;
  if ((m = key.match(/^head\.classification_head\.conv\.(.+)$/)))
    return headConv(m[1], 'bboxHead.clsConvs', blocks);
  if ((m = key.match(/^head\.regression_head\.conv\.(.+)$/)))
    return headConv(m[1], 'bboxHead.regConvs', blocks);
  if ((m = key.match(/^head\.classification_head\.cls_logits\.(weight|bias)$/)))
    return `bboxHead.retinaCls.${m[1]}`;
  if ((m = key.match(/^head\.regression_head\.bbox_reg\.(weight|bias)$/)))
    return `bboxHead.retinaReg.${m[1]}`;
  return mapResnetFpn(key, 3);
}

/**
 * FCOS: each tower a flat `Sequential` of (conv, GroupNorm, ReLU) x 4, so
 * entry `3i` is conv `i` and `3i + 1` its GroupNorm.
 */
function mapFcos(key: string): string | undefined {
  let m: RegExpMatchArray | null;
  if ((m = key.match(/^head\.(classification|regression)_head\.conv\.(\d+)\.(weight|bias)$/))) {
    const tower = m[1] === 'classification' ? 'clsConvs' : 'regConvs';
    const k = Number(m[2]);
    if (k % 3 === 2) return undefined;
    return `bboxHead.${tower}.${Math.floor(k / 3)}.${k % 3 ? 'gn' : 'conv'}.${m[3]}`;
  }
  const heads: Record<string, string> = {
    'classification_head.cls_logits': 'convCls',
    'regression_head.bbox_reg': 'convReg',
    'regression_head.bbox_ctrness': 'convCenterness',
  };
  if ((m = key.match(/^head\.(\w+\.\w+)\.(weight|bias)$/)) && heads[m[1]])
    return `bboxHead.${heads[m[1]]}.${m[2]}`;
  return mapResnetFpn(key, 3);
}

/** A target name and how the tensor changes on the way (beyond the layout). */
interface Target {
  name: string;
  /**
   * Output rows of a class layer: background moved from first to last
   * (`cls_score`), or its 4 box deltas dropped (`bbox_pred`), or its mask
   * dropped (`mask_fcn_logits`).
   */
  classes?: 'bgLast' | 'dropBg' | 'dropBgMask';
}

/**
 * Faster / Mask R-CNN: a plain name, or a target whose class rows change.
 * v2: the RPN's convs `rpn.head.conv.i.0`, the box head's convs
 * `box_head.i.0` (BatchNorm `.1`) and its FC `box_head.5` after the flatten,
 * the mask head's BatchNorms.
 */
function mapRcnn(key: string, v2: boolean): string | Target | undefined {
  let m: RegExpMatchArray | null;
  if (v2 && (m = key.match(/^rpn\.head\.conv\.(\d+)\.0\.(weight|bias)$/)))
    return `rpnHead.rpnConv.${m[1]}.conv.${m[2]}`;
  if (v2 && (m = key.match(/^roi_heads\.box_head\.([0-3])\.0\.weight$/)))
    return `roiHead.bboxHead.sharedConvs.${m[1]}.conv.weight`;
  if (v2 && (m = key.match(/^roi_heads\.box_head\.([0-3])\.1\.(\w+)$/)))
    return `roiHead.bboxHead.sharedConvs.${m[1]}.bn.${m[2]}`;
  if (v2 && (m = key.match(/^roi_heads\.box_head\.5\.(weight|bias)$/)))
    return `roiHead.bboxHead.sharedFcs.0.${m[1]}`;
  if (v2 && (m = key.match(/^roi_heads\.mask_head\.(\d+)\.1\.(\w+)$/)))
    return `roiHead.maskHead.convs.${m[1]}.bn.${m[2]}`;
  if (!v2 && (m = key.match(/^rpn\.head\.conv\.(?:0\.0\.)?(weight|bias)$/)))
    return `rpnHead.rpnConv.${m[1]}`;
  if ((m = key.match(/^rpn\.head\.cls_logits\.(weight|bias)$/))) return `rpnHead.rpnCls.${m[1]}`;
  if ((m = key.match(/^rpn\.head\.bbox_pred\.(weight|bias)$/))) return `rpnHead.rpnReg.${m[1]}`;
  // our box head flattens RoI features channel-major, as torch does: fc6 maps by a transpose
  if ((m = key.match(/^roi_heads\.box_head\.fc([67])\.(weight|bias)$/)))
    return `roiHead.bboxHead.sharedFcs.${Number(m[1]) - 6}.${m[2]}`;
  if ((m = key.match(/^roi_heads\.box_predictor\.cls_score\.(weight|bias)$/)))
    return { name: `roiHead.bboxHead.fcCls.${m[1]}`, classes: 'bgLast' };
  if ((m = key.match(/^roi_heads\.box_predictor\.bbox_pred\.(weight|bias)$/)))
    return { name: `roiHead.bboxHead.fcReg.${m[1]}`, classes: 'dropBg' };
  if ((m = key.match(/^roi_heads\.mask_head\.(?:(\d+)\.0|mask_fcn(\d+))\.(weight|bias)$/)))
    return `roiHead.maskHead.convs.${m[1] ?? Number(m[2]) - 1}.conv.${m[3]}`;
  if ((m = key.match(/^roi_heads\.mask_predictor\.conv5_mask\.(weight|bias)$/)))
    return `roiHead.maskHead.upsample.${m[1]}`;
  if ((m = key.match(/^roi_heads\.mask_predictor\.mask_fcn_logits\.(weight|bias)$/)))
    return { name: `roiHead.maskHead.convLogits.${m[1]}`, classes: 'dropBgMask' };
  return mapResnetFpn(key, 4);
}

/**
 * torchvision's class layers put the background first (`cls_score` row 0,
 * `bbox_pred` rows 0-3); ours put it last and predict no box for it.
 */
function reorderClasses(t: tf.Tensor, how: NonNullable<Target['classes']>): tf.Tensor {
  const n = t.shape[0];
  return tf.tidy(() =>
    how === 'bgLast'
      ? tf.concat([tf.slice(t, [1], [n - 1]), tf.slice(t, [0], [1])], 0)
      : how === 'dropBg'
        ? tf.slice(t, [4], [n - 4])
        : tf.slice(t, [1], [n - 1]),
  );
}

/**
 * Maps a torchvision detection state dict onto the names and layouts of
 * the matching `configs/torchvision/` model. Throws naming the first key
 * it has no place for.
 *
 * @example
 * ```ts
 * const sd = new Map([['backbone.fpn.inner_blocks.0.0.weight', tf.zeros([256, 512, 1, 1])],
 *   ['head.classification_head.cls_logits.weight', tf.zeros([819, 256, 3, 3])],
 *   ['backbone.body.conv1.weight', tf.zeros([64, 3, 7, 7])]]);
 * const { model, state } = convertTorchvisionDetector(sd);
 * model; // => 'retinanet_resnet50_fpn'
 * state.get('neck.lateralConvs.0.conv.weight')!.shape; // => [1, 1, 512, 256]
 * ```
 */
export function convertTorchvisionDetector(
  sd: Map<string, tf.Tensor>,
  model?: TorchvisionDetector,
  options: { disposeSource?: boolean } = {},
): DetectorConversion {
  const which = model ?? detectTorchvisionDetector(sd.keys());
  if (!which)
    throw new Error(
      `cannot tell which torchvision detector these weights are from (first keys: ${[...sd.keys()].slice(0, 4).join(', ')}); pass --model (${TORCHVISION_DETECTORS.join(', ')})`,
    );
  const blocks = [...sd.keys()].some((k) => /^backbone\.fpn\.inner_blocks\.\d+\.0\./.test(k));
  const state = new Map<string, tf.Tensor>();
  for (const [key, t] of sd) {
    const mapped = which.startsWith('retinanet')
      ? mapRetinanet(key, blocks)
      : which.startsWith('fcos')
        ? mapFcos(key)
        : mapRcnn(key, which.endsWith('_v2'));
    const target = typeof mapped === 'string' ? { name: mapped } : mapped;
    if (!target) throw new Error(`${which}: no tfdet name for torchvision key '${key}'`);
    const src = target.classes ? reorderClasses(t, target.classes) : t;
    state.set(renameLeaf(target.name), convertTensor(src, false));
    if (src !== t) src.dispose();
    if (options.disposeSource) t.dispose();
  }
  // torchvision's FCOS has no per-level scales: ours are written as 1, which changes nothing
  if (which.startsWith('fcos'))
    for (let l = 0; l < 5; l++) state.set(`bboxHead.scales.${l}.scale`, tf.scalar(1));
  // FrozenBatchNorm2d keeps no count; a fresh BatchNorm's is 0
  for (const k of [...state.keys()]) {
    const count = k.replace(/runningMean$/, 'numBatchesTracked');
    if (k.endsWith('.runningMean') && !state.has(count)) state.set(count, tf.scalar(0, 'int32'));
  }
  return { model: which, state, skipped: [] };
}

/** What {@link convertTorchvision} did: a classifier's family or a model's name, and the tensors. */
export interface TorchvisionConversion {
  model: string;
  state: Map<string, tf.Tensor>;
  skipped: string[];
}

/**
 * A torchvision state dict in our names and layouts: a detector or a
 * segmentation model (named, or told by its keys) or a classification
 * backbone (its family, named or told by its keys).
 */
export function convertTorchvision(
  sd: Map<string, tf.Tensor>,
  model?: string,
  options: { disposeSource?: boolean } = {},
): TorchvisionConversion {
  const among = <T extends string>(list: readonly T[]): T | undefined =>
    model && (list as readonly string[]).includes(model) ? (model as T) : undefined;
  const det = model ? among(TORCHVISION_DETECTORS) : detectTorchvisionDetector(sd.keys());
  if (det) return convertTorchvisionDetector(sd, det, options);
  const seg = model
    ? among<TorchvisionSegmentor>(TORCHVISION_SEGMENTORS)
    : detectTorchvisionSegmentor(sd.keys());
  if (seg) return convertTorchvisionSegmentor(sd, seg, options);
  const r = convertTorchvisionStateDict(sd, model as TorchvisionFamily | undefined, options);
  return { model: r.family, state: r.state, skipped: r.skipped };
}

/** Every name `--model` takes: the detectors, the segmentation models, then the classification families. */
export const TORCHVISION_MODELS: readonly string[] = [
  ...TORCHVISION_DETECTORS,
  ...TORCHVISION_SEGMENTORS,
  ...TORCHVISION_FAMILIES,
];
