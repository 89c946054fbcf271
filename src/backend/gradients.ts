/**
 * Gradients of dilated convolutions. tfjs-core's own Conv2D and
 * DepthwiseConv2dNative gradients reject dilation rates above 1 (DeepLab's
 * ASPP and dilated ResNets need them); these replace them and keep the
 * undilated path identical to tfjs' (the same backprop kernels).
 *
 * For a dilated conv on a backend whose backprop kernels know no dilation, the
 * filter is dilated with zeros (a `(k-1)*d+1` filter): the input gradient is
 * the backprop of that filter, and the filter gradient is every `d`-th tap of
 * the dilated filter's gradient. The wasm kernels take `dilations` directly.
 */
import {
  Conv2D,
  DepthwiseConv2dNative,
  engine,
  getBackend,
  registerGradient,
  type NamedAttrMap,
  type Tensor,
  type Tensor4D,
} from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

const pair = (v: unknown): [number, number] =>
  v == null ? [1, 1] : typeof v === 'number' ? [v, v] : [(v as number[])[0], (v as number[])[1]];

/** Inserts `d - 1` zero taps between filter taps: [kh,kw,a,b] -> [(kh-1)dh+1, (kw-1)dw+1, a, b]. */
function dilateFilter(f: Tensor4D, dh: number, dw: number): Tensor4D {
  const [kh, kw, a, b] = f.shape;
  const f6 = tf.reshape(f, [kh, 1, kw, 1, a, b]);
  const padded = tf.pad(f6, [
    [0, 0],
    [0, dh - 1],
    [0, 0],
    [0, dw - 1],
    [0, 0],
    [0, 0],
  ]);
  return tf.slice(
    tf.reshape(padded, [kh * dh, kw * dw, a, b]),
    [0, 0, 0, 0],
    [(kh - 1) * dh + 1, (kw - 1) * dw + 1, a, b],
  ) as Tensor4D;
}

function takeEvery(g: Tensor4D, dh: number, dw: number): Tensor4D {
  const [h, w, a, b] = g.shape;
  return tf.stridedSlice(g, [0, 0, 0, 0], [h, w, a, b], [dh, dw, 1, 1]) as Tensor4D;
}

function convGrads(
  kind: 'conv' | 'depthwise',
  dy: Tensor4D,
  x: Tensor4D,
  filter: Tensor4D,
  attrs: NamedAttrMap,
): { x: () => Tensor; filter: () => Tensor } {
  const [dh, dw] = pair(attrs.dilations);
  const base = {
    strides: attrs.strides,
    pad: attrs.pad,
    dimRoundingMode: attrs.dimRoundingMode,
    dataFormat: kind === 'conv' ? (attrs.dataFormat ?? 'NHWC') : 'NHWC',
  } as NamedAttrMap;
  const inputKernel =
    kind === 'conv' ? 'Conv2DBackpropInput' : 'DepthwiseConv2dNativeBackpropInput';
  const filterKernel =
    kind === 'conv' ? 'Conv2DBackpropFilter' : 'DepthwiseConv2dNativeBackpropFilter';
  const run = (name: string, inputs: Record<string, Tensor>, extra: NamedAttrMap): Tensor =>
    engine().runKernel(name, inputs, { ...base, ...extra }) as Tensor;
  if ((dh === 1 && dw === 1) || getBackend() === 'wasm') {
    const dil = { dilations: [dh, dw] };
    return {
      x: () => run(inputKernel, { dy, filter }, { inputShape: x.shape, ...dil }),
      filter: () => run(filterKernel, { x, dy }, { filterShape: filter.shape, ...dil }),
    };
  }
  return {
    x: () =>
      run(
        inputKernel,
        { dy, filter: dilateFilter(filter, dh, dw) },
        { inputShape: x.shape, dilations: [1, 1] },
      ),
    filter: () => {
      const [kh, kw, a, b] = filter.shape;
      const shape = [(kh - 1) * dh + 1, (kw - 1) * dw + 1, a, b];
      return takeEvery(
        run(filterKernel, { x, dy }, { filterShape: shape, dilations: [1, 1] }) as Tensor4D,
        dh,
        dw,
      );
    },
  };
}

let registered = false;

/** Registers the dilation-aware conv gradients (idempotent). */
export function registerConvGradients(): void {
  if (registered) return;
  registered = true;
  for (const [kernelName, kind] of [
    [Conv2D, 'conv'],
    [DepthwiseConv2dNative, 'depthwise'],
  ] as const) {
    registerGradient({
      kernelName,
      inputsToSave: ['x', 'filter'],
      gradFunc: (dy, saved, attrs) => {
        const [x, filter] = saved as [Tensor4D, Tensor4D];
        return convGrads(kind, dy as Tensor4D, x, filter, attrs);
      },
    });
  }
}
