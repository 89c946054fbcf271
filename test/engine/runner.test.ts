import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { loadConfig } from '../../src/config/index.js';
import {
  EMAHook,
  Hook,
  IterTimerHook,
  LoggerHook,
  OptimWrapper,
  PRIORITY,
  Runner,
  paramEntries,
  type Priority,
} from '../../src/engine/index.js';
import { loadCheckpoint } from '../../src/nn/index.js';
import { HOOKS, MODELS } from '../../src/registry.js';
import { ToyRegressor } from '../fixtures/engine/toy.js';
import { captureConsole, tmpDir, toyConfig } from './helpers.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

describe('Runner.train', () => {
  it('writes checkpoints, last_checkpoint, logs, scalars and a reloadable config', async () => {
    const dir = tmpDir('train');
    const cfg = await toyConfig({
      'trainCfg.maxEpochs': 3,
      'defaultHooks.checkpoint.maxKeepCkpts': 1,
    });
    cfg.workDir = dir;
    const out = captureConsole(false);
    const runner = new Runner(cfg, {
      configFile: 'test/fixtures/engine/toy_config.ts',
      console: out,
    });
    await runner.train();
    expect(runner.epoch).toBe(3);
    expect(runner.iter).toBe(30);
    const files = fs.readdirSync(dir).sort();
    expect(files.filter((f) => f.endsWith('.safetensors'))).toEqual([
      expect.stringMatching(/^best_toy_score_epoch_\d\.safetensors$/),
      'epoch_3.safetensors',
    ]);
    expect(fs.readFileSync(path.join(dir, 'last_checkpoint'), 'utf8')).toBe(
      path.join(dir, 'epoch_3.safetensors'),
    );
    // Plain lines off a TTY, with the iteration, lr, eta and each loss term.
    const text = out.text();
    expect(text).not.toContain('\r');
    expect(text).toMatch(
      /Epoch\(train\) \[3\]\[10\/10\] {2}lr: 5\.0000e-3 {2}eta: \S+ {2}time: .* loss: .* loss_cls: .* loss_bbox: .* acc: /,
    );
    expect(text).toMatch(/Epoch\(val\) \[3\] {2}toy\/mse: /);
    // The run folder: text log and JSON-lines scalars.
    const logDir = path.join(dir, runner.timestamp);
    expect(fs.readFileSync(path.join(logDir, `${runner.timestamp}.log`), 'utf8')).toMatch(
      /INFO - Epoch\(train\) \[1\]\[ 5\/10\]/,
    );
    const lines = fs
      .readFileSync(path.join(logDir, 'vis_data', 'scalars.json'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    const train = lines.filter((l) => 'loss' in l);
    expect(train).toHaveLength(6);
    for (const k of [
      'lr',
      'loss',
      'loss_cls',
      'loss_bbox',
      'iter',
      'epoch',
      'time',
      'data_time',
      'memory',
    ])
      expect(train[0]).toHaveProperty(k);
    expect(train.map((l) => l.iter)).toEqual([5, 10, 15, 20, 25, 30]);
    expect(lines.filter((l) => 'toy/mse' in l).map((l) => l.step)).toEqual([1, 2, 3]);
    // The resolved config loads again and names the same run.
    const dumped = await loadConfig(path.join(dir, 'toy_config.json'));
    expect(dumped.model).toEqual(cfg.model);
    expect(dumped.randomness.seed).toBe(7);
    expect(dumped.workDir).toBe(dir);
    runner.dispose();
  });

  it('draws a progress bar on a TTY', async () => {
    const cfg = await toyConfig({ 'trainCfg.maxEpochs': 1 });
    cfg.workDir = tmpDir('tty');
    const out = captureConsole(true);
    const runner = new Runner(cfg, { console: out });
    await runner.train();
    const text = out.text();
    expect(text.replaceAll('\x1b[2K', '')).toMatch(
      /\r\[=+>? *\] 4\/10 epoch 1\/1 iter \| eta \S+ \| lr \S+ \| loss \S+ loss_cls \S+ loss_bbox \S+/,
    );
    // Interval lines go to the log file only while the bar is shown.
    expect(text).not.toMatch(/Epoch\(train\)/);
    runner.dispose();
  });

  it('stops on a NaN loss naming the iteration and the term, before applying the update; the last checkpoint stays', async () => {
    const dir = tmpDir('nan');
    const cfg = await toyConfig({ 'model.nanAtCall': 13, 'trainCfg.maxEpochs': 3 });
    cfg.workDir = dir;
    const runner = new Runner(cfg, { console: captureConsole() });
    let before: number[] = [];
    runner.registerHook(
      new (class extends Hook {
        override beforeTrainIter(r: Runner) {
          if (r.iter === 12) before = values(r.model.stateDict().get('head.weight')!);
        }
      })(),
    );
    await expect(runner.train()).rejects.toThrow("iteration 13: loss term 'loss_cls' is NaN");
    expect(runner.iter).toBe(12);
    expect(values(runner.model.stateDict().get('head.weight')!)).toEqual(before);
    const last = fs.readFileSync(path.join(dir, 'last_checkpoint'), 'utf8');
    expect(path.basename(last)).toBe('epoch_1.safetensors');
    const ck = loadCheckpoint(last);
    expect(ck.meta.iter).toBe(10);
    for (const t of ck.state.values()) expect(values(t).every(Number.isFinite)).toBe(true);
    const log = fs.readFileSync(
      path.join(dir, runner.timestamp, `${runner.timestamp}.log`),
      'utf8',
    );
    expect(log).toMatch(/ERROR - iteration 13: loss term 'loss_cls' is NaN/);
    runner.dispose();
  });

  it('with clipping on, a non-finite gradient norm also stops before the update', async () => {
    const cfg = await toyConfig({ 'model.nanGradAtCall': 3, 'trainCfg.maxEpochs': 1 });
    cfg.workDir = tmpDir('nangrad');
    const runner = new Runner(cfg, { console: captureConsole() });
    await expect(runner.train()).rejects.toThrow(
      /^iteration 3: the gradient norm is (NaN|Infinity) \(the loss terms were finite\)$/,
    );
    for (const [, v] of runner.model.stateDict())
      expect(values(v).every(Number.isFinite)).toBe(true);
    runner.dispose();
  });

  it('fine-tunes with --load-from into another numClasses: loads the rest, reports the mismatched head', async () => {
    const dir = tmpDir('ft');
    const cfg = await toyConfig({ 'trainCfg.maxEpochs': 1 });
    cfg.workDir = dir;
    const r1 = new Runner(cfg, { console: captureConsole() });
    await r1.train();
    const ckpt = path.join(dir, 'epoch_1.safetensors');
    const trained = values(r1.model.stateDict().get('backbone.stem.weight')!);
    r1.dispose();

    const cfg2 = await toyConfig({ 'model.numClasses': 5, 'trainCfg.maxEpochs': 1 });
    cfg2.workDir = tmpDir('ft2');
    cfg2.loadFrom = ckpt;
    const out = captureConsole();
    const r2 = new Runner(cfg2, { console: out });
    const report = await r2.loadFrom(ckpt);
    expect(report.mismatchedKeys).toEqual(['head.weight: [8,5] vs [8,3]', 'head.bias: [5] vs [3]']);
    expect(report.missingKeys).toEqual([]);
    expect(report.unexpectedKeys).toEqual([]);
    expect(values(r2.model.stateDict().get('backbone.stem.weight')!)).toEqual(trained);
    expect(out.text()).toMatch(
      /load from .*epoch_1\.safetensors: shape mismatch: head\.weight: \[8,5\] vs \[8,3\], head\.bias: \[5\] vs \[3\]/,
    );
    await r2.train();
    expect(r2.loadReport?.mismatchedKeys).toHaveLength(2);
    // a .pth is taken as torchvision's or mmdetection's; one that is neither says so, naming the file
    await expect(r2.loadFrom('test/fixtures/nn/mmdet.pth')).rejects.toThrow(
      /mmdet\.pth: cannot tell which torchvision model these weights are from/,
    );
    r2.dispose();
  });

  it('paramwiseCfg: backbone lr x0.1, no decay on norm and bias', async () => {
    const mk = () => {
      const m = new ToyRegressor();
      return m;
    };
    const a = mk();
    const entries = paramEntries(a, {
      customKeys: { 'backbone.stem': { lrMult: 0.1 } },
      normDecayMult: 0,
      biasDecayMult: 0,
    });
    expect(entries.map((e) => [e.name, e.lrMult, e.decayMult])).toEqual([
      ['backbone.stem.weight', 0.1, 1],
      ['backbone.stem.bias', 0.1, 1],
      ['backbone.norm.weight', 1, 0],
      ['backbone.norm.bias', 1, 0],
      ['head.weight', 1, 1],
      ['head.bias', 1, 0],
    ]);
    // One plain SGD step: the backbone moves a tenth as far for the same gradient.
    const b = mk();
    b.loadStateDict(a.stateDict());
    const grads = new Map(a.namedParameters().map(([n, p]) => [n, tf.onesLike(p)]));
    const ows = [
      new OptimWrapper({
        optimizer: { type: 'SGD', lr: 0.5 },
        paramwiseCfg: { customKeys: { backbone: { lrMult: 0.1 } } },
      }).setModel(a),
      new OptimWrapper({ optimizer: { type: 'SGD', lr: 0.5 } }).setModel(b),
    ];
    const w0 = values(a.stateDict().get('backbone.stem.weight')!);
    const h0 = values(a.stateDict().get('head.weight')!);
    ows.forEach((o) => o.update(grads));
    const dA = values(a.stateDict().get('backbone.stem.weight')!).map((v, i) => v - w0[i]);
    const dB = values(b.stateDict().get('backbone.stem.weight')!).map((v, i) => v - w0[i]);
    dA.forEach((d, i) => expect(d).toBeCloseTo(0.1 * dB[i], 6));
    expect(dB[0]).toBeCloseTo(-0.5, 6);
    expect(values(a.stateDict().get('head.weight')!).map((v, i) => v - h0[i])[0]).toBeCloseTo(
      -0.5,
      6,
    );
  });

  it('frozen parameters stay put and are left out of the optimizer', async () => {
    const cfg = await toyConfig({ 'trainCfg.maxEpochs': 1 });
    cfg.model.freeze = ['backbone.stem'];
    cfg.workDir = tmpDir('frozen');
    const runner = new Runner(cfg, { console: captureConsole() });
    const w0 = values(runner.model.stateDict().get('backbone.stem.weight')!);
    const n0 = values(runner.model.stateDict().get('backbone.norm.weight')!);
    await runner.train();
    expect(runner.optimWrapper!.optimizer.params.map((p) => p.name)).not.toContain(
      'backbone.stem.weight',
    );
    expect(values(runner.model.stateDict().get('backbone.stem.weight')!)).toEqual(w0);
    expect(values(runner.model.stateDict().get('backbone.norm.weight')!)).not.toEqual(n0);
    runner.dispose();
  });
});

describe('frozenStages of a registered backbone', () => {
  it('keeps the stem and the frozen stages out of the optimizer and unchanged', async () => {
    await import('../../src/backbones/index.js');
    const cfg = await toyConfig({ 'trainCfg.maxEpochs': 1 });
    cfg.model = {
      type: 'ToyBackboneNet',
      channels: 16,
      backbone: {
        type: 'ResNet',
        depth: 18,
        baseChannels: 8,
        numStages: 2,
        outIndices: [1],
        frozenStages: 1,
        normEval: true,
      },
    };
    cfg.trainDataloader = {
      batchSize: 4,
      sampler: { type: 'DefaultSampler', shuffle: true },
      dataset: { type: 'ToyImageDataset' },
    };
    cfg.valDataloader = undefined;
    cfg.customHooks = [];
    cfg.optimWrapper.paramwiseCfg = { customKeys: { backbone: { lrMult: 0.1 } } };
    cfg.workDir = tmpDir('frozenstages');
    const runner = new Runner(cfg, { console: captureConsole() });
    const snap = () => new Map([...runner.model.stateDict()].map(([k, v]) => [k, values(v)]));
    const before = snap();
    await runner.train();
    const after = snap();
    const names = runner.optimWrapper!.optimizer.params.map((p) => p.name);
    expect(
      names.some((n) => n.startsWith('backbone.conv1.') || n.startsWith('backbone.layer1.')),
    ).toBe(false);
    expect(names.filter((n) => n.startsWith('backbone.layer2.')).length).toBeGreaterThan(0);
    expect(
      runner
        .optimWrapper!.optimizer.params.filter((p) => p.name.startsWith('backbone.'))
        .every((p) => p.lrMult === 0.1),
    ).toBe(true);
    for (const [k, v] of before) {
      if (
        k.startsWith('backbone.conv1.') ||
        k.startsWith('backbone.bn1.') ||
        k.startsWith('backbone.layer1.')
      )
        expect(after.get(k), k).toEqual(v);
    }
    expect(after.get('backbone.layer2.0.conv1.weight')).not.toEqual(
      before.get('backbone.layer2.0.conv1.weight'),
    );
    runner.dispose();
  });
});

describe('hooks', () => {
  it('run in priority order; user hooks register in HOOKS and are built from customHooks', async () => {
    const calls: string[] = [];
    class RecordHook extends Hook {
      constructor(opts: { tag: string }) {
        super();
        this.tag = opts.tag;
      }
      tag: string;
      override beforeTrainIter(r: Runner) {
        if (r.iter === 0) calls.push(`${this.tag}`);
      }
      override afterTrainEpoch() {
        calls.push(`${this.tag}:epoch`);
      }
    }
    HOOKS.register(RecordHook, { force: true });
    const cfg = await toyConfig({ 'trainCfg.maxEpochs': 1 });
    cfg.customHooks = [
      { type: 'RecordHook', tag: 'low', priority: 'LOWEST' },
      { type: 'RecordHook', tag: 'high', priority: 'VERY_HIGH' },
      { type: 'RecordHook', tag: 'mid', priority: 55 },
    ];
    cfg.workDir = tmpDir('hooks');
    const runner = new Runner(cfg, { console: captureConsole() });
    const order = runner.hooks.map((h) => h.constructor.name);
    expect(order.indexOf('IterTimerHook')).toBeLessThan(order.indexOf('LoggerHook'));
    expect(order.indexOf('LoggerHook')).toBeLessThan(order.indexOf('ParamSchedulerHook'));
    expect(order.indexOf('ParamSchedulerHook')).toBeLessThan(order.indexOf('CheckpointHook'));
    expect(runner.getHook(IterTimerHook)!.priority).toBe('NORMAL');
    expect(runner.getHook(LoggerHook)!.interval).toBe(5);
    await runner.train();
    expect(calls).toEqual(['high', 'mid', 'low', 'high:epoch', 'mid:epoch', 'low:epoch']);
    expect(PRIORITY.VERY_HIGH).toBe(10);
    expect(() => runner.registerHook(new Hook(), 'SOMETIMES' as Priority)).toThrow(
      /unknown hook priority 'SOMETIMES'/,
    );
    runner.dispose();
  });

  it('EarlyStoppingHook stops when the metric stops improving', async () => {
    const cfg = await toyConfig({ 'trainCfg.maxEpochs': 6 });
    cfg.customHooks = [
      { type: 'EarlyStoppingHook', monitor: 'toy/mse', patience: 1, minDelta: 100 },
    ];
    cfg.workDir = tmpDir('early');
    const out = captureConsole();
    const runner = new Runner(cfg, { console: out });
    await runner.train();
    expect(runner.epoch).toBe(2);
    expect(out.text()).toMatch(/early stopping: 'toy\/mse' has not improved for 1 validations/);
    runner.dispose();
  });

  it('EMAHook validates with the averaged weights and restores the raw ones', async () => {
    const cfg = await toyConfig({ 'trainCfg.maxEpochs': 1 });
    cfg.customHooks = [{ type: 'EMAHook', momentum: 0.5 }];
    cfg.workDir = tmpDir('ema');
    const runner = new Runner(cfg, { console: captureConsole() });
    let during: number[] = [];
    let raw: number[] = [];
    runner.registerHook(
      new (class extends Hook {
        override priority: Priority = 'VERY_HIGH';
        override beforeValEpoch(r: Runner) {
          raw = values(r.model.stateDict().get('head.bias')!);
        }
        override afterValIter(r: Runner) {
          during = values(r.model.stateDict().get('head.bias')!);
        }
      })(),
    );
    await runner.train();
    expect(during).not.toEqual(raw);
    expect(values(runner.model.stateDict().get('head.bias')!)).toEqual(raw);
    const ck = loadCheckpoint(path.join(cfg.workDir, 'epoch_1.safetensors'));
    expect([...ck.optimizerState.keys()]).toContain('hook:EMAHook/head.bias');
    runner.dispose();
  });
});

describe('EMA momentum', () => {
  it('ExpMomentumEMA starts near 1 and decays to momentum', () => {
    const h = new EMAHook({ emaType: 'ExpMomentumEMA', momentum: 0.0002, gamma: 2000 });
    expect(h.currentMomentum()).toBeCloseTo(0.9998 * Math.exp(-1 / 2000) + 0.0002, 12);
    expect(new EMAHook({ momentum: 0.01 }).currentMomentum()).toBe(0.01);
  });
});

describe('IterBasedTrainLoop', () => {
  it('cycles the data, validates and checkpoints by iteration', async () => {
    const cfg = await toyConfig();
    cfg.trainCfg = { type: 'IterBasedTrainLoop', maxIters: 25, valInterval: 10 };
    cfg.paramScheduler = [
      { type: 'LinearLR', startFactor: 0.1, byEpoch: false, end: 5 },
      { type: 'PolyLR', byEpoch: false, begin: 5, power: 1, etaMin: 0 },
    ];
    cfg.defaultHooks = {
      checkpoint: { type: 'CheckpointHook', interval: 10, byEpoch: false },
      logger: { type: 'LoggerHook', interval: 10 },
    };
    cfg.customHooks = [];
    cfg.workDir = tmpDir('iter');
    const out = captureConsole();
    const runner = new Runner(cfg, { console: out });
    await runner.train();
    expect(runner.iter).toBe(25);
    expect([runner.epoch, runner.innerIter]).toEqual([2, 5]);
    expect(
      fs
        .readdirSync(cfg.workDir)
        .filter((f) => f.endsWith('.safetensors'))
        .sort(),
    ).toEqual(['iter_10.safetensors', 'iter_20.safetensors', 'iter_25.safetensors']);
    expect(out.text().match(/Iter\(val\) \[\d+\]/g)).toEqual([
      'Iter(val) [10]',
      'Iter(val) [20]',
      'Iter(val) [25]',
    ]);
    expect(out.text()).toMatch(/Iter\(train\) \[20\/25\]/);
    runner.dispose();
  });

  it('resumes from a mid-epoch iteration checkpoint to the same weights', async () => {
    const mk = async (dir: string, resume?: string) => {
      const cfg = await toyConfig();
      cfg.trainCfg = { type: 'IterBasedTrainLoop', maxIters: 25, valInterval: 100 };
      cfg.paramScheduler = [
        { type: 'LinearLR', startFactor: 0.1, byEpoch: false, end: 5 },
        { type: 'CosineAnnealingLR', byEpoch: false, begin: 5, etaMin: 0.001 },
      ];
      cfg.optimWrapper.optimizer = { type: 'AdamW', lr: 0.01, weightDecay: 0.05 };
      cfg.defaultHooks = { checkpoint: { type: 'CheckpointHook', interval: 13, byEpoch: false } };
      cfg.workDir = dir;
      if (resume) cfg.resume = resume;
      return new Runner(cfg, { console: captureConsole() });
    };
    const a = await mk(tmpDir('iter-a'));
    await a.train();
    const b = await mk(tmpDir('iter-b'), path.join(a.workDir, 'iter_13.safetensors'));
    await b.train();
    expect([b.epoch, b.innerIter]).toEqual([2, 5]);
    for (const [k, v] of a.model.stateDict())
      expect(values(b.model.stateDict().get(k)!), k).toEqual(values(v));
    for (const [k, v] of a.optimWrapper!.stateTensors())
      expect(values(b.optimWrapper!.stateTensors().get(k)!), k).toEqual(values(v));
    a.dispose();
    b.dispose();
  });
});

describe('memory', () => {
  it('a training step and a validation leak no tensors', async () => {
    const cfg = await toyConfig({ 'trainCfg.maxEpochs': 3 });
    cfg.workDir = tmpDir('leak');
    const runner = new Runner(cfg, { console: captureConsole() });
    const counts: number[] = [];
    runner.registerHook(
      new (class extends Hook {
        override priority: Priority = 'LOWEST';
        override afterTrainIter() {
          counts.push(tf.memory().numTensors);
        }
      })(),
    );
    await runner.train();
    // From the second step on (momentum buffers exist), through validations and checkpoints, the count stays put.
    expect(new Set(counts.slice(1))).toEqual(new Set([counts[1]]));
    runner.dispose();
  });
});

describe('autoScaleLr', () => {
  it('scales the lr by batch size / baseBatchSize', async () => {
    const cfg = await toyConfig({ 'trainCfg.maxEpochs': 1 });
    cfg.autoScaleLr = { enable: true, baseBatchSize: 16 };
    cfg.workDir = tmpDir('autolr');
    const runner = new Runner(cfg, { console: captureConsole() });
    await runner.train();
    expect(runner.optimWrapper!.optimizer.baseLr).toBeCloseTo(0.05 * (4 / 16), 12);
    runner.dispose();
  });
});

describe('config errors', () => {
  it('name the key path', async () => {
    const cfg = await toyConfig();
    cfg.optimWrapper.optimizer.momentun = 0.9;
    cfg.workDir = tmpDir('err');
    await expect(new Runner(cfg, { console: captureConsole() }).train()).rejects.toThrow(
      /optimWrapper\.optimizer\.momentun: expected a known key.*did you mean 'momentum'/,
    );
    const cfg2 = await toyConfig();
    cfg2.defaultHooks.checkpoint.intervl = 2;
    cfg2.workDir = tmpDir('err2');
    expect(() => new Runner(cfg2, { console: captureConsole() })).toThrow(
      /defaultHooks\.checkpoint\.intervl/,
    );
    // A run that fails to build leaves no log folder behind.
    expect(fs.readdirSync(cfg2.workDir)).toEqual([]);
    expect(MODELS.has('ToyRegressor')).toBe(true);
  });
});
