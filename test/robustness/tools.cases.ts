/**
 * Bad input to tools/infer.ts and tools/test.ts: corrupt and missing images,
 * repeated base names, another model's checkpoint, unusable out dirs and
 * links already in the out dir.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { assertFullLoad, saveCheckpoint, type Module } from '../../src/nn/index.js';
import { MODELS } from '../../src/registry.js';
import { writeImage } from '../../src/visualization/index.js';
import { TOY_CONFIG } from '../engine/helpers.js';
import '../fixtures/engine/toy.js';
import {
  expectUnchanged,
  runTool,
  snapshot,
  tmpDir,
  type RobustCase,
  type ToolResult,
} from './harness.js';
import {
  buildFamily,
  corruptImage,
  fixtureDir,
  goodImage,
  predictInProcess,
  type Family,
} from './tools.fixtures.js';

interface InferRun extends ToolResult {
  out: string;
  dir: string;
  good: string;
  bad: string;
  results: {
    results: Record<string, any>[];
    failed: { image: string; error: string }[];
  };
}

const inferRuns = new Map<Family, Promise<InferRun>>();

/** tools/infer.ts on one good and one corrupt image with the family's random-init checkpoint (run once). */
function inferGoodAndBad(family: Family): Promise<InferRun> {
  let p = inferRuns.get(family);
  if (!p) {
    p = (async () => {
      const b = await buildFamily(family);
      const dir = tmpDir(`infer-${family}`);
      const good = await goodImage(path.join(dir, 'in', 'good.png'));
      const bad = await corruptImage(path.join(dir, 'in', 'bad.png'));
      const out = path.join(dir, 'out');
      const r = await runTool('infer', [
        b.config,
        b.ckpt,
        good,
        bad,
        '--out-dir',
        out,
        '--score-thr',
        '0',
        '--backend',
        'cpu',
      ]);
      const json = path.join(out, 'results.json');
      const results = fs.existsSync(json)
        ? (JSON.parse(fs.readFileSync(json, 'utf8')) as InferRun['results'])
        : { results: [], failed: [] };
      return { ...r, out, dir, good, bad, results };
    })();
    inferRuns.set(family, p);
  }
  return p;
}

const BAD_MSG = (bad: string): string =>
  `${bad}: cannot decode image (Input buffer has corrupt header:)`;

/** The exit, the message for the corrupt file, and a drawing for the good one. */
function expectGoodAndBad(r: InferRun): void {
  expect(r.code).toBe(1);
  expect(r.err).toContain(`skipped ${BAD_MSG(r.bad)}`);
  expect(r.err).toContain(
    `Error: 1 of 2 images failed (the others are in ${path.join(r.out, 'results.json')}): ${BAD_MSG(r.bad)}`,
  );
  expect(r.results.failed).toEqual([{ image: r.bad, error: BAD_MSG(r.bad) }]);
  expect(r.results.results.map((e) => e.image)).toEqual([r.good]);
  expect(r.results.results[0].drawn).toBe(path.join(r.out, 'good_pred.png'));
  expect(fs.statSync(path.join(r.out, 'good_pred.png')).size).toBeGreaterThan(100);
}

const round = (v: number, k: number): number => Math.round(v * k) / k;

/** A ToyRegressor checkpoint with `numClasses` outputs, or one of another model family. */
async function toyCheckpoint(kind: 'toy3' | 'toy5' | 'retinanet'): Promise<string> {
  const file = path.join(fixtureDir(), `${kind}.safetensors`);
  if (fs.existsSync(file)) return file;
  if (kind === 'retinanet') {
    fs.copyFileSync((await buildFamily('detection')).ckpt, file);
    return file;
  }
  const m = MODELS.build<Module>({ type: 'ToyRegressor', numClasses: kind === 'toy3' ? 3 : 5 });
  saveCheckpoint(file, { state: m.stateDict() });
  m.dispose();
  return file;
}

const cases: RobustCase[] = [
  {
    id: 'tools.infer-detection-good-and-corrupt',
    item: '7',
    what: 'tools/infer.ts, detection config, one good and one corrupt image',
    expect: 'clear-error',
    async run() {
      const r = await inferGoodAndBad('detection');
      expectGoodAndBad(r);
      const pred = await predictInProcess(await buildFamily('detection'), r.good);
      const p = pred.predInstances!;
      const dets = r.results.results[0].detections as { bbox: number[]; score: number }[];
      expect(dets.length).toBe(p.scores.length);
      expect(dets.length).toBeGreaterThan(0);
      for (const [k, d] of dets.entries()) {
        expect(d.score).toBe(round(p.scores[k], 1e4));
        expect(d.bbox).toEqual(
          Array.from(p.bboxes.subarray(4 * k, 4 * k + 4), (v) => round(v, 100)),
        );
      }
    },
  },
  {
    id: 'tools.infer-segmentation-good-and-corrupt',
    item: '7',
    what: 'tools/infer.ts, segmentation (EncoderDecoder) config, one good and one corrupt image',
    expect: 'clear-error',
    async run() {
      const r = await inferGoodAndBad('segmentation');
      expectGoodAndBad(r);
      const pred = await predictInProcess(await buildFamily('segmentation'), r.good);
      const counts = new Map<number, number>();
      for (const v of pred.predSemSeg!.data) counts.set(v, (counts.get(v) ?? 0) + 1);
      const seg = r.results.results[0].semSeg as {
        labelMap: string;
        classes: { label: number; pixels: number }[];
      };
      expect(seg.classes.map((c) => [c.label, c.pixels])).toEqual(
        [...counts].sort((a, b) => a[0] - b[0]),
      );
      expect(seg.labelMap).toBe(path.join(r.out, 'good_seg.png'));
      expect(fs.existsSync(seg.labelMap)).toBe(true);
    },
  },
  {
    id: 'tools.infer-instance-good-and-corrupt',
    item: '7',
    what: 'tools/infer.ts, Mask R-CNN config, one good and one corrupt image',
    expect: 'clear-error',
    async run() {
      const r = await inferGoodAndBad('instance');
      expectGoodAndBad(r);
      const pred = await predictInProcess(await buildFamily('instance'), r.good);
      const p = pred.predInstances!;
      const dets = r.results.results[0].detections as {
        score: number;
        label: number;
        segmentation: { size: number[] };
      }[];
      expect(dets.length).toBe(p.scores.length);
      expect(dets.map((d) => d.label)).toEqual(Array.from(p.labels));
      expect(dets.map((d) => d.score)).toEqual(Array.from(p.scores, (v) => round(v, 1e4)));
      for (const d of dets) expect(d.segmentation.size).toEqual([64, 64]);
    },
    timeout: 180_000,
  },
  {
    id: 'tools.infer-same-base-name',
    item: '7',
    what: 'tools/infer.ts on a/x.png and b/x.png: two distinct drawings, in input order',
    expect: 'correct-result',
    async run() {
      const b = await buildFamily('detection');
      const dir = tmpDir('infer-same');
      const a = await goodImage(path.join(dir, 'a', 'x.png'), 1);
      const c = await goodImage(path.join(dir, 'b', 'x.png'), 4);
      const out = path.join(dir, 'out');
      const r = await runTool('infer', [
        b.config,
        b.ckpt,
        a,
        c,
        '--out-dir',
        out,
        '--backend',
        'cpu',
      ]);
      expect(r.code).toBe(0);
      const res = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
      expect(res.results.map((e: { image: string; drawn: string }) => [e.image, e.drawn])).toEqual([
        [a, path.join(out, 'x_pred.png')],
        [c, path.join(out, 'x_1_pred.png')],
      ]);
      expect(fs.readFileSync(path.join(out, 'x_pred.png'))).not.toEqual(
        fs.readFileSync(path.join(out, 'x_1_pred.png')),
      );
    },
  },
  {
    id: 'tools.infer-missing-image-skipped',
    item: '7',
    what: 'tools/infer.ts with a missing image before a good one',
    expect: 'clear-error',
    async run() {
      const b = await buildFamily('detection');
      const dir = tmpDir('infer-missing');
      const missing = path.join(dir, 'nope.png');
      const good = await goodImage(path.join(dir, 'g.png'));
      const out = path.join(dir, 'out');
      const r = await runTool('infer', [
        b.config,
        b.ckpt,
        missing,
        good,
        '--out-dir',
        out,
        '--backend',
        'cpu',
      ]);
      expect(r.code).toBe(1);
      expect(r.err).toContain(
        `Error: 1 of 2 images failed (the others are in ${path.join(out, 'results.json')}): ${missing}: file not found`,
      );
      const res = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
      expect(res.results.map((e: { image: string }) => e.image)).toEqual([good]);
      expect(fs.existsSync(path.join(out, 'g_pred.png'))).toBe(true);
    },
  },
  {
    id: 'tools.infer-not-an-image',
    item: '7',
    what: 'tools/infer.ts with a text file named .jpg',
    expect: 'clear-error',
    async run() {
      const b = await buildFamily('detection');
      const dir = tmpDir('infer-text');
      const txt = path.join(dir, 'notes.jpg');
      fs.writeFileSync(txt, 'hello\n');
      const r = await runTool('infer', [
        b.config,
        b.ckpt,
        txt,
        '--out-dir',
        path.join(dir, 'o'),
        '--backend',
        'cpu',
      ]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        new RegExp(
          `Error: 1 of 1 images failed .*: ${txt.replace(/[.]/g, '\\.')}: not a readable image \\(JPEG, PNG, \\.\\.\\.\\)`,
        ),
      );
    },
  },
  {
    id: 'tools.infer-out-dir-proc',
    item: '4',
    what: 'tools/infer.ts --out-dir /proc/x fails at once with the path and reason',
    expect: 'clear-error',
    async run() {
      const b = await buildFamily('detection');
      const good = await goodImage(path.join(tmpDir('infer-proc'), 'g.png'));
      const t0 = Date.now();
      const r = await runTool(
        'infer',
        [b.config, b.ckpt, good, '--out-dir', '/proc/tfdet_x', '--backend', 'cpu'],
        {
          timeoutMs: 20_000,
        },
      );
      expect(r.code).toBe(1);
      expect(r.err.trim()).toMatch(/^Error: cannot create directory \/proc\/tfdet_x: .+/);
      // tsx start-up included; the directory check itself comes before the model is built
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(r.out).not.toContain('backend:');
    },
  },
  {
    id: 'tools.infer-out-dir-is-file',
    item: '4',
    what: 'tools/infer.ts --out-dir naming a file',
    expect: 'clear-error',
    async run() {
      const b = await buildFamily('detection');
      const dir = tmpDir('infer-file');
      const good = await goodImage(path.join(dir, 'g.png'));
      const f = path.join(dir, 'plain');
      fs.writeFileSync(f, 'x');
      const r = await runTool('infer', [b.config, b.ckpt, good, '--out-dir', path.join(f, 'sub')]);
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(
        `Error: cannot create directory ${path.join(f, 'sub')}: ${f} is not a directory`,
      );
    },
  },
  {
    id: 'tools.infer-links-in-out-dir',
    item: '5',
    what: 'results.json, the drawing and the label map are links to files outside the out dir',
    expect: 'correct-result',
    async run() {
      const b = await buildFamily('segmentation');
      const dir = tmpDir('infer-links');
      const good = await goodImage(path.join(dir, 'in', 'g.png'));
      const victims = path.join(dir, 'victims');
      fs.mkdirSync(victims);
      const out = path.join(dir, 'out');
      fs.mkdirSync(out);
      for (const n of ['results.json', 'g_pred.png', 'g_seg.png']) {
        fs.writeFileSync(path.join(victims, n), `keep ${n}`);
        fs.symlinkSync(path.join(victims, n), path.join(out, n));
      }
      const before = snapshot(victims);
      const r = await runTool('infer', [
        b.config,
        b.ckpt,
        good,
        '--out-dir',
        out,
        '--backend',
        'cpu',
      ]);
      expect(r.code).toBe(0);
      expectUnchanged(before, victims);
      for (const n of ['results.json', 'g_pred.png', 'g_seg.png'])
        expect(fs.lstatSync(path.join(out, n)).isFile()).toBe(true);
      expect(
        JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')).results,
      ).toHaveLength(1);
      expect(fs.readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    },
  },
  {
    id: 'tools.infer-earlier-outputs-kept',
    item: '7',
    what: 'tools/infer.ts into an out dir holding earlier outputs of other images',
    expect: 'correct-result',
    async run() {
      const r = await inferGoodAndBad('detection');
      const b = await buildFamily('detection');
      const before = snapshot(r.out);
      const other = await goodImage(path.join(r.dir, 'in', 'other.png'), 2);
      const r2 = await runTool('infer', [
        b.config,
        b.ckpt,
        other,
        '--out-dir',
        r.out,
        '--backend',
        'cpu',
      ]);
      expect(r2.code).toBe(0);
      before.delete('results.json'); // results.json is the latest run's
      expectUnchanged(before, r.out);
      expect(fs.existsSync(path.join(r.out, 'other_pred.png'))).toBe(true);
    },
  },
  {
    id: 'tools.infer-other-model-checkpoint',
    item: '3',
    what: 'tools/infer.ts with a detection checkpoint and a segmentation config',
    expect: 'clear-error',
    async run() {
      const det = await buildFamily('detection');
      const seg = await buildFamily('segmentation');
      const dir = tmpDir('infer-other');
      const good = await goodImage(path.join(dir, 'g.png'));
      const r = await runTool('infer', [
        seg.config,
        det.ckpt,
        good,
        '--out-dir',
        path.join(dir, 'o'),
      ]);
      expect(r.code).toBe(1);
      expect(r.err.trim()).toMatch(
        new RegExp(
          `^Error: ${det.ckpt.replace(/[.]/g, '\\.')} does not fit the model of configs/fcn/fcn_r18_shapes\\.ts: \\d+ missing keys \\([^,]+, [^,]+, [^,]+, \\.\\.\\. \\d+ more\\)`,
        ),
      );
      expect(fs.existsSync(path.join(dir, 'o', 'results.json'))).toBe(false);
    },
  },
  {
    id: 'tools.infer-bad-score-thr',
    item: 'pass',
    what: 'tools/infer.ts --score-thr 2',
    expect: 'clear-error',
    async run() {
      const b = await buildFamily('detection');
      const dir = tmpDir('infer-thr');
      const good = await goodImage(path.join(dir, 'g.png'));
      const r = await runTool('infer', [
        b.config,
        b.ckpt,
        good,
        '--score-thr',
        '2',
        '--out-dir',
        dir,
      ]);
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe('Error: --score-thr: expected a number in [0, 1], got "2"');
    },
  },
  {
    id: 'tools.infer-missing-checkpoint',
    item: 'pass',
    what: 'tools/infer.ts with a checkpoint path that does not exist',
    expect: 'clear-error',
    async run() {
      const dir = tmpDir('infer-nockpt');
      const good = await goodImage(path.join(dir, 'g.png'));
      const ck = path.join(dir, 'none.safetensors');
      const r = await runTool('infer', [
        'configs/fcn/fcn_r18_shapes.ts',
        ck,
        good,
        '--out-dir',
        dir,
      ]);
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(`Error: file not found: ${ck}`);
    },
  },
  {
    id: 'tools.test-other-model-checkpoint',
    item: '3',
    what: "tools/test.ts with another model family's checkpoint",
    expect: 'clear-error',
    async run() {
      const ck = await toyCheckpoint('retinanet');
      const dir = tmpDir('test-other');
      const r = await runTool('test', [TOY_CONFIG, ck, '--work-dir', dir]);
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(
        `Error: ${ck} does not fit the model of ${TOY_CONFIG}: 9 missing keys (backbone.stem.weight, backbone.stem.bias, backbone.norm.weight, ... 6 more) (another model's checkpoint?)`,
      );
      expect(r.out).not.toMatch(/toy\/score/);
    },
  },
  {
    id: 'tools.test-mismatched-shapes',
    item: '3',
    what: 'tools/test.ts with a checkpoint of the same model with 5 classes instead of 3',
    expect: 'clear-error',
    async run() {
      const ck = await toyCheckpoint('toy5');
      const r = await runTool('test', [TOY_CONFIG, ck, '--work-dir', tmpDir('test-shape')]);
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(
        `Error: ${ck} does not fit the model of ${TOY_CONFIG}: 2 mismatched shapes (head.weight: [8,3] vs [8,5], head.bias: [3] vs [5]) (another model's checkpoint?)`,
      );
    },
  },
  {
    id: 'tools.test-allow-partial',
    item: '3',
    what: 'tools/test.ts --allow-partial with a mismatched checkpoint warns and evaluates',
    expect: 'correct-result',
    async run() {
      const ck = await toyCheckpoint('toy5');
      const r = await runTool('test', [
        TOY_CONFIG,
        ck,
        '--allow-partial',
        '--json',
        '--work-dir',
        tmpDir('test-partial'),
      ]);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`warning: ${ck} does not cover the whole model (see the line above)`);
      const last = r.out.trim().split('\n').pop()!;
      expect(Object.keys(JSON.parse(last) as object)).toContain('toy/score');
    },
  },
  {
    id: 'tools.test-matching-checkpoint',
    item: 'pass',
    what: 'tools/test.ts with a checkpoint of the same model evaluates without warning',
    expect: 'correct-result',
    async run() {
      const ck = await toyCheckpoint('toy3');
      const r = await runTool('test', [TOY_CONFIG, ck, '--json', '--work-dir', tmpDir('test-ok')]);
      expect(r.code).toBe(0);
      expect(r.out).not.toContain('warning:');
      expect(Object.keys(JSON.parse(r.out.trim().split('\n').pop()!) as object)).toContain(
        'toy/score',
      );
    },
  },
  {
    id: 'tools.test-out-through-link',
    item: '5',
    what: 'tools/test.ts --out naming a link to a file elsewhere',
    expect: 'correct-result',
    async run() {
      const ck = await toyCheckpoint('toy3');
      const dir = tmpDir('test-link');
      const victim = path.join(dir, 'victim.json');
      fs.writeFileSync(victim, 'keep');
      const out = path.join(dir, 'out', 'preds.json');
      fs.mkdirSync(path.dirname(out));
      fs.symlinkSync(victim, out);
      const r = await runTool('test', [
        TOY_CONFIG,
        ck,
        '--out',
        out,
        '--work-dir',
        path.join(dir, 'w'),
      ]);
      expect(r.code).toBe(0);
      expect(fs.readFileSync(victim, 'utf8')).toBe('keep');
      expect(fs.lstatSync(out).isFile()).toBe(true);
      expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toHaveLength(16);
    },
  },
  {
    id: 'tools.test-out-in-proc',
    item: '4',
    what: 'tools/test.ts --out /proc/tfdet_x/preds.json',
    expect: 'clear-error',
    async run() {
      const ck = await toyCheckpoint('toy3');
      const r = await runTool(
        'test',
        [TOY_CONFIG, ck, '--out', '/proc/tfdet_x/preds.json', '--work-dir', tmpDir('test-proc')],
        {
          timeoutMs: 30_000,
        },
      );
      expect(r.code).toBe(1);
      expect(r.err.trim()).toMatch(/^Error: cannot create directory \/proc\/tfdet_x: .+/);
    },
  },
  {
    id: 'tools.test-missing-checkpoint',
    item: 'pass',
    what: 'tools/test.ts with a checkpoint that does not exist',
    expect: 'clear-error',
    async run() {
      const ck = path.join(tmpDir('test-nock'), 'none.safetensors');
      const r = await runTool('test', [TOY_CONFIG, ck]);
      expect(r.code).toBe(1);
      expect(r.err.trim()).toMatch(new RegExp(`^Error: .*${ck.replace(/[.]/g, '\\.')}.*not found`));
    },
  },
  {
    id: 'tools.full-load-check-lists-a-few',
    item: '3',
    what: 'the shared full-load check with 10 missing keys lists three and the count',
    expect: 'clear-error',
    run() {
      const missing = Array.from({ length: 10 }, (_, i) => `layer${i}.weight`);
      expect(() =>
        assertFullLoad(
          { missingKeys: missing, unexpectedKeys: ['x'], mismatchedKeys: [] },
          'w.safetensors',
          'c.ts',
        ),
      ).toThrow(
        "w.safetensors does not fit the model of c.ts: 10 missing keys (layer0.weight, layer1.weight, layer2.weight, ... 7 more) (another model's checkpoint?)",
      );
    },
  },
  {
    id: 'tools.write-image-through-link',
    item: '5',
    what: 'writeImage onto a path that is a link replaces the link, not its target',
    expect: 'correct-result',
    async run() {
      const dir = tmpDir('vis-link');
      const victim = path.join(dir, 'victim.png');
      fs.writeFileSync(victim, 'keep');
      const file = path.join(dir, 'draw.png');
      fs.symlinkSync(victim, file);
      const data = new Uint8Array(4 * 4 * 3).fill(200);
      await writeImage({ data, width: 4, height: 4, channels: 3 }, file);
      expect(fs.readFileSync(victim, 'utf8')).toBe('keep');
      expect(fs.lstatSync(file).isFile()).toBe(true);
      expect(
        tf.util.arraysEqual([...fs.readFileSync(file).subarray(1, 4)], [...Buffer.from('PNG')]),
      ).toBe(true);
    },
  },
];

export default cases;
