/**
 * A pipeline: transforms applied in order, built from configs with the
 * TRANSFORMS registry.
 */
import { isTypedConfig, TRANSFORMS, type TypedConfig } from '../../registry.js';
import type { DataSample, PackedInputs, Transform } from '../types.js';
import { resolveImage } from './decode.js';

/**
 * Run transforms in order; a transform returning null drops the sample.
 *
 * @example
 * ```ts
 * import sharp from 'sharp';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 *
 * const imgPath = join(tmpdir(), 'a.jpg'); // a 640x480 JPEG
 * await sharp({ create: { width: 640, height: 480, channels: 3, background: '#808080' } }).jpeg().toFile(imgPath);
 * const p = new Compose([{ type: 'LoadImageFromFile' }, { type: 'Resize', scale: [640, 640], keepRatio: true }]);
 * const out = await p.run({ imgPath, imgId: 0, height: 0, width: 0, instances: [] });
 * out.img; // => { data: Uint8Array [...], height: 480, width: 640, channels: 3, ... }
 * ```
 */
export class Compose {
  readonly transforms: Transform[];

  constructor(transforms: readonly (TypedConfig | Transform)[], path = 'pipeline') {
    this.transforms = transforms.map((t, i) =>
      isTypedConfig(t) ? TRANSFORMS.build<Transform>(t, { path: `${path}.${i}` }) : t,
    );
  }

  /** Apply every transform; returns null when one drops the sample. */
  async run(results: DataSample): Promise<DataSample | PackedInputs | null> {
    let cur: DataSample | PackedInputs | null = results;
    for (const t of this.transforms) {
      const r = t.transform(cur as DataSample);
      cur = r instanceof Promise ? await r : r;
      if (cur === null) return null;
    }
    // A pipeline that does not end with a packer still yields final pixels: decoded, flipped, colour-mapped.
    const r = cur as DataSample;
    if (!('dataSample' in cur) && (r.pending || r.colorMap || r.lazyFlip)) await resolveImage(r);
    return cur;
  }

  toString(): string {
    return `Compose(${this.transforms.map((t) => t.constructor.name).join(', ')})`;
  }
}
