/**
 * Page entry of the browser test: runs every GPU kernel of src/ops on
 * 'webgpu' and 'webgl' and the typed-array kernels on 'cpu', and returns the
 * results per backend. Bundled by esbuild in ops_gpu.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import {
  boxIou,
  NMS_MASK_KERNEL,
  nmsAsync,
  roiAlign,
  roiPool,
  type RoIAlignOptions,
} from '../../src/ops/index.js';
import { SingleRoIExtractor } from '../../src/roi_heads/roi_extractors/index.js';
import { AnchorGenerator } from '../../src/task_utils/prior_generators/index.js';

type Results = Record<string, number[]>;

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

function boxes(n: number, seed: number, size = 100): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const x = r() * size,
      y = r() * size;
    out.set([x, y, x + 1 + r() * 40, y + 1 + r() * 40], 4 * i);
  }
  return out;
}

export const ROI_CONFIGS: RoIAlignOptions[] = [];
for (const spatialScale of [1, 0.25]) {
  for (const aligned of [false, true]) {
    for (const samplingRatio of [0, 2])
      ROI_CONFIGS.push({ outputSize: [3, 2], spatialScale, aligned, samplingRatio });
  }
}
ROI_CONFIGS.push({
  outputSize: 2,
  spatialScale: 0.5,
  aligned: true,
  samplingRatio: 2,
  poolMode: 'max',
});
ROI_CONFIGS.push({
  outputSize: 2,
  spatialScale: 1,
  aligned: false,
  samplingRatio: 0,
  poolMode: 'max',
});

async function runOn(): Promise<Results> {
  const res: Results = {};
  const put = async (k: string, t: tf.Tensor) => {
    res[k] = Array.from(await t.data());
    t.dispose();
  };
  const a = tf.tensor2d(boxes(37, 1), [37, 4]);
  const b = tf.tensor2d(boxes(53, 2), [53, 4]);
  await put('iou', boxIou(a, b));
  await put('giou', boxIou(a, b, { mode: 'giou' }));
  await put('iof', boxIou(a, b, { mode: 'iof' }));
  await put(
    'iouAligned',
    boxIou(a, tf.slice(b, [0, 0], [37, 4]) as tf.Tensor2D, { aligned: true }),
  );

  const gen = new AnchorGenerator({
    strides: [8, 16, 32, 64, 128],
    ratios: [0.5, 1, 2],
    octaveBaseScale: 4,
    scalesPerOctave: 3,
  });
  const sizes: [number, number][] = [
    [13, 19],
    [7, 10],
    [4, 5],
    [2, 3],
    [1, 2],
  ];
  const pri = gen.gridPriors(sizes);
  await put('anchors', tf.concat(pri, 0));
  pri.forEach((t) => t.dispose());

  // NMS: mask kernel on boxes in score order, then the whole op.
  const n = 300;
  const bx = boxes(n, 3, 150);
  const r = rng(4);
  const sc = Float32Array.from({ length: n }, () => r());
  const order = Array.from(sc.keys()).sort((p, q) => sc[q] - sc[p] || p - q);
  const sorted = tf.tensor2d(
    Float32Array.from(order.flatMap((o) => Array.from(bx.subarray(4 * o, 4 * o + 4)))),
    [n, 4],
  );
  await put(
    'nmsMask',
    tf.engine().runKernel(NMS_MASK_KERNEL, { boxes: sorted }, { iouThreshold: 0.45 }) as tf.Tensor,
  );
  res.nmsKeep = Array.from(await nmsAsync(tf.tensor2d(bx, [n, 4]), tf.tensor1d(sc), 0.45));

  const fr = rng(5);
  const feat = tf.tensor4d(
    Float32Array.from({ length: 2 * 12 * 10 * 5 }, () => fr() * 2 - 1),
    [2, 12, 10, 5],
  );
  const rr = rng(6);
  const roiVals: number[] = [];
  for (let k = 0; k < 9; k++) {
    const x = rr() * 44 - 4,
      y = rr() * 52 - 4;
    roiVals.push(k % 2, x, y, x + 0.5 + rr() * 30, y + 0.5 + rr() * 30);
  }
  roiVals.push(0, -6, -5, 3, 2, 1, 8, 9, 8, 9); // partly outside; zero size
  const rois = tf.tensor2d(roiVals, [11, 5]);
  for (let i = 0; i < ROI_CONFIGS.length; i++) {
    const opts = ROI_CONFIGS[i];
    const out = roiAlign(feat, rois, opts);
    const dr = rng(100 + i);
    const dy = tf.tensor(
      Float32Array.from({ length: out.size }, () => dr() - 0.5),
      out.shape,
    );
    await put(`roiAlign${i}`, out);
    await put(
      `roiAlignGrad${i}`,
      tf.grad((x: tf.Tensor) => roiAlign(x as tf.Tensor4D, rois, opts))(feat, dy),
    );
  }
  const pool = (x: tf.Tensor) =>
    roiPool(x as tf.Tensor4D, rois, { outputSize: 2, spatialScale: 0.5 });
  await put('roiPool', pool(feat));
  await put('roiPoolGrad', tf.grad(pool)(feat, tf.ones([11, 2, 2, 5])));
  // Multi-level extraction: per-level kernels and re-ordering on the GPU, one host kernel on cpu.
  const ex = new SingleRoIExtractor({
    roiLayer: { type: 'RoIAlign', outputSize: 2, samplingRatio: 2 },
    outChannels: 5,
    featmapStrides: [1, 2],
    finestScale: 8,
  });
  const feat2 = tf.tensor4d(
    Float32Array.from({ length: 2 * 6 * 5 * 5 }, () => fr()),
    [2, 6, 5, 5],
  );
  await put('extractor', ex.forward([feat, feat2], rois));
  return res;
}

declare global {
  interface Window {
    tfdetRun: () => Promise<Record<string, Results | string>>;
  }
}

window.tfdetRun = async () => {
  const out: Record<string, Results | string> = {};
  for (const backend of ['cpu', 'webgl', 'webgpu']) {
    try {
      if (!(await tf.setBackend(backend)))
        throw new Error(`setBackend('${backend}') returned false`);
      await tf.ready();
      out[backend] = await runOn();
    } catch (e) {
      out[backend] = `error: ${(e as Error).message}`;
    }
  }
  return out;
};
