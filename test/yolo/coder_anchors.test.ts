/**
 * YOLOBBoxCoder (hand values, round trip, eps clamps, tensor = host) and
 * YOLOAnchorGenerator (values against mmdet's formula, responsible flags).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { YOLOAnchorGenerator, YOLOBBoxCoder } from '../../src/task_utils/index.js';
import { TASK_UTILS } from '../../src/registry.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++)
    expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i])));
};

describe('YOLOBBoxCoder', () => {
  const coder = TASK_UTILS.build<YOLOBBoxCoder>({ type: 'YOLOBBoxCoder' });

  it('encodes by hand: centre offset in strides + 0.5, log size ratio', () => {
    // prior 32x32 centred at (16, 16), stride 32; gt 64x16 centred at (24, 8)
    close(coder.encodeHost(Float32Array.of(0, 0, 32, 32), Float32Array.of(-8, 0, 56, 16), 32), [
      0.75,
      0.25,
      Math.log(2),
      Math.log(0.5),
    ]);
    // prior [8, 8, 24, 24] (centre 16, size 16) at stride 8; gt centre (18, 12), size 8x32
    close(
      coder.encodeHost(Float32Array.of(8, 8, 24, 24), Float32Array.of(14, -4, 22, 28), 8),
      [0.75, 0, Math.log(0.5), Math.log(2)].map((v, i) => (i === 1 ? 1e-6 : v)),
    );
  });

  it('clamps centre targets to [eps, 1 - eps] and size ratios to eps', () => {
    const t = coder.encodeHost(
      Float32Array.of(0, 0, 10, 10),
      Float32Array.of(100, 100, 100, 100),
      10,
    );
    expect(t[0]).toBeCloseTo(1 - 1e-6, 7);
    expect(t[1]).toBeCloseTo(1 - 1e-6, 7);
    expect(t[2]).toBeCloseTo(Math.log(1e-6), 5);
    const c2 = new YOLOBBoxCoder({ eps: 0.01 });
    close(
      c2
        .encodeHost(Float32Array.of(0, 0, 10, 10), Float32Array.of(-50, -50, -40, -40), 10)
        .subarray(0, 2),
      [0.01, 0.01],
    );
  });

  it('decode inverts encode (per-row strides) on random boxes', () => {
    const n = 50;
    const pri = new Float32Array(4 * n);
    const gt = new Float32Array(4 * n);
    const strides = new Float32Array(n);
    let s = 7;
    const rnd = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
    for (let i = 0; i < n; i++) {
      const st = [8, 16, 32][i % 3];
      strides[i] = st;
      const cx = rnd() * 200,
        cy = rnd() * 200,
        w = 5 + rnd() * 100,
        h = 5 + rnd() * 100;
      pri.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 4 * i);
      // a gt centre within half a stride of the prior's, as the assigner guarantees
      const gx = cx + (rnd() - 0.5) * 0.98 * st,
        gy = cy + (rnd() - 0.5) * 0.98 * st,
        gw = 5 + rnd() * 100,
        gh = 5 + rnd() * 100;
      gt.set([gx - gw / 2, gy - gh / 2, gx + gw / 2, gy + gh / 2], 4 * i);
    }
    const enc = coder.encodeHost(pri, gt, strides);
    close(coder.decodeHost(pri, enc, strides), gt, 1e-4);
    // the tensor forms agree with the host ones
    const encT = coder.encode(
      tf.tensor2d(pri, [n, 4]),
      tf.tensor2d(gt, [n, 4]),
      tf.tensor1d(strides),
    );
    close(encT.dataSync(), enc, 1e-5);
    close(coder.decode(tf.tensor2d(pri, [n, 4]), encT, Array.from(strides)).dataSync(), gt, 1e-4);
  });

  it('decode by hand and its gradient flows to the predictions', () => {
    // prior [0, 0, 32, 32] at stride 32, offsets (0.5, 1), sizes exp(0), exp(log 3)
    close(
      coder.decodeHost(Float32Array.of(0, 0, 32, 32), Float32Array.of(0.5, 1, 0, Math.log(3)), 32),
      [0, -16, 32, 80],
    );
    const g = tf.grad((p: tf.Tensor) =>
      tf.sum(coder.decode(tf.tensor2d([[0, 0, 32, 32]]), p as tf.Tensor2D, 32)),
    )(tf.tensor2d([[0.5, 0.5, 0, 0]]));
    // d(x1 + x2)/dx = 2 * stride; d(x1 + x2)/dlogw = 0 (the halves cancel)
    close(g.dataSync(), [64, 64, 0, 0]);
  });

  it('rejects bad shapes with the argument name', () => {
    expect(() => coder.encodeHost(new Float32Array(4), new Float32Array(8), 8)).toThrow(
      /'bboxes' has 1 rows but 'gtBboxes' has 2/,
    );
    expect(() =>
      coder.decode(tf.zeros([2, 4]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D, [8, 8, 8]),
    ).toThrow(/'stride' must be a number or 2 values/);
    expect(() => new YOLOBBoxCoder({ eps: 0 })).toThrow(/eps/);
  });
});

describe('YOLOAnchorGenerator', () => {
  // mmdet's YOLOv3 COCO anchors, coarsest level first
  const baseSizes: [number, number][][] = [
    [
      [116, 90],
      [156, 198],
      [373, 326],
    ],
    [
      [30, 61],
      [62, 45],
      [59, 119],
    ],
    [
      [10, 13],
      [16, 30],
      [33, 23],
    ],
  ];
  const strides = [32, 16, 8];
  const gen = TASK_UTILS.build<YOLOAnchorGenerator>({
    type: 'YOLOAnchorGenerator',
    strides,
    baseSizes,
  });

  it('equals mmdet formula at 608x608: [cx - w/2, cy - h/2, cx + w/2, cy + h/2], cx = (x + 0.5) * stride, order (y, x, a)', () => {
    const sizes = strides.map((s) => [608 / s, 608 / s] as [number, number]);
    const got = gen.gridPriorsHost(sizes);
    let total = 0;
    strides.forEach((s, l) => {
      const [h, w] = sizes[l];
      const want = new Float32Array(h * w * 3 * 4);
      let o = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (const [bw, bh] of baseSizes[l]) {
            // mmdet: base anchor around (s/2, s/2) in float32, then shifted by (x*s, y*s)
            const base = Float32Array.of(
              s / 2 - 0.5 * bw,
              s / 2 - 0.5 * bh,
              s / 2 + 0.5 * bw,
              s / 2 + 0.5 * bh,
            );
            want.set([base[0] + x * s, base[1] + y * s, base[2] + x * s, base[3] + y * s], o);
            o += 4;
          }
        }
      }
      expect(Array.from(got[l])).toEqual(Array.from(want));
      total += want.length / 4;
    });
    expect(total).toBe(3 * (19 * 19 + 38 * 38 + 76 * 76)); // 22743 anchors
    expect(gen.numBasePriors).toEqual([3, 3, 3]);
    expect(gen.centers).toEqual([
      [16, 16],
      [8, 8],
      [4, 4],
    ]);
    expect(Array.from(gen.baseAnchors[2])).toEqual([
      -1, -2.5, 9, 10.5, -4, -11, 12, 19, -12.5, -7.5, 20.5, 15.5,
    ]);
  });

  it('responsible flags: the cell of each gt centre on every level, all its anchors', () => {
    const sizes: [number, number][] = [
      [2, 2],
      [4, 4],
      [8, 8],
    ];
    // centres (40, 20) and (63.9, 63.9) on a 64x64 input
    const flags = gen.responsibleFlagsHost(
      sizes,
      Float32Array.of(30, 10, 50, 30, 60, 60, 67.8, 67.8),
    );
    const cells = flags.map((f) => [...f.keys()].filter((i) => f[i]).map((i) => Math.floor(i / 3)));
    expect(cells[0]).toEqual([1, 1, 1, 3, 3, 3]); // (y 0, x 1) and (1, 1) of 2x2
    expect(cells[1]).toEqual([6, 6, 6, 15, 15, 15]); // (1, 2) and (3, 3) of 4x4
    expect(cells[2]).toEqual([2 * 8 + 5, 2 * 8 + 5, 2 * 8 + 5, 63, 63, 63]); // (2, 5) and (7, 7) of 8x8
    // a centre outside the map flags nothing
    expect(
      gen
        .responsibleFlagsHost(sizes, Float32Array.of(70, 70, 80, 80))
        .every((f) => f.every((v) => v === 0)),
    ).toBe(true);
  });

  it('config errors name the field', () => {
    expect(() =>
      TASK_UTILS.build({ type: 'YOLOAnchorGenerator', strides: [32, 16], baseSizes: [[[10, 10]]] }),
    ).toThrow(/baseSizes/);
    expect(() =>
      TASK_UTILS.build({ type: 'YOLOAnchorGenerator', strides: [32], baseSizes: [[[10, -1]]] }),
    ).toThrow(/baseSizes\.0\.0/);
    expect(() =>
      TASK_UTILS.build({ type: 'YOLOAnchorGenerator', strides: [0], baseSizes: [[[10, 10]]] }),
    ).toThrow(/strides\.0/);
  });
});
