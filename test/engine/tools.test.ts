import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { Runner, formatComplexityTable, profileModel } from '../../src/engine/index.js';
import { plotPanels, readScalars, seriesOf } from '../../src/engine/plot.js';
import { preprocessArgv } from '../../src/engine/cli.js';
import { ToyConvNet } from '../fixtures/engine/toy.js';
import { TOY_CONFIG, captureConsole, runTool, tmpDir, toyConfig } from './helpers.js';

let dir = '';
let logFile = '';

beforeAll(async () => {
  await setBackend('cpu');
  dir = tmpDir('tools');
  const cfg = await toyConfig({ 'trainCfg.maxEpochs': 2 });
  cfg.workDir = dir;
  const runner = new Runner(cfg, { console: captureConsole() });
  await runner.train();
  logFile = path.join(dir, runner.timestamp, 'vis_data', 'scalars.json');
  runner.dispose();
});

describe('command lines', () => {
  it('take mmengine-style --cfg-options lists and an optional --resume value', () => {
    expect(preprocessArgv(['c.ts', '--cfg-options', 'a=1', 'b.c=[1,2]', '--seed', '3'])).toEqual([
      'c.ts',
      '--cfg-options=a=1',
      '--cfg-options=b.c=[1,2]',
      '--seed',
      '3',
    ]);
    expect(preprocessArgv(['c.ts', '--resume'], ['resume'])).toEqual(['c.ts', '--resume=']);
    expect(preprocessArgv(['c.ts', '--resume', 'w/iter_7.safetensors'], ['resume'])).toEqual([
      'c.ts',
      '--resume=w/iter_7.safetensors',
    ]);
    expect(preprocessArgv(['--resume', 'c.ts'], ['resume'])).toEqual(['--resume=', 'c.ts']);
  });
});

describe('tools/test.ts', () => {
  it('--json prints the metrics as one JSON object on the last line; --out writes the predictions', async () => {
    const out = path.join(dir, 'preds.json');
    const r = await runTool('test', [
      TOY_CONFIG,
      path.join(dir, 'epoch_2.safetensors'),
      '--json',
      '--out',
      out,
      '--work-dir',
      path.join(dir, 'test'),
    ]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n');
    const metrics = JSON.parse(lines[lines.length - 1]) as Record<string, number>;
    expect(Object.keys(metrics)).toEqual(['toy/mse', 'toy/score', 'toy/samples']);
    expect(metrics['toy/mse']).toBeGreaterThan(0);
    expect(metrics['toy/samples']).toBe(16);
    expect(r.out).toMatch(/using the EMA weights saved with the checkpoint/);
    expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toHaveLength(16);
  });

  it('prints clear errors without a stack trace', async () => {
    const r = await runTool('test', [TOY_CONFIG, path.join(dir, 'missing.safetensors')]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe(`Error: ${path.join(dir, 'missing.safetensors')}: not found`);
    const t = await runTool('train', [
      TOY_CONFIG,
      '--work-dir',
      path.join(dir, 'bad'),
      '--cfg-options',
      'trainCfg.maxEpoch=2',
    ]);
    expect(t.code).toBe(1);
    expect(t.err.trim()).toMatch(
      /^Error: trainCfg\.maxEpoch: expected a known key.*did you mean 'maxEpochs'/,
    );
    expect(t.err).not.toMatch(/\n\s+at /);
  });
});

describe('tools/analyze_logs.ts', () => {
  it('reads the scalar log and plots loss and metric curves to a PNG', async () => {
    const records = readScalars(fs.readFileSync(logFile, 'utf8'));
    expect(seriesOf(records, 'loss')!.points.map((p) => p[0])).toEqual([5, 10, 15, 20]);
    expect(seriesOf(records, 'mse')).toMatchObject({
      name: 'toy/mse',
      points: [
        [1, expect.any(Number)],
        [2, expect.any(Number)],
      ],
    });
    const svg = plotPanels([
      {
        title: 'loss',
        xLabel: 'iter',
        series: [{ name: 'a', points: seriesOf(records, 'loss')!.points }],
      },
    ]);
    expect(svg).toMatch(/<polyline [^>]*points="[\d., ]+"/);
    const png = path.join(dir, 'curves.png');
    const r = await runTool('analyze_logs', [logFile, '--keys', 'loss,mse', '--out', png]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/toy\/mse: 2 points/);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 800, 600]);
  });
});

describe('tools/get_flops.ts', () => {
  it('counts parameters and conv/linear multiply-accumulates per module', async () => {
    const model = new ToyConvNet();
    model.eval();
    const rows = await profileModel(model, () => model.forward(tf.zeros([1, 32, 48, 3])));
    // conv 3x3/2: 16*24*8 outputs x 27; conv 1x1: 16*24*4 x 8; linear: 4 x 2.
    expect(rows.map((r) => [r.name, r.params, r.flops])).toEqual([
      ['', 286, 95240],
      ['stem', 240, 82944],
      ['stem.conv', 224, 82944],
      ['stem.bn', 16, 0],
      ['reduce', 36, 12288],
      ['fc', 10, 8],
    ]);
    expect(formatComplexityTable(rows, 1).split('\n')).toHaveLength(2 + 4);
    const r = await runTool('get_flops', [
      TOY_CONFIG,
      '--shape',
      '32',
      '48',
      '--cfg-options',
      'model={"type":"ToyConvNet"}',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/stem\.conv +Conv2d +224 +78\.3% +82\.94 k +87\.1%/);
    expect(r.out).toMatch(/Flops: 95\.24 kFLOPs/);
    expect(r.out).toMatch(/Params: 286 \(286 parameters\)/);
  });
});
