import { describe, expect, it } from 'vitest';
import {
  classColour,
  drawDetections,
  drawPrediction,
  drawSemSeg,
  instanceColour,
} from '../../src/visualization/index.js';

const W = 40,
  H = 30;
const grey = (v = 100) => ({
  data: new Uint8Array(W * H * 3).fill(v),
  width: W,
  height: H,
  channels: 3,
});
const rect = (x1: number, y1: number, x2: number, y2: number): Uint8Array => {
  const m = new Uint8Array(W * H);
  for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) m[y * W + x] = 1;
  return m;
};
const at = (img: { data: ArrayLike<number> }, x: number, y: number): number[] =>
  Array.from({ length: 3 }, (_, c) => img.data[(y * W + x) * 3 + c]);
const blend = (base: number, c: number[], a: number): number[] =>
  c.map((v) => Math.floor(base * (1 - a) + v * a + 0.5));

describe('instance masks', () => {
  it('translucent fill in instance colours, opaque outline, nothing outside; low scores skipped', async () => {
    const masks = [rect(2, 2, 12, 10), rect(20, 5, 30, 15), rect(5, 18, 15, 28)];
    const out = await drawDetections(
      grey(),
      {
        bboxes: [
          [2, 2, 12, 10],
          [20, 5, 30, 15],
          [5, 18, 15, 28],
        ],
        labels: [1, 1, 2],
        scores: [0.9, 0.8, 0.1],
        masks,
        scoreThr: 0.3,
      },
      { text: false, thickness: 1, maskAlpha: 0.5 },
    );
    // first instance of class 1: the class colour; the second: a different (jittered) one
    const c0 = instanceColour(1, 0),
      c1 = instanceColour(1, 1);
    expect(c0).toEqual(classColour(1));
    expect(c1).not.toEqual(c0);
    expect(at(out, 6, 6)).toEqual(blend(100, c0, 0.5));
    expect(at(out, 25, 10)).toEqual(blend(100, c1, 0.5));
    // the box line sits on the mask's edge in the class colour
    expect(at(out, 2, 6)).toEqual(classColour(1));
    // the third detection is under the threshold: untouched
    expect(at(out, 10, 23)).toEqual([100, 100, 100]);
    expect(at(out, 35, 25)).toEqual([100, 100, 100]);
    // 'class' colours: both instances of class 1 alike
    const byClass = await drawDetections(
      grey(),
      {
        bboxes: [
          [2, 2, 12, 10],
          [20, 5, 30, 15],
        ],
        labels: [1, 1],
        masks: masks.slice(0, 2),
      },
      { text: false, maskColours: 'class', maskAlpha: 0.5 },
    );
    expect(at(byClass, 25, 10)).toEqual(blend(100, c0, 0.5));
  });

  it('outline: boundary pixels of a mask without a box are opaque, interior ones blended', async () => {
    const out = await drawDetections(
      grey(),
      { bboxes: [[0, 0, 1, 1]], labels: [0], masks: [rect(10, 10, 20, 20)] },
      { text: false, thickness: 0, maskAlpha: 0.5 },
    );
    expect(at(out, 10, 15)).toEqual(classColour(0));
    expect(at(out, 19, 19)).toEqual(classColour(0));
    expect(at(out, 15, 15)).toEqual(blend(100, classColour(0), 0.5));
    expect(at(out, 9, 15)).toEqual([100, 100, 100]);
    const plain = await drawDetections(
      grey(),
      { bboxes: [[0, 0, 1, 1]], labels: [0], masks: [rect(10, 10, 20, 20)] },
      { text: false, thickness: 0, maskAlpha: 0.5, maskOutline: false },
    );
    expect(at(plain, 10, 15)).toEqual(blend(100, classColour(0), 0.5));
  });

  it('rejects masks of another size or count', async () => {
    await expect(
      drawDetections(grey(), { bboxes: [[0, 0, 1, 1]], labels: [0], masks: [new Uint8Array(5)] }),
    ).rejects.toThrow(/5 pixels/);
    await expect(
      drawDetections(grey(), { bboxes: [[0, 0, 1, 1]], labels: [0], masks: [] }),
    ).rejects.toThrow(/1 detections but 0 masks/);
  });
});

describe('semantic segmentation overlay', () => {
  const map = new Uint8Array(W * H);
  for (let k = 0; k < W * H; k++) map[k] = k % W < 10 ? 0 : k % W < 20 ? 1 : k % W < 30 ? 15 : 255;

  it('blends the VOC palette colour of each class; ignore (255) is left as it is', async () => {
    const out = await drawSemSeg(grey(), { data: map, height: H, width: W }, { alpha: 0.5 });
    expect(at(out, 5, 5)).toEqual(blend(100, [0, 0, 0], 0.5)); // background: black in VOC
    expect(at(out, 15, 5)).toEqual(blend(100, [128, 0, 0], 0.5)); // aeroplane
    expect(at(out, 25, 5)).toEqual(blend(100, [192, 128, 128], 0.5)); // person (15)
    expect(at(out, 35, 5)).toEqual([100, 100, 100]);
  });

  it('takes a custom palette; classes past its end are left alone; a legend only with class names', async () => {
    const out = await drawSemSeg(
      grey(),
      { data: map, height: H, width: W },
      {
        alpha: 1,
        palette: [
          [10, 20, 30],
          [200, 100, 0],
        ],
      },
    );
    expect(at(out, 5, 25)).toEqual([10, 20, 30]);
    expect(at(out, 15, 25)).toEqual([200, 100, 0]);
    expect(at(out, 25, 25)).toEqual([100, 100, 100]);
    const legend = await drawSemSeg(
      grey(),
      { data: map, height: H, width: W },
      { alpha: 1, palette: [10, 20, 30, 200, 100, 0], classNames: ['bg', 'thing'] },
    );
    // the swatch of the first class present (bg) at the top left, with a white border, then its name on a dark box
    expect(at(legend, 2, 2)).not.toEqual([10, 20, 30]);
    expect(at(out, 2, 2)).toEqual([10, 20, 30]);
    expect(at(legend, 6, 6)).toEqual([10, 20, 30]);
    for (const v of at(legend, 32, 14)) expect(Math.abs(v - 40)).toBeLessThanOrEqual(1); // grey 100 under black at 0.6
    expect(at(legend, 6, 22)).toEqual([200, 100, 0]); // the second swatch (thing)
    expect(at(legend, 8, 29)).toEqual([10, 20, 30]);
  });

  it('rejects a map of another size', async () => {
    await expect(
      drawSemSeg(grey(), { data: new Uint8Array(4), height: 2, width: 2 }),
    ).rejects.toThrow(/2x2.*30x40/);
  });
});

describe('drawPrediction', () => {
  it('draws the label map, then masks and boxes over it', async () => {
    const seg = { data: new Uint8Array(W * H).fill(1), height: H, width: W };
    const out = await drawPrediction(
      grey(),
      {
        predSemSeg: seg,
        predInstances: {
          bboxes: Float32Array.of(20, 10, 30, 20),
          labels: Int32Array.of(3),
          scores: Float32Array.of(0.9),
          masks: [rect(20, 10, 30, 20)],
        },
      },
      { segAlpha: 0.5, maskAlpha: 0.5, text: false },
    );
    const under = blend(100, [128, 0, 0], 0.5);
    expect(at(out, 5, 5)).toEqual(under);
    expect(at(out, 25, 15)).toEqual(
      under.map((v, c) => Math.floor(v * 0.5 + classColour(3)[c] * 0.5 + 0.5)),
    );
    expect(at(out, 20, 15)).toEqual(classColour(3));
    // detections under scoreThr (default 0.3) are not drawn
    const low = await drawPrediction(
      grey(),
      { predInstances: { bboxes: [[20, 10, 30, 20]], labels: [3], scores: [0.2] } },
      { text: false },
    );
    expect(low.data.every((v) => v === 100)).toBe(true);
  });
});
