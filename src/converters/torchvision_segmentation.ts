/**
 * torchvision's semantic segmentation models (torch names and layouts) onto
 * the configs under `configs/torchvision/`: the dilated ResNet body
 * (`backbone.*`, an IntermediateLayerGetter over `resnet50/101` with
 * `replace_stride_with_dilation=[False, True, True]`) onto our ResNet with
 * `contractDilation`, `classifier` onto the decode head and `aux_classifier`
 * onto the auxiliary head, both FCNHead-like (`Conv3x3-BN-ReLU-Dropout-Conv1x1`)
 * or, for DeepLabV3, the ASPP of `DeepLabHead` onto our ASPPHead with
 * `imagePoolLast` and `projectChannels`. The MobileNetV3 models' body
 * (`backbone.k`, torchvision's `features[k]` of the dilated
 * `mobilenet_v3_large`) onto our MobileNetV3's `layerk`, as the
 * classification converter maps it; LR-ASPP's `classifier` onto LRASPPHead.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  convertTensor,
  convertTorchvisionStateDict,
  renameLeaf,
} from '../backbones/convert_torchvision.js';

/** torchvision segmentation models the converter knows. */
export const TORCHVISION_SEGMENTORS = [
  'fcn_resnet50',
  'fcn_resnet101',
  'deeplabv3_resnet50',
  'deeplabv3_resnet101',
  'deeplabv3_mobilenet_v3_large',
  'lraspp_mobilenet_v3_large',
] as const;
export type TorchvisionSegmentor = (typeof TORCHVISION_SEGMENTORS)[number];

/** Which torchvision segmentation model a state dict is from, by its keys; undefined if none. */
export function detectTorchvisionSegmentor(
  keys: Iterable<string>,
): TorchvisionSegmentor | undefined {
  const ks = new Set(keys);
  if (ks.has('backbone.1.block.0.0.weight')) {
    if (ks.has('classifier.cbr.0.weight')) return 'lraspp_mobilenet_v3_large';
    if (ks.has('classifier.0.convs.0.0.weight')) return 'deeplabv3_mobilenet_v3_large';
    return undefined;
  }
  if (!ks.has('backbone.conv1.weight') || !ks.has('classifier.4.weight')) return undefined;
  // ResNet-101's layer3 has 23 blocks, ResNet-50's 6
  const depth = ks.has('backbone.layer3.22.conv1.weight') ? 101 : 50;
  const family = ks.has('classifier.0.convs.0.0.weight') ? 'deeplabv3' : 'fcn';
  return `${family}_resnet${depth}`;
}

/** An FCNHead-like `Sequential`: conv 0, BatchNorm 1, classifier 4. */
function fcnLike(rest: string, head: string): string | undefined {
  let m: RegExpMatchArray | null;
  if (rest === '0.weight') return `${head}.convs.0.conv.weight`;
  if ((m = rest.match(/^1\.(\w+)$/))) return `${head}.convs.0.bn.${m[1]}`;
  if ((m = rest.match(/^4\.(weight|bias)$/))) return `${head}.convSeg.${m[1]}`;
  return undefined;
}

/** DeepLabHead: `0` the ASPP, `1`/`2` the 3x3 conv and its BatchNorm, `4` the classifier. */
function deeplabHead(rest: string): string | undefined {
  const h = 'decodeHead';
  let m: RegExpMatchArray | null;
  // ASPP branches 0-3: (conv, BN); branch 4 the pooling: (pool, conv, BN)
  if ((m = rest.match(/^0\.convs\.([0-3])\.0\.weight$/)))
    return `${h}.asppModules.${m[1]}.conv.weight`;
  if ((m = rest.match(/^0\.convs\.([0-3])\.1\.(\w+)$/)))
    return `${h}.asppModules.${m[1]}.bn.${m[2]}`;
  if (rest === '0.convs.4.1.weight') return `${h}.imagePool.conv.weight`;
  if ((m = rest.match(/^0\.convs\.4\.2\.(\w+)$/))) return `${h}.imagePool.bn.${m[1]}`;
  if (rest === '0.project.0.weight') return `${h}.project.conv.weight`;
  if ((m = rest.match(/^0\.project\.1\.(\w+)$/))) return `${h}.project.bn.${m[1]}`;
  if (rest === '1.weight') return `${h}.bottleneck.conv.weight`;
  if ((m = rest.match(/^2\.(\w+)$/))) return `${h}.bottleneck.bn.${m[1]}`;
  if ((m = rest.match(/^4\.(weight|bias)$/))) return `${h}.convSeg.${m[1]}`;
  return undefined;
}

/** LR-ASPP's head: `cbr` (conv, BatchNorm), `scale.1` the gate's conv, the two classifiers. */
function lrasppHead(rest: string): string | undefined {
  const h = 'decodeHead';
  let m: RegExpMatchArray | null;
  if (rest === 'cbr.0.weight') return `${h}.cbr.conv.weight`;
  if ((m = rest.match(/^cbr\.1\.(\w+)$/))) return `${h}.cbr.bn.${m[1]}`;
  if (rest === 'scale.1.weight') return `${h}.scale.conv.weight`;
  if ((m = rest.match(/^low_classifier\.(weight|bias)$/))) return `${h}.lowClassifier.${m[1]}`;
  if ((m = rest.match(/^high_classifier\.(weight|bias)$/))) return `${h}.convSeg.${m[1]}`;
  return undefined;
}

function mapKey(key: string, model: TorchvisionSegmentor): string | undefined {
  let m: RegExpMatchArray | null;
  if ((m = key.match(/^backbone\.(.+)$/))) return `backbone.${m[1]}`;
  if (model.startsWith('lraspp')) {
    m = key.match(/^classifier\.(.+)$/);
    return m ? lrasppHead(m[1]) : undefined;
  }
  if ((m = key.match(/^aux_classifier\.(.+)$/))) return fcnLike(m[1], 'auxiliaryHead');
  if ((m = key.match(/^classifier\.(.+)$/)))
    return model.startsWith('fcn') ? fcnLike(m[1], 'decodeHead') : deeplabHead(m[1]);
  return undefined;
}

/** What {@link convertTorchvisionSegmentor} produced. */
export interface SegmentorConversion {
  model: TorchvisionSegmentor;
  /** Tensors in our names and layouts (new tensors; the caller disposes them). */
  state: Map<string, tf.Tensor>;
  skipped: string[];
}

/**
 * Maps a torchvision segmentation state dict onto the names and layouts of
 * the matching `configs/torchvision/` model. Throws naming the first key it
 * has no place for.
 *
 * @example
 * ```ts
 * const sd = new Map([['backbone.conv1.weight', tf.zeros([64, 3, 7, 7])],
 *   ['classifier.0.convs.4.1.weight', tf.zeros([256, 2048, 1, 1])],
 *   ['classifier.0.convs.0.0.weight', tf.zeros([256, 2048, 1, 1])], ['classifier.4.weight', tf.zeros([21, 256, 1, 1])]]);
 * const { model, state } = convertTorchvisionSegmentor(sd);
 * model; // => 'deeplabv3_resnet50'
 * state.get('decodeHead.imagePool.conv.weight')!.shape; // => [1, 1, 2048, 256]
 * ```
 */
export function convertTorchvisionSegmentor(
  sd: Map<string, tf.Tensor>,
  model?: TorchvisionSegmentor,
  options: { disposeSource?: boolean } = {},
): SegmentorConversion {
  const which = model ?? detectTorchvisionSegmentor(sd.keys());
  if (!which)
    throw new Error(
      `cannot tell which torchvision segmentation model these weights are from (first keys: ${[...sd.keys()].slice(0, 4).join(', ')}); pass --model (${TORCHVISION_SEGMENTORS.join(', ')})`,
    );
  const state = new Map<string, tf.Tensor>();
  const body = new Map<string, tf.Tensor>();
  for (const [key, t] of sd) {
    const name = mapKey(key, which);
    if (which.includes('mobilenet') && name?.startsWith('backbone.')) {
      // torchvision's features[k], mapped as the classification converter does
      body.set(`features.${key.slice('backbone.'.length)}`, t);
      continue;
    }
    if (!name) throw new Error(`${which}: no tfdet name for torchvision key '${key}'`);
    state.set(renameLeaf(name), convertTensor(t, false));
    if (options.disposeSource) t.dispose();
  }
  if (body.size) {
    const r = convertTorchvisionStateDict(body, 'mobilenet_v3', options);
    for (const [k, t] of r.state) state.set(k, t);
  }
  return { model: which, state, skipped: [] };
}
