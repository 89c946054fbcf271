import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import * as pkg from '../../src/index.js';

describe('backend selection', () => {
  it('auto falls back to wasm here and says why', async () => {
    const r = await pkg.setBackend('auto');
    // tfjs-node and the webgpu package are optional; where absent, wasm is chosen and the reason names them.
    expect(['tensorflow', 'webgpu', 'wasm']).toContain(r.name);
    expect(tf.getBackend()).toBe(r.name);
    if (r.name === 'wasm') expect(r.reason).toMatch(/^wasm: .*\(tensorflow: .*; webgpu: .*\)$/);
  });
  it('an explicit backend is used, and a bad name is a clear error', async () => {
    expect((await pkg.setBackend('cpu')).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    await expect(pkg.setBackend('metal' as never)).rejects.toThrow(
      '--backend: expected one of auto | tensorflow | webgpu | wasm | cpu, got "metal"',
    );
    await expect(pkg.setBackend('tensorflow')).rejects.toThrow(/backend 'tensorflow' cannot start/);
  });
});

describe('public entry', () => {
  it('exports the foundation API', () => {
    for (const name of [
      'Registry',
      'MODELS',
      'DATASETS',
      'TRANSFORMS',
      'METRICS',
      'loadConfig',
      'setBackend',
      'Module',
      'saveCheckpoint',
      'loadCheckpoint',
    ]) {
      expect(pkg).toHaveProperty(name);
    }
  });
});
