import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  MODELS,
  Module,
  applyCfgOptions,
  dumpConfig,
  loadConfig,
  mergeConfig,
  parseCfgOptions,
  parseOptionValue,
  setBackend,
} from '../../src/index.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const fixtures = path.join(here, '..', 'fixtures', 'config');

class ToyBackbone extends Module {
  static configSchema = z
    .object({ depth: z.number().int().min(1).max(4), width: z.number().int().positive() })
    .strict();
  constructor(readonly opts: { depth: number; width: number }) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return x;
  }
}
class ToyHead extends Module {
  static configSchema = z
    .object({ numClasses: z.number().int().positive(), inChannels: z.number().int().positive() })
    .strict();
  constructor(readonly opts: { numClasses: number; inChannels: number }) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return x;
  }
}
class ToyDetector extends Module {
  readonly backbone: ToyBackbone;
  readonly head: ToyHead;
  constructor(opts: { backbone: ToyBackbone; head: ToyHead }) {
    super();
    this.backbone = this.addModule('backbone', opts.backbone);
    this.head = this.addModule('head', opts.head);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.head.forward(this.backbone.forward(x));
  }
}

beforeAll(async () => {
  await setBackend('cpu');
  MODELS.register(ToyBackbone, { force: true });
  MODELS.register(ToyHead, { force: true });
  MODELS.register(ToyDetector, { force: true });
});

describe('config files', () => {
  it('merges _base_ files (TS and JSON), honours _delete_, and builds the nested model', async () => {
    const cfg = await loadConfig(path.join(fixtures, 'child.ts'));
    expect(cfg.model.head).toEqual({ type: 'ToyHead', numClasses: 5, inChannels: 4 });
    expect(cfg.model.backbone).toEqual({ type: 'ToyBackbone', depth: 2, width: 4 });
    expect(cfg.trainCfg).toEqual({ maxEpochs: 12 });
    expect(cfg.optimWrapper.optimizer).toEqual({ type: 'Adam', lr: 0.001 }); // SGD's momentum dropped
    expect(cfg.paramScheduler).toEqual([{ type: 'MultiStepLR', milestones: [8, 11] }]);
    const model = MODELS.build<ToyDetector>(cfg.model, { path: 'model' });
    expect(model).toBeInstanceOf(ToyDetector);
    expect(model.head.opts.numClasses).toBe(5);
    expect(model.backbone.opts.depth).toBe(2);
  });

  it('applies command-line overrides, dumps the resolved config and loads it again', async () => {
    const cfg = await loadConfig(path.join(fixtures, 'child.ts'), {
      cfgOptions: [
        'model.backbone.depth=3',
        'trainCfg.maxEpochs=2',
        'paramScheduler.0.milestones=[1,2]',
        'optimWrapper.optimizer.type=SGD',
      ],
    });
    expect(cfg.model.backbone.depth).toBe(3);
    expect(cfg.trainCfg.maxEpochs).toBe(2);
    expect(cfg.paramScheduler[0].milestones).toEqual([1, 2]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-cfg-'));
    const out = path.join(dir, 'child.json');
    dumpConfig(cfg, out);
    const again = await loadConfig(out);
    expect(again).toEqual(cfg);
    expect(MODELS.build<ToyDetector>(again.model).backbone.opts.depth).toBe(3);
  });

  it('registers a backbone from a file outside src/ through customImports', async () => {
    const cfg = await loadConfig(path.join(fixtures, 'uses_plugin.ts'));
    const m = MODELS.build<Module>(cfg.model, { path: 'model' });
    expect(m.constructor.name).toBe('TinyUserBackbone');
    const y = (m.forward(tf.zeros([1, 8, 8, 3])) as tf.Tensor[])[0];
    expect(y.shape).toEqual([1, 8, 8, 6]);
    expect(m.namedParameters().map(([n]) => n)).toEqual(['stem.weight', 'stem.bias']);
  });

  it('parses override values like mmengine', () => {
    expect(parseOptionValue('12')).toBe(12);
    expect(parseOptionValue('-1e-3')).toBe(-0.001);
    expect(parseOptionValue('True')).toBe(true);
    expect(parseOptionValue('false')).toBe(false);
    expect(parseOptionValue('None')).toBe(null);
    expect(parseOptionValue('[1,[2,3]]')).toEqual([1, [2, 3]]);
    expect(parseOptionValue('(640,480)')).toEqual([640, 480]);
    expect(parseOptionValue('a,b')).toEqual(['a', 'b']);
    expect(parseOptionValue("'x.y'")).toBe('x.y');
    expect(parseOptionValue('bbox')).toBe('bbox');
    expect(parseCfgOptions(['a.b=1', 'c=[x,y]'])).toEqual({ 'a.b': 1, c: ['x', 'y'] });
    expect(applyCfgOptions({ l: [{ s: 1 }] }, { 'l.0.s': 2, 'n.m': 'v' })).toEqual({
      l: [{ s: 2 }],
      n: { m: 'v' },
    });
    expect(mergeConfig({ a: { x: 1 } }, { a: { _delete_: true, y: 2 } })).toEqual({ a: { y: 2 } });
  });
});

describe('config errors', () => {
  it('an unknown top-level key names the key and the closest known ones', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-cfg-'));
    const f = path.join(dir, 'bad.json');
    fs.writeFileSync(f, JSON.stringify({ optimWraper: { optimizer: { type: 'SGD' } } }));
    await expect(loadConfig(f)).rejects.toThrow(ConfigError);
    await expect(loadConfig(f)).rejects.toThrow(
      /bad\.json: optimWraper: expected a known top-level key; did you mean 'optimWrapper'/,
    );
  });

  it('an unknown component key and a bad value name the full key path', async () => {
    const cfg = await loadConfig(path.join(fixtures, 'child.ts'), {
      cfgOptions: ['model.backbone.deph=3'],
    });
    expect(() => MODELS.build(cfg.model, { path: 'model' })).toThrow(
      "model.backbone.deph: expected a known key (model type 'ToyBackbone'); did you mean 'depth'?, got 3",
    );
    const cfg2 = await loadConfig(path.join(fixtures, 'child.ts'), {
      cfgOptions: ['model.head.numClasses=-2'],
    });
    expect(() => MODELS.build(cfg2.model, { path: 'model' })).toThrow(
      "model.head.numClasses: expected a value > 0 (model type 'ToyHead'), got -2",
    );
    const cfg3 = await loadConfig(path.join(fixtures, 'child.ts'), {
      cfgOptions: ['model.head.type=ToyHeadd'],
    });
    expect(() => MODELS.build(cfg3.model, { path: 'model' })).toThrow(
      "model.head.type: 'ToyHeadd' is not registered in the model registry. Did you mean 'ToyHead'",
    );
  });

  it('a missing file or a bad override is reported with its name', async () => {
    await expect(loadConfig(path.join(fixtures, 'nope.ts'))).rejects.toThrow(
      /config file not found: .*nope\.ts/,
    );
    expect(() => parseCfgOptions(['model.depth'])).toThrow(
      '--cfg-options: expected key=value, got "model.depth"',
    );
  });
});
