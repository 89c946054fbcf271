import { describe, expect, it } from 'vitest';
import {
  CosineAnnealingLR,
  LinearLR,
  MultiStepLR,
  PolyLR,
  scheduledLr,
} from '../../src/engine/index.js';
import { PARAM_SCHEDULERS } from '../../src/registry.js';

const close = (a: number[], b: number[]) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 12));

describe('LR schedulers (mmengine semantics)', () => {
  it('LinearLR warm-up by iteration reaches the base rate at end - 1', () => {
    const s = new LinearLR({ startFactor: 0.1, byEpoch: false, begin: 0, end: 5 });
    close(
      [0, 1, 2, 3, 4, 5, 100].map((i) => s.factor(i, 1)),
      [0.1, 0.325, 0.55, 0.775, 1, 1, 1],
    );
  });

  it('chained warm-up and MultiStepLR by epoch multiply', () => {
    const chain = [
      PARAM_SCHEDULERS.build<LinearLR>({
        type: 'LinearLR',
        startFactor: 0.001,
        byEpoch: false,
        begin: 0,
        end: 500,
      }),
      PARAM_SCHEDULERS.build<MultiStepLR>({
        type: 'MultiStepLR',
        milestones: [8, 11],
        gamma: 0.1,
        byEpoch: true,
        begin: 0,
        end: 12,
      }),
    ];
    const lr = (epoch: number, iter: number) => scheduledLr(0.02, chain, { epoch, iter });
    close(
      [
        lr(0, 0),
        lr(0, 1),
        lr(0, 250),
        lr(0, 499),
        lr(1, 600),
        lr(7, 7000),
        lr(8, 8000),
        lr(11, 11000),
      ],
      [
        0.02 * 0.001,
        0.02 * (0.001 + 0.999 / 499),
        0.02 * (0.001 + (0.999 * 250) / 499),
        0.02,
        0.02,
        0.02,
        0.002,
        0.0002,
      ],
    );
    // A milestone inside the warm-up: both factors apply.
    const both = [
      new LinearLR({ startFactor: 0.5, byEpoch: false, end: 3 }),
      new MultiStepLR({ milestones: [1], gamma: 0.5, byEpoch: false }),
    ];
    close(
      [0, 1, 2, 3].map((i) => scheduledLr(1, both, { epoch: 0, iter: i })),
      [0.5, 0.375, 0.5, 0.5],
    );
  });

  it('CosineAnnealingLR and PolyLR closed forms, active in [begin, end)', () => {
    const c = new CosineAnnealingLR({ begin: 2, end: 6, etaMin: 0.1, byEpoch: true });
    close(
      [0, 1, 2, 3, 4, 5, 6, 9].map((e) => c.factor(e, 1)),
      [
        1,
        1,
        1,
        0.1 + (0.9 * (1 + Math.cos(Math.PI / 4))) / 2,
        0.55,
        0.1 + (0.9 * (1 + Math.cos((3 * Math.PI) / 4))) / 2,
        0.1 + (0.9 * (1 + Math.cos((3 * Math.PI) / 4))) / 2,
        0.1 + (0.9 * (1 + Math.cos((3 * Math.PI) / 4))) / 2,
      ],
    );
    const p = new PolyLR({ power: 2, etaMin: 0, end: 5, byEpoch: false });
    close(
      [0, 1, 2, 4, 7].map((i) => p.factor(i, 2)),
      [1, 0.5625, 0.25, 0, 0],
    );
  });

  it('rejects bad arguments with the key path', () => {
    expect(() =>
      PARAM_SCHEDULERS.build({ type: 'LinearLR', startFactor: 2 }, { path: 'paramScheduler.0' }),
    ).toThrow(/paramScheduler\.0\.startFactor/);
    expect(() =>
      PARAM_SCHEDULERS.build({ type: 'MultiStepLR', milestone: [1] }, { path: 'paramScheduler.1' }),
    ).toThrow(/milestone/);
  });
});
