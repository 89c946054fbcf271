/**
 * torchvision's detectors, converted, give torchvision's detections: a
 * script (scripts/fixtures/torchvision/export_detectors.py, Debian's torch
 * 1.13 / torchvision 0.14) builds each model with seeded weights that give
 * hundreds of detections per image, saves it with torch.save and runs it on
 * 5 images; `tools/convert_checkpoint.ts --from torchvision --config`
 * converts the .pth (every key matched) and `tools/infer.ts` runs the
 * config on the same images. Each torchvision detection must have its match:
 * the same label, the box within 0.5 px, the score within 1e-3; and the
 * counts agree.
 *
 * The images are 5 kangaroo photos of ../shared (else synthetic scenes,
 * said so) cut to sizes whose short side is the `min_size` both sides use
 * (160 to stay in the test budget), so that the resize is the identity on
 * both sides and the comparison is of the models; the detection cap is
 * raised alike on both sides so that no near-tie at the cap decides.
 */
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { renderSyntheticImage } from '../../src/datasets/index.js';
import { Rng } from '../../src/utils/random.js';
import { main as convertCheckpoint } from '../../tools/convert_checkpoint.js';

const PY = process.env.TFDET_TORCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = 'scripts/fixtures/torchvision/export_detectors.py';
const KANGAROO = path.resolve('../shared/data/real/kangaroo/images');
const MIN_SIZE = 160;
const CAP = 2000;
const SIZES: [number, number][] = [
  [224, 160],
  [160, 224],
  [256, 160],
  [160, 160],
  [288, 160],
];

const probe = spawnSync(PY, ['-c', 'import torch, torchvision, PIL'], { encoding: 'utf8' });
const hasTorchvision = probe.status === 0;
if (!hasTorchvision)
  console.log(
    `[skip] torchvision detector parity: ${PY} cannot import torch, torchvision and PIL (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()})`,
  );

interface TvResult {
  image: string;
  boxes: number[][];
  scores: number[];
  labels: number[];
}
interface OurDet {
  bbox: number[];
  score: number;
  label: number;
}

/** Unmatched torchvision detections: each needs an unused one of ours with its label, box and score. */
function unmatched(tv: TvResult, ours: OurDet[]): string[] {
  const used = new Uint8Array(ours.length);
  const missing: string[] = [];
  tv.scores.forEach((score, i) => {
    const box = tv.boxes[i];
    let hit = -1;
    // nearest rank first: equal scores may come in either order
    for (let d = 0; d < ours.length && hit < 0; d++) {
      for (const j of [i - d, i + d]) {
        if (j < 0 || j >= ours.length || used[j]) continue;
        const o = ours[j];
        if (
          o.label === tv.labels[i] &&
          Math.abs(o.score - score) <= 1e-3 &&
          o.bbox.every((v, k) => Math.abs(v - box[k]) <= 0.5)
        ) {
          hit = j;
          break;
        }
      }
      if (d > 50) break;
    }
    if (hit >= 0) used[hit] = 1;
    else
      missing.push(
        `#${i} label ${tv.labels[i]} score ${score.toFixed(4)} box [${box.map((v) => v.toFixed(2))}]`,
      );
  });
  return missing;
}

describe.runIf(hasTorchvision)('torchvision detectors converted from .pth', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-tvdet-'));
  const images: string[] = [];

  beforeAll(async () => {
    await setBackend('wasm');
    const real = fs.existsSync(KANGAROO);
    if (!real)
      console.log(`[note] ${KANGAROO} is absent: synthetic scenes stand in for the 5 photos`);
    for (let i = 0; i < SIZES.length; i++) {
      const [w, h] = SIZES[i];
      const file = path.join(dir, `img${i}.png`);
      const src = real
        ? sharp(path.join(KANGAROO, `0000${i + 1}.jpg`))
        : sharp(
            Buffer.from(
              renderSyntheticImage(Rng.derive(7, i), 288, {
                objectsPerImage: [2, 4],
                sizeRange: [40, 120],
                occlusionProb: 0,
              }).pixels,
            ),
            {
              raw: { width: 288, height: 288, channels: 3 },
            },
          );
      await src.resize(w, h, { fit: 'cover' }).png().toFile(file);
      images.push(file);
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each(['retinanet_resnet50_fpn'])(
    '%s: same labels, boxes within 0.5 px, scores within 1e-3 on 5 images',
    async (name) => {
      const r = spawnSync(
        PY,
        [
          SCRIPT,
          '--out',
          dir,
          '--images',
          images.join(','),
          '--models',
          name,
          '--min-size',
          String(MIN_SIZE),
          '--detections-per-img',
          String(CAP),
        ],
        { encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      const tv = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as {
        torch: string;
        torchvision: string;
        results: TvResult[];
      };
      // non-degenerate weights: many detections per image, not one box repeated
      for (const t of tv.results) {
        expect(t.scores.length, t.image).toBeGreaterThanOrEqual(20);
        expect(new Set(t.boxes.map((b) => b.map(Math.round).join())).size).toBeGreaterThan(10);
      }
      const cfg = path.join(dir, `${name}.json.config.json`);
      fs.writeFileSync(
        cfg,
        JSON.stringify({
          _base_: path.resolve(`configs/torchvision/${name}.ts`),
          model: { testCfg: { maxPerImg: CAP } },
          testPipeline: [
            { type: 'LoadImageFromFile' },
            { type: 'Resize', scale: [1333, MIN_SIZE], keepRatio: true },
            {
              type: 'Normalize',
              mean: [123.675, 116.28, 103.53],
              std: [58.395, 57.12, 57.375],
              toRgb: true,
            },
            { type: 'Pad', sizeDivisor: 32 },
            { type: 'PackDetInputs' },
          ],
        }),
      );
      const ckpt = path.join(dir, `${name}.safetensors`);
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      const code = await convertCheckpoint([
        path.join(dir, `${name}.pth`),
        ckpt,
        '--from',
        'torchvision',
        '--config',
        cfg,
      ]);
      const report = log.mock.calls.flat().join('\n');
      log.mockRestore();
      expect(code, report).toBe(0);
      expect(report).toMatch(/: all keys matched/);
      fs.rmSync(path.join(dir, `${name}.pth`));
      const out = path.join(dir, `${name}_infer`);
      await promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          'tools/infer.ts',
          cfg,
          ckpt,
          ...images,
          '--out-dir',
          out,
          '--score-thr',
          '0',
          '--backend',
          'wasm',
        ],
        { maxBuffer: 1 << 24 },
      );
      const ours = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as {
        results: { image: string; detections: OurDet[] }[];
      };
      const counts: string[] = [];
      tv.results.forEach((t, i) => {
        const o = ours.results[i].detections;
        expect(path.basename(ours.results[i].image)).toBe(t.image);
        expect(unmatched(t, o), `${t.image}: torchvision detections without a match`).toEqual([]);
        expect(o.length, t.image).toBe(t.scores.length);
        counts.push(String(o.length));
      });
      console.log(
        `${name} (torch ${tv.torch}, torchvision ${tv.torchvision}, min_size ${MIN_SIZE}): ${counts.join(', ')} detections per image, all matched`,
      );
    },
    300_000,
  );
});
