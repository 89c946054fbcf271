/**
 * Bad configs and overrides: prototype pollution through `--cfg-options`,
 * JSON and TS configs, merges and registry arguments; `customImports` where a
 * config is data only; `_` keys; configs that throw on import; overrides
 * without `=`; `fp16` and roiAlign's `samplingRatio: -1`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { expect } from 'vitest';
import {
  applyCfgOptions,
  loadConfig,
  mergeConfig,
  parseCfgOptions,
  type Config,
} from '../../src/config/index.js';
import { roiAlign } from '../../src/ops/index.js';
import { MODELS } from '../../src/registry.js';
import { TOY_CONFIG } from '../engine/helpers.js';
import '../fixtures/engine/toy.js';
import '../../src/heads/index.js';
import '../../src/task_utils/index.js';
import { runTool, tmpDir, type RobustCase, type ToolResult } from './harness.js';

const TOY_MODULE = path.resolve('test/fixtures/engine/toy.ts');
const FORBIDDEN =
  'expected a key other than __proto__, constructor or prototype (they would change the prototype of objects)';

/** Asserts Object.prototype carries none of the names the cases try to plant. */
function expectNoPollution(): void {
  for (const k of ['polluted', 'x', 'customImports'])
    expect((Object.prototype as Record<string, unknown>)[k], k).toBeUndefined();
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

const trainToy = (dir: string, ...extra: string[]) =>
  runTool('train', [TOY_CONFIG, '--work-dir', path.join(dir, 'run'), ...extra]);

/** The toy training config as JSON, registering its components through customImports. */
async function toyJson(dir: string, extra: Record<string, unknown> = {}): Promise<string> {
  const cfg: Config = { ...(await loadConfig(TOY_CONFIG)), customImports: [TOY_MODULE], ...extra };
  cfg.trainCfg.maxEpochs = 1;
  const file = path.join(dir, 'toy.json');
  fs.writeFileSync(file, JSON.stringify(cfg));
  return file;
}

/** A module that leaves a marker file when imported (to see whether an import ran). */
function markerModule(dir: string): { module: string; marker: string } {
  const marker = path.join(dir, 'imported.txt');
  const module = path.join(dir, 'marker.mjs');
  fs.writeFileSync(
    module,
    `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\n`,
  );
  return { module, marker };
}

function expectError(r: ToolResult, code: number, message: string): void {
  expect(r.code, `${r.out}\n${r.err}`).toBe(code);
  expect(r.err.split('\n')[0]).toBe(`Error: ${message}`);
}

const cases: RobustCase[] = [
  {
    id: 'config.cfg-options-proto',
    item: '11',
    what: '--cfg-options __proto__.polluted=1',
    expect: 'clear-error',
    async run() {
      const r = await trainToy(tmpDir('cfg-proto'), '--cfg-options', '__proto__.polluted=1');
      expectError(r, 1, `--cfg-options __proto__.polluted: ${FORBIDDEN}, got "__proto__"`);
      expect(() => parseCfgOptions(['__proto__.polluted=1'])).toThrow(FORBIDDEN);
      expectNoPollution();
    },
  },
  {
    id: 'config.cfg-options-nested-proto',
    item: '11',
    what: '--cfg-options model.__proto__.x=1',
    expect: 'clear-error',
    async run() {
      const r = await trainToy(tmpDir('cfg-nproto'), '--cfg-options', 'model.__proto__.x=1');
      expectError(r, 1, `--cfg-options model.__proto__.x: ${FORBIDDEN}, got "__proto__"`);
    },
  },
  {
    id: 'config.cfg-options-constructor-prototype',
    item: '11',
    what: '--cfg-options model.constructor.prototype.polluted=1',
    expect: 'clear-error',
    async run() {
      const r = await trainToy(
        tmpDir('cfg-ctor'),
        '--cfg-options',
        'model.constructor.prototype.polluted=1',
      );
      expectError(
        r,
        1,
        `--cfg-options model.constructor.prototype.polluted: ${FORBIDDEN}, got "constructor"`,
      );
    },
  },
  {
    id: 'config.cfg-options-object-value-proto',
    item: '11',
    what: '--cfg-options model={"__proto__":{"polluted":1}} (a JSON object value)',
    expect: 'clear-error',
    async run() {
      const r = await trainToy(
        tmpDir('cfg-val'),
        '--cfg-options',
        'model={"__proto__":{"polluted":1}}',
      );
      expectError(r, 1, `--cfg-options model.__proto__: ${FORBIDDEN}, got "__proto__"`);
    },
  },
  {
    id: 'config.apply-options-map-proto',
    item: '11',
    what: 'applyCfgOptions with a dotted-key map naming prototype',
    expect: 'clear-error',
    run() {
      expect(() => applyCfgOptions({ model: {} }, { 'model.prototype.polluted': 1 })).toThrow(
        `model.prototype: ${FORBIDDEN}, got "prototype"`,
      );
      expectNoPollution();
    },
  },
  {
    id: 'config.json-proto-block',
    item: '11',
    what: 'a JSON config with a "__proto__" block carrying customImports',
    expect: 'clear-error',
    async run() {
      const dir = tmpDir('cfg-json-proto');
      const { module, marker } = markerModule(dir);
      const file = path.join(dir, 'evil.json');
      fs.writeFileSync(
        file,
        `{"model": {"type": "ToyRegressor", "numClasses": 3}, "__proto__": {"customImports": [${JSON.stringify(module)}]}}`,
      );
      const r = await runTool('train', [file, '--work-dir', path.join(dir, 'run')]);
      expectError(r, 1, `${file}: __proto__: ${FORBIDDEN}, got "__proto__"`);
      expect(fs.existsSync(marker)).toBe(false);
      expectNoPollution();
    },
  },
  {
    id: 'config.json-custom-imports-need-flag',
    item: '11',
    what: 'a JSON config with customImports, without --allow-imports',
    expect: 'clear-error',
    async run() {
      const dir = tmpDir('cfg-json-imports');
      const file = await toyJson(dir);
      const r = await runTool('train', [file, '--work-dir', path.join(dir, 'run')]);
      expectError(
        r,
        1,
        `${file}: customImports: expected no customImports in a JSON config (JSON configs are data only: pass --allow-imports to import the modules it names), got ${JSON.stringify([TOY_MODULE])}`,
      );
      expect(fs.existsSync(path.join(dir, 'run'))).toBe(false);
    },
  },
  {
    id: 'config.json-custom-imports-with-flag',
    item: '11',
    what: 'the same JSON config with --allow-imports',
    expect: 'correct-result',
    async run() {
      const dir = tmpDir('cfg-json-allowed');
      const file = await toyJson(dir);
      const r = await runTool('train', [
        file,
        '--allow-imports',
        '--work-dir',
        path.join(dir, 'run'),
      ]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('done: 10 iterations, 1 epochs');
    },
  },
  {
    id: 'config.override-custom-imports-need-flag',
    item: '11',
    what: '--cfg-options customImports=<module> without --allow-imports',
    expect: 'clear-error',
    async run() {
      const dir = tmpDir('cfg-opt-imports');
      const { module, marker } = markerModule(dir);
      const r = await trainToy(dir, '--cfg-options', `customImports=${module}`);
      expectError(
        r,
        1,
        `--cfg-options customImports: expected no customImports in an override (pass --allow-imports to import the modules it names), got ${JSON.stringify(module)}`,
      );
      expect(fs.existsSync(marker)).toBe(false);
    },
  },
  {
    id: 'config.ts-literal-proto',
    item: '11',
    what: 'a TS config whose object literal sets __proto__',
    expect: 'clear-error',
    async run() {
      const dir = tmpDir('cfg-ts-proto');
      const file = path.join(dir, 'proto.ts');
      fs.writeFileSync(
        file,
        "export default { __proto__: { customImports: ['./x.mjs'] }, model: { type: 'ToyRegressor' } };\n",
      );
      await expect(loadConfig(file)).rejects.toThrow(
        `${file}: __proto__: ${FORBIDDEN}, got "__proto__"`,
      );
    },
  },
  {
    id: 'config.merge-proto',
    item: '11',
    what: 'mergeConfig with an override holding an own "__proto__" key (from JSON.parse)',
    expect: 'clear-error',
    run() {
      const override = JSON.parse('{"a": {"__proto__": {"polluted": 1}}}') as Config;
      expect(() => mergeConfig({ a: { b: 1 } }, override)).toThrow(
        `__proto__: ${FORBIDDEN}, got "__proto__"`,
      );
      expectNoPollution();
    },
  },
  {
    id: 'config.registry-argument-proto',
    item: '11',
    what: 'a registry build whose arguments hold an own "__proto__" key',
    expect: 'clear-error',
    run() {
      const cfg = JSON.parse('{"type": "ToyRegressor", "__proto__": {"numClasses": 99}}') as Config;
      expect(() => MODELS.build(cfg, { path: 'model' })).toThrow(
        `model.__proto__: ${FORBIDDEN}, got "__proto__"`,
      );
      const nested = JSON.parse(
        '{"type": "ToyRegressor", "numClasses": 3, "extra": {"constructor": 1}}',
      ) as Config;
      expect(() => MODELS.build(nested, { path: 'model' })).toThrow(
        `model.extra.constructor: ${FORBIDDEN}, got "constructor"`,
      );
    },
  },
  {
    id: 'config.underscore-key-validated',
    item: '11',
    what: 'a top-level key beginning with _ that is not _base_',
    expect: 'clear-error',
    async run() {
      const r = await trainToy(tmpDir('cfg-underscore'), '--cfg-options', '_trainCfg.maxEpochs=1');
      expect(r.code).toBe(1);
      expect(r.err.split('\n')[0]).toBe(
        `Error: ${TOY_CONFIG}: _trainCfg: expected a known top-level key; did you mean 'trainCfg'?, got {"maxEpochs":1}`,
      );
    },
  },
  {
    id: 'config.base-and-delete-still-special',
    item: 'pass',
    what: '_base_ and _delete_ keep their meaning',
    expect: 'correct-result',
    async run() {
      const dir = tmpDir('cfg-base');
      fs.writeFileSync(path.join(dir, 'base.json'), '{"model": {"type": "A", "x": 1, "y": 2}}');
      fs.writeFileSync(
        path.join(dir, 'child.json'),
        '{"_base_": "./base.json", "model": {"_delete_": true, "type": "B", "z": 3}}',
      );
      const cfg = await loadConfig(path.join(dir, 'child.json'));
      expect(cfg).toEqual({ model: { type: 'B', z: 3 } });
    },
  },
  {
    id: 'config.throws-on-import',
    item: '12',
    what: 'a TS config that throws when imported',
    expect: 'clear-error',
    async run() {
      const dir = tmpDir('cfg-throws');
      const file = path.join(dir, 'broken.ts');
      fs.writeFileSync(file, "throw new Error('dataRoot is not set');\nexport default {};\n");
      const r = await runTool('train', [file]);
      expectError(r, 1, `config ${file}: failed to load: dataRoot is not set`);
    },
  },
  {
    id: 'config.base-throws-on-import',
    item: '12',
    what: 'a _base_ file that throws when imported',
    expect: 'clear-error',
    async run() {
      const dir = tmpDir('cfg-base-throws');
      const base = path.join(dir, 'base.ts');
      const child = path.join(dir, 'child.ts');
      fs.writeFileSync(base, "throw new TypeError('cannot read x');\nexport default {};\n");
      fs.writeFileSync(child, "export default { _base_: './base.ts' };\n");
      await expect(loadConfig(child)).rejects.toThrow(
        `config ${base} (a _base_ of ${child}): failed to load: cannot read x`,
      );
    },
  },
  {
    id: 'config.cfg-options-without-equals-train',
    item: '12',
    what: 'tools/train.ts CONFIG --cfg-options trainCfg.maxEpochs (no =)',
    expect: 'clear-error',
    async run() {
      const r = await runTool('train', [TOY_CONFIG, '--cfg-options', 'trainCfg.maxEpochs']);
      expectError(
        r,
        2,
        '--cfg-options: expected key=value, got "trainCfg.maxEpochs" (e.g. trainCfg.maxEpochs=1)',
      );
    },
  },
  {
    id: 'config.cfg-options-without-equals-get-flops',
    item: '12',
    what: 'tools/get_flops.ts CONFIG --cfg-options model (no =)',
    expect: 'clear-error',
    async run() {
      const r = await runTool('get_flops', [TOY_CONFIG, '--cfg-options', 'model']);
      expectError(r, 2, '--cfg-options: expected key=value, got "model" (e.g. model=1)');
    },
  },
  {
    id: 'config.cfg-options-nothing-after',
    item: '12',
    what: 'tools/train.ts CONFIG --cfg-options (nothing after it)',
    expect: 'clear-error',
    async run() {
      const r = await runTool('train', [TOY_CONFIG, '--cfg-options']);
      expectError(r, 2, '--cfg-options: expected at least one key=value after it');
    },
  },
  {
    id: 'config.cfg-options-before-config',
    item: 'pass',
    what: 'tools/train.ts --cfg-options k=v CONFIG (overrides before the config)',
    expect: 'correct-result',
    async run() {
      const dir = tmpDir('cfg-before');
      const r = await runTool('train', [
        '--cfg-options',
        'trainCfg.maxEpochs=1',
        TOY_CONFIG,
        '--work-dir',
        path.join(dir, 'run'),
      ]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('done: 10 iterations, 1 epochs');
    },
  },
  {
    id: 'config.fp16-rejected',
    item: '13',
    what: 'valCfg.fp16=true (mixed precision does not exist yet)',
    expect: 'clear-error',
    async run() {
      const r = await trainToy(tmpDir('cfg-fp16'), '--cfg-options', 'valCfg.fp16=true');
      expect(r.code).toBe(1);
      expect(r.err).toContain(
        'fp16 (mixed precision) is not supported yet: leave it out or set it to false',
      );
      expect(r.err).toContain('valCfg');
    },
  },
  {
    id: 'config.roi-align-sampling-ratio-minus-one',
    item: '13',
    what: "roiAlign with samplingRatio -1 (torchvision's default)",
    expect: 'correct-result',
    run() {
      const feat = tf.tensor4d(
        Array.from({ length: 2 * 8 * 8 }, (_, i) => Math.sin(i)),
        [1, 8, 8, 2],
      );
      const rois = tf.tensor2d([0, 0.5, 1, 6.5, 7, 0, 2, 2, 5, 3], [2, 5]);
      const a = roiAlign(feat, rois, { outputSize: 3, samplingRatio: -1 }).arraySync();
      const b = roiAlign(feat, rois, { outputSize: 3, samplingRatio: 0 }).arraySync();
      expect(a).toEqual(b);
      tf.dispose([feat, rois]);
    },
  },
  {
    id: 'config.roi-align-sampling-ratio-fraction',
    item: '13',
    what: 'roiAlign with samplingRatio 1.5',
    expect: 'clear-error',
    run() {
      const feat = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
      const rois = tf.tensor2d([0, 0, 0, 2, 2], [1, 5]);
      expect(() => roiAlign(feat, rois, { outputSize: 2, samplingRatio: 1.5 })).toThrow(
        "roiAlign: 'samplingRatio' must be an integer, got 1.5.",
      );
      tf.dispose([feat, rois]);
    },
  },
  {
    id: 'config.unknown-top-level-key',
    item: 'pass',
    what: 'a misspelt top-level key',
    expect: 'clear-error',
    async run() {
      const r = await trainToy(tmpDir('cfg-typo'), '--cfg-options', 'trainCfgg.maxEpochs=1');
      expect(r.code).toBe(1);
      expect(r.err.split('\n')[0]).toBe(
        `Error: ${TOY_CONFIG}: trainCfgg: expected a known top-level key; did you mean 'trainCfg'?, got {"maxEpochs":1}`,
      );
    },
  },
  {
    id: 'config.missing-file',
    item: 'pass',
    what: 'a config file that does not exist',
    expect: 'clear-error',
    async run() {
      const r = await runTool('train', ['/nonexistent/cfg.ts']);
      expectError(r, 1, 'config file not found: /nonexistent/cfg.ts');
    },
  },
  {
    id: 'config.bad-extension',
    item: 'pass',
    what: 'a config with an unsupported extension',
    expect: 'clear-error',
    async run() {
      const file = path.join(tmpDir('cfg-ext'), 'cfg.yaml');
      fs.writeFileSync(file, 'model: {}\n');
      await expect(loadConfig(file)).rejects.toThrow(
        `config ${file}: unsupported extension '.yaml' (use .ts, .js, .mjs or .json)`,
      );
    },
  },
  {
    id: 'config.invalid-json',
    item: 'pass',
    what: 'a JSON config that does not parse',
    expect: 'clear-error',
    async run() {
      const file = path.join(tmpDir('cfg-json'), 'cfg.json');
      fs.writeFileSync(file, '{"model": ');
      await expect(loadConfig(file)).rejects.toThrow(`config ${file}: invalid JSON: `);
    },
  },
  {
    id: 'config.not-an-object',
    item: 'pass',
    what: 'a JSON config that is a list',
    expect: 'clear-error',
    async run() {
      const file = path.join(tmpDir('cfg-list'), 'cfg.json');
      fs.writeFileSync(file, '[1, 2]');
      await expect(loadConfig(file)).rejects.toThrow(
        `config ${file}: expected an object, got [1,2]`,
      );
    },
  },
  {
    id: 'config.base-cycle',
    item: 'pass',
    what: 'two configs naming each other as _base_',
    expect: 'clear-error',
    async run() {
      const dir = tmpDir('cfg-cycle');
      const a = path.join(dir, 'a.json');
      const b = path.join(dir, 'b.json');
      fs.writeFileSync(a, '{"_base_": "./b.json"}');
      fs.writeFileSync(b, '{"_base_": "./a.json"}');
      await expect(loadConfig(a)).rejects.toThrow(`_base_ cycle: ${a} -> ${b} -> ${a}`);
    },
  },
  {
    id: 'config.cfg-options-index-out-of-range',
    item: 'pass',
    what: '--cfg-options paramScheduler.5.gamma=0.5 on a list of 2',
    expect: 'clear-error',
    async run() {
      const r = await trainToy(tmpDir('cfg-index'), '--cfg-options', 'paramScheduler.5.gamma=0.5');
      expectError(r, 1, 'paramScheduler.5: expected an index below 2, got "5"');
    },
  },
  {
    id: 'config.transform-error-full-key-path',
    item: '12',
    what: 'a misspelt transform type in the training pipeline',
    expect: 'clear-error',
    async run() {
      const r = await runTool('train', [
        'configs/retinanet/retinanet_r18_fpn_shapes.ts',
        '--work-dir',
        path.join(tmpDir('cfg-transform'), 'run'),
        '--cfg-options',
        'trainDataloader.dataset.pipeline.1.type=LoadAnnotationz',
      ]);
      expectError(
        r,
        1,
        "trainDataloader.dataset.pipeline.1.type: 'LoadAnnotationz' is not registered in the transform registry. Did you mean 'LoadAnnotations'?",
      );
    },
  },
  {
    id: 'config.dataset-error-starts-with-file',
    item: '12',
    what: 'a dataRoot without the annotation file',
    expect: 'clear-error',
    async run() {
      const root = tmpDir('cfg-dataroot');
      const r = await runTool('train', [
        'configs/retinanet/retinanet_r18_fpn_shapes.ts',
        '--work-dir',
        path.join(root, 'run'),
        '--cfg-options',
        `trainDataloader.dataset.dataRoot=${root}/`,
      ]);
      expectError(
        r,
        1,
        `${root}/annotations/instances_train.json: annotation file not found (loading trainDataloader.dataset, a dataset type 'CocoDataset')`,
      );
    },
  },
  {
    id: 'config.required-key-missing',
    item: '12',
    what: 'a head config without its required anchorGenerator',
    expect: 'clear-error',
    run() {
      expect(() =>
        MODELS.build(
          { type: 'RetinaHead', numClasses: 3, inChannels: 8 },
          { path: 'model.bboxHead' },
        ),
      ).toThrow(
        "model.bboxHead.anchorGenerator: expected a value (required) (model type 'RetinaHead'), got undefined (missing)",
      );
    },
  },
  {
    id: 'config.optional-box-coder-default',
    item: 'pass',
    what: 'a RetinaHead without bboxCoder gets the default coder (DeltaXYWHBBoxCoder)',
    expect: 'correct-result',
    run() {
      const head = MODELS.build<{ bboxCoder: object }>(
        {
          type: 'RetinaHead',
          numClasses: 3,
          inChannels: 8,
          featChannels: 8,
          stackedConvs: 1,
          anchorGenerator: {
            type: 'AnchorGenerator',
            strides: [8],
            ratios: [1],
            octaveBaseScale: 4,
            scalesPerOctave: 1,
          },
        },
        { path: 'model.bboxHead' },
      );
      expect(head.bboxCoder.constructor.name).toBe('DeltaXYWHBBoxCoder');
    },
  },
];

export default cases;
