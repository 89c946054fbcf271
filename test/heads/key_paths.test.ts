/**
 * A component's errors name the key path the registry built it at: RPNHead inherits its checks
 * from AnchorHead, and a Faster R-CNN's bad anchor generator is reported at `model.rpnHead...`.
 */
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import '../../src/heads/index.js';
import { MODELS } from '../../src/registry.js';

const rpnHead = (anchorGenerator: Record<string, unknown>) => ({
  type: 'RPNHead',
  inChannels: 8,
  featChannels: 8,
  anchorGenerator,
  bboxCoder: { type: 'DeltaXYWHBBoxCoder' },
});

describe('component errors carry the registry key path', () => {
  it('RPNHead built at model.rpnHead names model.rpnHead.anchorGenerator', () => {
    expect(() =>
      MODELS.build(rpnHead({ type: 'AnchorGenerater', strides: [4] }), { path: 'model.rpnHead' }),
    ).toThrow(/^model\.rpnHead\.anchorGenerator\.type: 'AnchorGenerater' is not registered/);
  });

  it('the same head built elsewhere names that path', () => {
    expect(() =>
      MODELS.build(rpnHead({ type: 'AnchorGenerater', strides: [4] }), {
        path: 'model.rpn.0',
      }),
    ).toThrow(/^model\.rpn\.0\.anchorGenerator\.type:/);
  });
});
