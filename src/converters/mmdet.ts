/**
 * mmdetection's (and mmsegmentation's) state dicts onto the configs that
 * mirror them. Our module trees carry mmdetection's attribute names in
 * camelCase (`bbox_head.retina_cls` -> `bboxHead.retinaCls`,
 * `backbone.conv_res_block1.res0` -> `backbone.convResBlock1.res0`), so a
 * key maps segment by segment; the exceptions are where our tree is
 * flatter: ASPPHead's `image_pool.1` (behind its pooling layer) is our
 * `imagePool`, and SSDHead's one-conv `cls_convs.i.0` is our `clsConvs.i`.
 * Checkpoints from before mmdetection 2.14 keep SSD's extra layers and L2
 * norm in the backbone (`backbone.extra.k`, `backbone.l2_norm`) and its
 * head convs bare (`cls_convs.i.weight`); they are read too. Layouts change
 * as for torchvision (conv OIHW -> HWIO, linear `[out, in]` -> `[in, out]`);
 * class layers keep their order (mmdetection's background is last, as ours).
 */
import * as tf from '@tensorflow/tfjs-core';
import { convertTensor } from '../backbones/convert_torchvision.js';

/** mmdetection / mmsegmentation models the converter knows, told by their keys. */
export const MMDET_MODELS = [
  'retinanet',
  'faster_rcnn',
  'mask_rcnn',
  'fcos',
  'ssd300',
  'yolov3',
  'fcn',
  'deeplabv3',
] as const;
export type MmdetModel = (typeof MMDET_MODELS)[number];

/** Which mmdetection model a state dict is from, by its characteristic keys; undefined if none. */
export function detectMmdetModel(keys: Iterable<string>): MmdetModel | undefined {
  const ks = [...keys];
  const has = (re: RegExp): boolean => ks.some((k) => re.test(k));
  if (!has(/^backbone\./) || has(/^backbone\.body\./)) return undefined;
  if (has(/^bbox_head\.retina_cls\./)) return 'retinanet';
  if (has(/^roi_head\.mask_head\./)) return 'mask_rcnn';
  if (has(/^roi_head\.bbox_head\./)) return 'faster_rcnn';
  if (has(/^bbox_head\.conv_centerness\./)) return 'fcos';
  if (has(/^(neck|backbone)\.l2_norm\./)) return 'ssd300';
  if (has(/^bbox_head\.convs_pred\./)) return 'yolov3';
  if (has(/^decode_head\.aspp_modules\./)) return 'deeplabv3';
  if (has(/^decode_head\.conv_seg\./)) return 'fcn';
  return undefined;
}

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Our name for an mmdetection key of `model`.
 *
 * @example
 * ```ts
 * mmdetKey('backbone.conv_res_block1.res0.conv1.bn.running_mean', 'yolov3');
 * // => 'backbone.convResBlock1.res0.conv1.bn.runningMean'
 * mmdetKey('decode_head.image_pool.1.conv.weight', 'deeplabv3'); // => 'decodeHead.imagePool.conv.weight'
 * mmdetKey('backbone.extra.3.bias', 'ssd300'); // => 'neck.extraLayers.1.1.conv.bias'
 * ```
 */
export function mmdetKey(key: string, model: MmdetModel): string {
  let k = key;
  let m: RegExpMatchArray | null;
  if (model === 'deeplabv3')
    k = k.replace(/^decode_head\.image_pool\.1\./, 'decode_head.image_pool.');
  if (model === 'ssd300') {
    if ((m = k.match(/^bbox_head\.(cls|reg)_convs\.(\d+)\.0\.(weight|bias)$/)))
      k = `bbox_head.${m[1]}_convs.${m[2]}.${m[3]}`;
    // before mmdetection 2.14: the extra layers and the L2 norm in the backbone
    else if ((m = k.match(/^backbone\.extra\.(\d+)\.(weight|bias)$/)))
      k = `neck.extra_layers.${Math.floor(Number(m[1]) / 2)}.${Number(m[1]) % 2}.conv.${m[2]}`;
    else if (k === 'backbone.l2_norm.weight') k = 'neck.l2_norm.weight';
  }
  return k.split('.').map(camel).join('.');
}

/** What {@link convertMmdet} produced. */
export interface MmdetConversion {
  model: MmdetModel;
  /** Tensors in our names and layouts (new tensors; the caller disposes them). */
  state: Map<string, tf.Tensor>;
  /** Source keys left out, with why. */
  skipped: string[];
}

/**
 * Maps an mmdetection state dict (its `state_dict`, unwrapped by the
 * `.pth` reader) onto the names and layouts of the config that mirrors it.
 * Throws when the keys are from no model it knows and `model` is not given.
 *
 * @example
 * ```ts
 * const sd = new Map([['backbone.conv1.weight', tf.zeros([64, 3, 7, 7])],
 *   ['bbox_head.retina_cls.weight', tf.zeros([720, 256, 3, 3])]]);
 * const { model, state } = convertMmdet(sd);
 * model; // => 'retinanet'
 * state.get('bboxHead.retinaCls.weight')!.shape; // => [3, 3, 256, 720]
 * ```
 */
export function convertMmdet(
  sd: Map<string, tf.Tensor>,
  model?: MmdetModel,
  options: { disposeSource?: boolean } = {},
): MmdetConversion {
  const which = model ?? detectMmdetModel(sd.keys());
  if (!which)
    throw new Error(
      `cannot tell which mmdetection model these weights are from (first keys: ${[...sd.keys()].slice(0, 4).join(', ')}); pass --model (${MMDET_MODELS.join(', ')})`,
    );
  const state = new Map<string, tf.Tensor>();
  const skipped: string[] = [];
  for (const [key, t] of sd) {
    // mmdetection 2.x's EMA hooks keep their averages as model buffers named `ema_*`
    if (key.startsWith('ema_')) {
      skipped.push(`${key} (an EMA copy, not a model weight)`);
    } else {
      state.set(mmdetKey(key, which), convertTensor(t, false));
    }
    if (options.disposeSource) t.dispose();
  }
  return { model: which, state, skipped };
}
