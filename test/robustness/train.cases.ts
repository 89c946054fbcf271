/**
 * Faults during training through tools/train.ts: a finite loss blow-up, weights
 * that turn non-finite before a checkpoint, NaN losses and gradients, and
 * missing or undecodable images found before the first iteration.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { TOY_CONFIG } from '../engine/helpers.js';
import { runTool, snapshot, tmpDir, type RobustCase } from './harness.js';

const train = (dir: string, ...options: string[]) =>
  runTool('train', [TOY_CONFIG, '--work-dir', dir, '--cfg-options', ...options]);

let synthetic: Promise<string> | undefined;
/** A small synthetic COCO detection set (tools/make_synthetic.ts), shared and never modified. */
function syntheticSet(): Promise<string> {
  synthetic ??= (async () => {
    const out = path.join(tmpDir('train-synth'), 'synthetic');
    const r = await runTool('make_synthetic', [
      '--out',
      out,
      '--num-train',
      '6',
      '--num-val',
      '2',
      '--size',
      '64',
    ]);
    expect(r.code, r.err).toBe(0);
    return out;
  })();
  return synthetic;
}

const cases: RobustCase[] = [
  {
    id: 'train.finite-loss-blow-up-warns',
    item: '10',
    what: 'the loss jumps 1e12 times (finite) from iteration 14 on',
    expect: 'correct-result',
    async run() {
      const dir = path.join(tmpDir('train-blowup'), 'run');
      const r = await train(dir, 'model.blowUpFromCall=14');
      expect(r.code, r.err).toBe(0);
      const warnings = r.out.split('\n').filter((l) => l.startsWith('warning: iteration'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /^warning: iteration 14: the loss \d\.\d{3}e\+11 is \d\.\de\+11 times the median of the last 13 iterations \(\d\.\d{3}e\+0\): training is diverging; lower the learning rate$/,
      );
    },
  },
  {
    id: 'train.blow-up-hint-without-clipping',
    item: '10',
    what: 'the same blow-up without gradient clipping',
    expect: 'correct-result',
    async run() {
      const dir = path.join(tmpDir('train-blowup-noclip'), 'run');
      const r = await train(
        dir,
        'model.blowUpFromCall=14',
        'optimWrapper.clipGrad=None',
        'optimWrapper.optimizer.lr=1e-14',
      );
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(
        /warning: iteration 14: .*training is diverging; lower the learning rate or set optimWrapper\.clipGrad\n/,
      );
    },
  },
  {
    id: 'train.non-finite-weights-not-saved',
    item: '10',
    what: 'the weights turn infinite at the last step of epoch 1, before its checkpoint',
    expect: 'clear-error',
    async run() {
      const dir = path.join(tmpDir('train-poison'), 'run');
      const r = await train(dir, 'model.poisonAfterCall=10');
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(
        `Error: not saving ${dir}/epoch_1.safetensors: 3 tensor(s) hold NaN or infinite values after iteration 10 (head.weight, head.weight.momentumBuffer, hook:EMAHook/head.weight); the checkpoints saved before are kept`,
      );
      expect(fs.existsSync(path.join(dir, 'epoch_1.safetensors'))).toBe(false);
      expect(fs.existsSync(path.join(dir, 'last_checkpoint'))).toBe(false);
      expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    },
  },
  {
    id: 'train.non-finite-weights-keep-last-checkpoint',
    item: '10',
    what: 'the weights turn infinite at the end of epoch 2: epoch 1 stays the last checkpoint',
    expect: 'clear-error',
    async run() {
      const dir = path.join(tmpDir('train-poison2'), 'run');
      const r = await train(dir, 'model.poisonAfterCall=20');
      expect(r.code).toBe(1);
      expect(r.err).toContain(`Error: not saving ${dir}/epoch_2.safetensors: `);
      expect(fs.readFileSync(path.join(dir, 'last_checkpoint'), 'utf8').trim()).toBe(
        path.join(dir, 'epoch_1.safetensors'),
      );
      const before = snapshot(dir);
      expect([...before.keys()].filter((k) => k.endsWith('.safetensors')).sort()).toEqual([
        'best_toy_score_epoch_1.safetensors',
        'epoch_1.safetensors',
      ]);
      // The kept checkpoint resumes.
      const again = await runTool('train', [TOY_CONFIG, '--work-dir', dir, '--resume']);
      expect(again.code, again.err).toBe(0);
      expect(again.out).toContain('done: 30 iterations, 3 epochs');
    },
  },
  {
    id: 'train.nan-loss-stops',
    item: 'pass',
    what: 'loss_cls turns NaN at iteration 5',
    expect: 'clear-error',
    async run() {
      const dir = path.join(tmpDir('train-nan'), 'run');
      const r = await train(dir, 'model.nanAtCall=5');
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe("Error: iteration 5: loss term 'loss_cls' is NaN");
    },
  },
  {
    id: 'train.nan-gradient-stops-without-clipping',
    item: '10',
    what: 'a finite loss with a NaN gradient at iteration 5, gradient clipping off',
    expect: 'clear-error',
    async run() {
      const dir = path.join(tmpDir('train-nangrad'), 'run');
      const r = await train(dir, 'model.nanGradAtCall=5', 'optimWrapper.clipGrad=None');
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(
        'Error: iteration 5: the gradient norm is NaN (the loss terms were finite)',
      );
    },
  },
  {
    id: 'train.bad-images-listed-before-training',
    item: '14',
    what: 'tools/train.ts on a COCO set with a missing, an empty and a truncated image',
    expect: 'clear-error',
    timeout: 240_000,
    async run() {
      const root = path.join(tmpDir('train-images'), 'synthetic');
      fs.cpSync(await syntheticSet(), root, { recursive: true });
      const imgDir = path.join(root, 'JPEGImages');
      const names = fs.readdirSync(imgDir).sort();
      const ann = JSON.parse(
        fs.readFileSync(path.join(root, 'annotations', 'instances_train.json'), 'utf8'),
      ) as { images: { file_name: string }[] };
      const train0 = ann.images.map((i) => path.basename(i.file_name)).sort();
      const [gone, empty, cut] = train0;
      fs.rmSync(path.join(imgDir, gone));
      fs.writeFileSync(path.join(imgDir, empty), '');
      const cutFile = path.join(imgDir, cut);
      fs.writeFileSync(cutFile, fs.readFileSync(cutFile).subarray(0, 10));
      expect(names.length).toBeGreaterThan(3);
      const dir = path.join(tmpDir('train-images-run'), 'run');
      const r = await runTool('train', [
        'configs/retinanet/retinanet_r18_fpn_shapes.ts',
        '--work-dir',
        dir,
        '--cfg-options',
        `trainDataloader.dataset.dataRoot=${root}/`,
        `valDataloader.dataset.dataRoot=${root}/`,
        `testDataloader.dataset.dataRoot=${root}/`,
        `valEvaluator.annFile=${root}/annotations/instances_val.json`,
        `testEvaluator.annFile=${root}/annotations/instances_val.json`,
      ]);
      expect(r.code, r.out).toBe(1);
      const err = r.err;
      expect(err).toContain(
        `3 of ${train0.length} images: cannot be read (headers checked before training):`,
      );
      expect(err).toContain(`${path.join(imgDir, gone)}: `);
      expect(err).toContain(`${path.join(imgDir, empty)}: `);
      expect(err).toContain(`${cutFile}: `);
      expect(r.out).not.toContain('Epoch(train)');
    },
  },
];

export default cases;
