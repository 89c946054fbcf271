/**
 * The page's preprocessing (src/browser/preprocess.ts) against the Node
 * pipeline (sharp), here in Node on the cpu backend: the same pixels give
 * the same network input, and the page's linear resize stays within one
 * level of sharp's when shrinking (libvips' fixed-point rounding) and agrees
 * on the output size and meta.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { preprocess, preprocessPlan, resizeLinear } from '../../src/browser/preprocess.js';
import {
  collate,
  Compose,
  makeSyntheticShapes,
  type PackedInputs,
} from '../../src/datasets/index.js';

const imgNorm = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toRgb: true };
const pipeline = (scale: number) => [
  { type: 'LoadImageFromFile' },
  { type: 'Resize', scale: [scale, scale], keepRatio: true },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];

let images: string[] = [];

beforeAll(async () => {
  await setBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-preprocess-'));
  await makeSyntheticShapes({ outDir: dir, numTrain: 0, numVal: 3, imageSize: 256, seed: 2 });
  images = fs.readdirSync(path.join(dir, 'JPEGImages')).map((f) => path.join(dir, 'JPEGImages', f));
});

async function nodeInputs(file: string, scale: number) {
  const packed = (await new Compose(pipeline(scale)).run({
    imgPath: file,
    imgId: 0,
    width: 256,
    height: 256,
    instances: [],
  })) as unknown as PackedInputs;
  return collate([packed]);
}

async function decoded(file: string): Promise<tf.Tensor3D> {
  const { data, info } = await sharp(file)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return tf.tensor3d(new Uint8Array(data), [info.height, info.width, 3], 'int32');
}

describe("the page's preprocessing against the Node pipeline", () => {
  it('gives the same network input and meta from the same pixels (no resize: 256 at scale 256)', async () => {
    for (const file of images) {
      const node = await nodeInputs(file, 256);
      const px = await decoded(file);
      const page = preprocess(px, preprocessPlan(pipeline(256)));
      expect(page.inputs.shape).toEqual(node.inputs.shape);
      const d = tf.max(tf.abs(tf.sub(page.inputs, node.inputs))).dataSync()[0];
      expect(d).toBeLessThan(1e-5);
      const m = node.dataSamples[0].metainfo;
      expect([page.metainfo.imgShape, page.metainfo.padShape, page.metainfo.scaleFactor]).toEqual([
        m.imgShape,
        m.padShape,
        m.scaleFactor,
      ]);
      tf.dispose([node.inputs, px, page.inputs]);
    }
  });

  it("shrinks as sharp does to within one level (256 -> 160, the demo's scale)", async () => {
    for (const file of images) {
      const px = await decoded(file);
      const ref = await sharp(file)
        .resize(160, 160, { fit: 'fill', kernel: 'linear' })
        .removeAlpha()
        .raw()
        .toBuffer();
      const ours = tf.round(resizeLinear(tf.cast(px, 'float32'), 160, 160));
      const diff = tf.abs(tf.sub(ours, tf.tensor3d(new Uint8Array(ref), [160, 160, 3], 'float32')));
      const [max, mean] = [tf.max(diff).dataSync()[0], tf.mean(diff).dataSync()[0]];
      // printed beside: the plain bilinear resize, 0.7-2.7 levels off on average on these images
      const bilinear = tf
        .mean(
          tf.abs(
            tf.sub(
              tf.round(
                tf.image.resizeBilinear(
                  tf.cast(px, 'float32') as tf.Tensor3D,
                  [160, 160],
                  false,
                  true,
                ),
              ),
              tf.tensor3d(new Uint8Array(ref), [160, 160, 3], 'float32'),
            ),
          ),
        )
        .dataSync()[0];
      console.log(
        `${path.basename(file)}: |ours - sharp| max ${max}, mean ${mean.toFixed(3)} (bilinear: mean ${bilinear.toFixed(3)})`,
      );
      expect(max).toBeLessThanOrEqual(1);
      expect(mean).toBeLessThan(0.3);
      tf.dispose([px, ours, diff]);
    }
  });
});
