/**
 * What lets a model fine-tune on webgpu (src/browser/finetune.ts): its loss,
 * gradients and optimizer step read nothing back synchronously; the step's
 * one read is the asynchronous read of the losses and the gradient norm.
 * Counted here in Node on the cpu backend by wrapping its `readSync` (reads
 * inside kernels, the host backend's own, left out), with the stack of every
 * read so that a failure names the code that read.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { loadConfig } from '../../src/config/index.js';
import '../../src/backbones/index.js';
import '../../src/necks/index.js';
import '../../src/detectors/index.js';
import { lossGrads } from '../../src/engine/loss_grads.js';
import '../../src/engine/optim/optimizers.js';
import { buildOptimWrapper } from '../../src/engine/optim/optim_wrapper.js';
import { setInitSeed, type Module } from '../../src/nn/index.js';
import { MODELS } from '../../src/registry.js';
import type { DetBatch } from '../../src/structures/index.js';
import { syntheticBatch } from '../detectors/helpers.js';

type Backend = { readSync(id: object): unknown };
let backend: Backend;
let original: Backend['readSync'];
let reads: string[] | undefined;

beforeAll(async () => {
  await setBackend('cpu');
  backend = tf.backend();
  original = backend.readSync;
  backend.readSync = function (this: Backend, id: object) {
    // Reads inside a kernel are the host backend's own (its kernels compute on the host).
    const inKernel =
      (tf.engine() as unknown as { state: { kernelDepth: number } }).state.kernelDepth > 0;
    if (reads && !inKernel)
      reads.push((new Error('read').stack ?? '').split('\n').slice(2, 9).join('\n'));
    return original.call(this, id);
  };
});

afterAll(() => {
  backend.readSync = original;
});

describe('fine-tuning steps without synchronous reads (what webgpu needs)', () => {
  it('SSD: loss, gradients, gradient norm and the optimizer step read nothing back', async () => {
    const cfg = await loadConfig('configs/ssd/ssd_r18_shapes.ts');
    setInitSeed(0);
    const model = MODELS.build<Module & { loss(b: DetBatch): unknown }>(
      cfg.model as { type: string },
    );
    model.train();
    const ow = buildOptimWrapper(cfg.optimWrapper as Record<string, unknown>, model);
    const batch = syntheticBatch(2, 96, 3);
    const all: string[] = [];
    for (let step = 0; step < 2; step++) {
      reads = [];
      const g = lossGrads(model, batch, ow);
      const norm = ow.gradNorm(g.grads);
      expect(reads, reads.join('\n---\n')).toEqual([]);
      reads = undefined;
      const read = await tf.concat([g.logged, tf.reshape(norm, [1])]).data();
      expect(Number.isFinite(read[0])).toBe(true);
      reads = [];
      ow.update(g.grads, read[read.length - 1]);
      all.push(...reads);
      reads = undefined;
      for (const t of [g.logged, norm, g.result.value, ...g.grads.values()]) t.dispose();
    }
    expect(all, all.join('\n---\n')).toEqual([]);
    batch.inputs.dispose();
    ow.dispose();
    model.dispose();
  });
});
