import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { NonFiniteLossError, parseLosses } from '../../src/engine/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

describe('parseLosses (mmengine parse_losses)', () => {
  it('sums every term whose key contains "loss"; lists are summed, tensors averaged; others are only logged', () => {
    const { total, terms } = parseLosses({
      loss_cls: tf.tensor([1, 3]),
      loss_bbox: [tf.scalar(0.5), tf.scalar(0.25)],
      acc: tf.scalar(90),
    });
    expect(total.dataSync()[0]).toBeCloseTo(2.75, 6);
    expect(terms.map(([k, t]) => [k, Number(t.dataSync()[0].toFixed(4))])).toEqual([
      ['loss_cls', 2],
      ['loss_bbox', 0.75],
      ['acc', 90],
    ]);
  });

  it('rejects a loss without loss terms and an async loss', () => {
    expect(() => parseLosses({ acc: tf.scalar(1) })).toThrow(
      /no term whose key contains 'loss' \(keys: acc\)/,
    );
    expect(() => parseLosses(Promise.resolve({}) as never)).toThrow(/must be synchronous/);
  });

  it('names each non-finite term and the iteration', () => {
    expect(new NonFiniteLossError(37, [['loss_cls', NaN]]).message).toBe(
      "iteration 37: loss term 'loss_cls' is NaN",
    );
    expect(
      new NonFiniteLossError(5, [
        ['loss_cls', NaN],
        ['loss_bbox', Infinity],
      ]).message,
    ).toBe("iteration 5: loss term 'loss_cls' is NaN; loss term 'loss_bbox' is Infinity");
    expect(new NonFiniteLossError(5, [['loss', -Infinity]]).message).toBe(
      'iteration 5: the total loss is -Infinity',
    );
  });
});
