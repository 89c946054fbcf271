/**
 * What the torchvision parity tests share: the Python that runs
 * torchvision, the conversion through the tool, and the 5 images both sides
 * run on: kangaroo
 * photos of ../shared cut (cover) to sizes whose short side is 160, so that
 * a `min_size` / `resize_size` of 160 is the identity on both sides and the
 * comparison is of the models; synthetic scenes when ../shared is absent
 * (said so).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { expect, vi } from 'vitest';
import { renderSyntheticImage } from '../../src/datasets/index.js';
import { Rng } from '../../src/utils/random.js';
import { main as convertCheckpoint } from '../../tools/convert_checkpoint.js';

const KANGAROO = path.resolve('../shared/data/real/kangaroo/images');

/**
 * Short side of every parity image: 160 in `npm test`;
 * `TFDET_PARITY_SHORT_SIDE=520` (or 800) measures at a model's native size,
 * the other sides scaled alike (to multiples of 8).
 */
export const PARITY_SHORT_SIDE = Number(process.env.TFDET_PARITY_SHORT_SIDE ?? 160);
if (!(Number.isInteger(PARITY_SHORT_SIDE) && PARITY_SHORT_SIDE >= 32))
  throw new Error(
    `TFDET_PARITY_SHORT_SIDE: expected an integer >= 32, got '${process.env.TFDET_PARITY_SHORT_SIDE}'`,
  );

const scaled = (v: number): number =>
  v === 160 ? PARITY_SHORT_SIDE : 8 * Math.round((v * PARITY_SHORT_SIDE) / 160 / 8);

/** `[w, h]` of the 5 images. */
export const PARITY_SIZES: [number, number][] = (
  [
    [224, 160],
    [160, 224],
    [256, 160],
    [160, 160],
    [288, 160],
  ] as [number, number][]
).map(([w, h]) => [scaled(w), scaled(h)]);

/** Writes `img0.png` .. `img4.png` into `dir`; returns their paths. */
export async function writeParityImages(dir: string): Promise<string[]> {
  const real = fs.existsSync(KANGAROO);
  if (!real)
    console.log(`[note] ${KANGAROO} is absent: synthetic scenes stand in for the 5 photos`);
  const images: string[] = [];
  for (const [i, [w, h]] of PARITY_SIZES.entries()) {
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
          { raw: { width: 288, height: 288, channels: 3 } },
        );
    await src.resize(w, h, { fit: 'cover' }).png().toFile(file);
    images.push(file);
  }
  return images;
}

/** The Python with torch and torchvision (Debian's), `TFDET_TORCH_PYTHON` to override. */
export const TORCH_PYTHON = process.env.TFDET_TORCH_PYTHON ?? '/usr/bin/python3';

/** Whether {@link TORCH_PYTHON} imports torch, torchvision and PIL; says so when it does not. */
export function hasTorchvision(what: string): boolean {
  const probe = spawnSync(TORCH_PYTHON, ['-c', 'import torch, torchvision, PIL'], {
    encoding: 'utf8',
  });
  if (probe.status !== 0)
    console.log(
      `[skip] ${what}: ${TORCH_PYTHON} cannot import torch, torchvision and PIL (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()})`,
    );
  return probe.status === 0;
}

/** Runs a fixture script with {@link TORCH_PYTHON}; fails the test with its stderr. */
export function runTorchScript(script: string, args: string[]): void {
  const r = spawnSync(TORCH_PYTHON, [script, ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

/**
 * `tools/convert_checkpoint.ts DIR/NAME.pth DIR/NAME.safetensors --from
 * torchvision --config CFG` as a user runs it: every key must match. The
 * .pth is removed after; returns the checkpoint's path.
 */
export async function convertThroughTool(dir: string, name: string, cfg: string): Promise<string> {
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
  expect(report).toMatch(/none skipped/);
  fs.rmSync(path.join(dir, `${name}.pth`));
  return ckpt;
}
