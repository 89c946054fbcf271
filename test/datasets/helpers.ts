import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSyntheticShapes, type SyntheticResult } from '../../src/datasets/synthetic.js';

/** Real annotation files shared by the project (read-only). */
export const REAL = join(import.meta.dirname, '../../../shared/data/real');

/** A fresh temp folder and its cleanup. */
export function tempDir(prefix = 'tfdet-ds-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A small synthetic set (written once per test file). */
export async function smallSynthetic(
  dir: string,
  numTrain = 12,
  numVal = 4,
  imageSize = 128,
  seed = 3,
): Promise<SyntheticResult> {
  return makeSyntheticShapes({ outDir: dir, numTrain, numVal, imageSize, seed });
}

export const SHAPES = ['circle', 'square', 'triangle', 'star', 'hexagon'];
