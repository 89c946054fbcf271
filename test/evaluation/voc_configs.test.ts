/**
 * Every shipped `*_voc0712` config's test evaluator, end to end: the config's
 * own model (random weights), test pipeline and VOCMetric, through the
 * Runner's test loop, on a small VOC-layout set (synthetic images whose
 * objects carry VOC class names). Ground truth must reach the metric from the
 * predicted samples (it used to be lost in the dense heads, scoring 0): the
 * metric's per-class table counts every box of the split, and its mAP is finite.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { loadConfig } from '../../src/config/index.js';
import { makeSyntheticShapes } from '../../src/datasets/index.js';
import { Runner } from '../../src/engine/index.js';
import { registerAllModules } from '../../src/engine/register_all.js';

const CONFIGS = fs
  .readdirSync('configs', { recursive: true, encoding: 'utf8' })
  .filter((f) => /_voc0712\.ts$/.test(f))
  .map((f) => path.join('configs', f))
  .sort();

const VOC_NAMES: Record<string, string> = {
  circle: 'aeroplane',
  square: 'bicycle',
  triangle: 'bird',
  star: 'boat',
  hexagon: 'bottle',
};

let root = '';
let objects = 0;

beforeAll(async () => {
  await registerAllModules();
  await setBackend('wasm');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-voc-configs-'));
  const voc = path.join(root, 'VOC2007');
  await makeSyntheticShapes({ outDir: voc, numTrain: 1, numVal: 2, imageSize: 64, seed: 5 });
  fs.copyFileSync(
    path.join(voc, 'ImageSets/Main/val.txt'),
    path.join(voc, 'ImageSets/Main/test.txt'),
  );
  const ids = fs.readFileSync(path.join(voc, 'ImageSets/Main/test.txt'), 'utf8').trim().split('\n');
  for (const id of ids) {
    const f = path.join(voc, 'Annotations', `${id}.xml`);
    const xml = fs
      .readFileSync(f, 'utf8')
      .replace(/<name>(\w+)<\/name>/g, (_m, n: string) => `<name>${VOC_NAMES[n] ?? n}</name>`);
    objects += (xml.match(/<object>/g) ?? []).length;
    fs.writeFileSync(f, xml);
  }
}, 120_000);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('shipped VOC configs: the test evaluator sees the ground truth', () => {
  it('finds the VOC detection configs', () => {
    expect(CONFIGS.length).toBeGreaterThanOrEqual(5);
    expect(objects).toBeGreaterThan(0);
  });
  for (const file of CONFIGS) {
    it(`${path.basename(file)}: VOCMetric over the test loop gives a finite mAP`, async () => {
      const cfg = await loadConfig(file, {
        cfgOptions: [
          `testDataloader.dataset.dataRoot=${root}/`,
          'testDataloader.batchSize=1',
          'testDataloader.numWorkers=0',
        ],
      });
      expect(cfg.testEvaluator.type).toBe('VOCMetric');
      const lines: string[] = [];
      const runner = new Runner(cfg, {
        configFile: file,
        noFiles: true,
        console: { write: (s: string) => (lines.push(s), true) },
      });
      const m = await runner.test();
      const map = m['pascal_voc/mAP'];
      console.log(`${path.basename(file)}: pascal_voc/mAP ${map} on ${objects} objects`);
      expect(Number.isFinite(map)).toBe(true);
      expect(map).toBeGreaterThanOrEqual(0);
      expect(map).toBeLessThanOrEqual(1);
      // Every ground-truth box of the test split reached the metric through the predicted samples.
      const loop = runner.testLoop as unknown as {
        evaluator: { metrics: { classTable: Record<string, { gts: number }[]> }[] };
      };
      const table = Object.values(loop.evaluator.metrics[0].classTable)[0];
      expect(table.reduce((a, r) => a + r.gts, 0)).toBe(objects);
    }, 300_000);
  }
});
