import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { OptimWrapper, type ParamEntry } from '../../src/engine/index.js';

interface Case {
  type: string;
  args: Record<string, unknown>;
  clip: number | null;
  traj: [number[], number[]][];
  norms: number[];
}
const fx = JSON.parse(
  readFileSync(new URL('../fixtures/engine/optim_torch.json', import.meta.url), 'utf8'),
) as {
  w0: number[];
  b0: number[];
  grads: [number[], number[]][];
  cases: Record<string, Case>;
};

const camel = (args: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(args).map(([k, v]) => [
      k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
      v,
    ]),
  );

beforeAll(async () => {
  await setBackend('cpu');
});

describe('optimizers match torch.optim', () => {
  for (const [name, c] of Object.entries(fx.cases)) {
    it(name, () => {
      const w = tf.variable(tf.tensor(fx.w0, [3, 2]), true, `w_${name}`);
      const b = tf.variable(tf.tensor(fx.b0, [2]), true, `b_${name}`);
      const ow = new OptimWrapper({
        optimizer: { type: c.type, ...camel(c.args) },
        clipGrad: c.clip ? { maxNorm: c.clip } : undefined,
      });
      const entries: ParamEntry[] = [
        { name: 'w', variable: w, lrMult: 1, decayMult: 1 },
        { name: 'b', variable: b, lrMult: 0.1, decayMult: 0 },
      ];
      ow.optimizer.setParams(entries);
      let maxErr = 0;
      fx.grads.forEach(([gw, gb], i) => {
        const grads = new Map([
          ['w', tf.tensor(gw, [3, 2])],
          ['b', tf.tensor(gb, [2])],
        ]);
        const info = ow.update(grads);
        grads.forEach((g) => g.dispose());
        if (c.clip) expect(info.gradNorm).toBeCloseTo(c.norms[i], 5);
        const [ew, eb] = c.traj[i];
        const aw = w.dataSync();
        const ab = b.dataSync();
        ew.forEach((v, j) => (maxErr = Math.max(maxErr, Math.abs(v - aw[j]))));
        eb.forEach((v, j) => (maxErr = Math.max(maxErr, Math.abs(v - ab[j]))));
      });
      // float32 against float32: a few ulps of values around 1.
      expect(maxErr).toBeLessThan(2e-6);
      console.log(
        `${name}: max |tfdet - torch| over ${fx.grads.length} steps = ${maxErr.toExponential(2)}`,
      );
      ow.dispose();
      w.dispose();
      b.dispose();
    });
  }

  it('restores its state exactly', () => {
    const mk = () => tf.variable(tf.tensor(fx.w0, [3, 2]));
    const a = mk();
    const ow = new OptimWrapper({ optimizer: { type: 'Adam', lr: 0.01 } });
    ow.optimizer.setParams([{ name: 'w', variable: a, lrMult: 1, decayMult: 1 }]);
    const g = (i: number) => new Map([['w', tf.tensor(fx.grads[i][0], [3, 2])]]);
    ow.update(g(0));
    ow.update(g(1));
    const tensors = new Map([...ow.stateTensors()].map(([k, v]) => [k, tf.clone(v)]));
    const meta = JSON.parse(JSON.stringify(ow.stateMeta()));
    const b = tf.variable(a.clone());
    ow.update(g(2));
    const ow2 = new OptimWrapper({ optimizer: { type: 'Adam', lr: 0.01 } });
    ow2.optimizer.setParams([{ name: 'w', variable: b, lrMult: 1, decayMult: 1 }]);
    ow2.loadState(tensors, meta);
    ow2.update(g(2));
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect([...ow2.stateTensors().keys()].sort()).toEqual(['w.expAvg', 'w.expAvgSq']);
  });
});

describe('fused optimizer kernels (cpu, wasm)', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['Adam', { lr: 0.01 }],
    ['Adam', { lr: 0.003, weightDecay: 1e-4, betas: [0.8, 0.99], eps: 1e-6 }],
    ['AdamW', { lr: 0.01, weightDecay: 0.05 }],
    ['SGD', { lr: 0.1 }],
    ['SGD', { lr: 0.02, momentum: 0.9, weightDecay: 1e-4 }],
    ['SGD', { lr: 0.02, momentum: 0.9, dampening: 0.1 }],
    ['SGD', { lr: 0.02, momentum: 0.9, nesterov: true, weightDecay: 5e-4 }],
  ];
  /** Three steps from the same start and gradients: the parameter and state bits, fused or op by op. */
  const run = (type: string, args: Record<string, unknown>, fused: boolean): Uint32Array[] => {
    const w = tf.variable(tf.randomNormal([5, 7], 0, 1, 'float32', 3));
    const ow = new OptimWrapper({ optimizer: { type, ...args } });
    ow.optimizer.fused = fused;
    ow.optimizer.setParams([{ name: 'w', variable: w, lrMult: 0.5, decayMult: 1 }]);
    for (let i = 0; i < 3; i++) {
      const g = tf.randomNormal([5, 7], 0, 1, 'float32', 10 + i);
      ow.update(new Map([['w', g]]));
      g.dispose();
    }
    const state = [...ow.optimizer.stateTensors().values()].map((t) => t.dataSync());
    const out = [w.dataSync(), ...state].map((a) => new Uint32Array(new Float32Array(a).buffer));
    ow.dispose();
    w.dispose();
    return out;
  };
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const [type, args] of cases) {
      it(`${backend}: ${type} ${JSON.stringify(args)} gives the op-by-op update's bits`, async () => {
        await setBackend(backend);
        expect(
          tf.getKernel(type === 'SGD' ? 'TfdetSgdUpdate' : 'TfdetAdamUpdate', backend),
        ).toBeDefined();
        const a = run(type, args, true);
        const b = run(type, args, false);
        expect(a.length).toBe(b.length);
        expect(a.length).toBe(type === 'SGD' && !args.momentum ? 1 : type === 'SGD' ? 2 : 3);
        a.forEach((x, i) =>
          expect(Buffer.from(x.buffer).equals(Buffer.from(b[i].buffer)), `tensor ${i}`).toBe(true),
        );
        await setBackend('cpu');
      });
    }
  }
});
