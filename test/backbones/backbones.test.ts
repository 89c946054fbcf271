/** Shapes, names, config validation, freezing and initialisation of the backbones. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { ConfigError } from '../../src/config/validate.js';
import { MODELS } from '../../src/registry.js';
import { BatchNorm2d, Conv2d, setInitSeed, type Module } from '../../src/nn/index.js';
import {
  convertTorchvisionFile,
  initWeights,
  makeDivisible,
  readSafetensorsFile,
  type ResNet,
} from '../../src/backbones/index.js';
import '../../src/classifiers/index.js';
import '../../src/necks/index.js';
import { main as convertMain } from '../../tools/convert_torchvision.js';

beforeAll(async () => {
  await setBackend('wasm');
  setInitSeed(0);
});

const shapes = (ts: tf.Tensor[]): number[][] => ts.map((t) => t.shape);

function build<M extends Module = Module>(cfg: Record<string, unknown>): M {
  return MODELS.build<M>(cfg);
}

describe('multi-scale outputs', () => {
  const x = (s: number): tf.Tensor4D => tf.randomNormal([1, s, s, 3], 0, 1, 'float32', 1);

  it.each([
    [
      { type: 'ResNet', depth: 18 },
      64,
      [
        [1, 16, 16, 64],
        [1, 8, 8, 128],
        [1, 4, 4, 256],
        [1, 2, 2, 512],
      ],
    ],
    [
      { type: 'ResNet', depth: 50, outIndices: [1, 3] },
      64,
      [
        [1, 8, 8, 512],
        [1, 2, 2, 2048],
      ],
    ],
    [
      {
        type: 'ResNet',
        depth: 18,
        numStages: 3,
        outIndices: [2],
        strides: [1, 2, 1],
        dilations: [1, 1, 2],
      },
      64,
      [[1, 8, 8, 256]],
    ],
    [
      { type: 'ResNetV1d', depth: 50, outIndices: [0, 3] },
      64,
      [
        [1, 16, 16, 256],
        [1, 2, 2, 2048],
      ],
    ],
    [
      { type: 'VGG', depth: 11, outIndices: [2, 4] },
      64,
      [
        [1, 8, 8, 256],
        [1, 2, 2, 512],
      ],
    ],
    [
      { type: 'SSDVGG' },
      75,
      [
        [1, 10, 10, 512],
        [1, 5, 5, 1024],
      ],
    ],
    [
      { type: 'MobileNetV2' },
      64,
      [
        [1, 16, 16, 24],
        [1, 8, 8, 32],
        [1, 4, 4, 96],
        [1, 2, 2, 1280],
      ],
    ],
    [{ type: 'MobileNetV2', widenFactor: 0.5, outIndices: [6] }, 64, [[1, 2, 2, 160]]],
    [
      { type: 'MobileNetV3', arch: 'large' },
      64,
      [
        [1, 16, 16, 24],
        [1, 8, 8, 40],
        [1, 4, 4, 112],
        [1, 2, 2, 960],
      ],
    ],
    [
      { type: 'MobileNetV3', arch: 'small', widenFactor: 0.75 },
      64,
      [
        [1, 16, 16, 16],
        [1, 8, 8, 24],
        [1, 4, 4, 40],
        [1, 2, 2, 432],
      ],
    ],
    [
      { type: 'DenseNet', depth: 121 },
      64,
      [
        [1, 16, 16, 256],
        [1, 8, 8, 512],
        [1, 4, 4, 1024],
        [1, 2, 2, 1024],
      ],
    ],
    [
      { type: 'GoogLeNet', outIndices: [0, 1, 2, 3] },
      64,
      [
        [1, 16, 16, 192],
        [1, 8, 8, 480],
        [1, 4, 4, 832],
        [1, 2, 2, 1024],
      ],
    ],
  ])('%j at %i px', (cfg, size, expected) => {
    const m = build({ init: [], ...cfg });
    m.eval();
    const outs = tf.tidy(() => m.forward(x(size)) as tf.Tensor[]);
    expect(shapes(outs)).toEqual(expected);
    for (const o of outs) expect(Number.isFinite(tf.sum(o).dataSync()[0])).toBe(true);
    tf.dispose(outs);
    m.dispose();
  });

  it('SSDVGG at 300 px gives conv4_3 at 38x38 (ceil-mode pools) and fc7 at 19x19 (pool5 3x3/1)', () => {
    // shape inference only: the full forward at 300 px is slow on wasm
    const pools = [300, 150, 75, 38].map((s) => Math.ceil(s / 2));
    expect(pools).toEqual([150, 75, 38, 19]);
    const m = build<Module & { features: { layers: Module[] } }>({
      type: 'SSDVGG',
      l2NormScale: 20,
    });
    expect(m.features.layers).toHaveLength(35);
    const fc6 = m.features.layers[31] as Conv2d;
    expect(fc6.options).toMatchObject({
      kernelSize: 3,
      dilation: 6,
      padding: 6,
      outChannels: 1024,
    });
    expect(m.namedParameters().map(([n]) => n)).toContain('l2Norm.weight');
    m.dispose();
  });
});

describe('names follow torchvision / mmdetection', () => {
  it('ResNet-50 state dict keys', () => {
    const m = build({ type: 'ResNet', depth: 50, init: [] });
    const keys = [...m.stateDict().keys()];
    expect(keys).toContain('conv1.weight');
    expect(keys).toContain('bn1.runningMean');
    expect(keys).toContain('layer1.0.downsample.0.weight');
    expect(keys).toContain('layer1.0.downsample.1.numBatchesTracked');
    expect(keys).toContain('layer4.2.bn3.runningVar');
    expect(m.namedParameters().find(([n]) => n === 'layer2.0.conv2.weight')![1].shape).toEqual([
      3, 3, 128, 128,
    ]);
    m.dispose();
  });

  it('ResNetV1d: deep stem and average-pool shortcut', () => {
    const m = build({ type: 'ResNetV1d', depth: 50, init: [] });
    const keys = [...m.stateDict().keys()];
    expect(keys.filter((k) => /^stem\.\d+\.weight$/.test(k))).toEqual([
      'stem.0.weight',
      'stem.1.weight',
      'stem.3.weight',
      'stem.4.weight',
      'stem.6.weight',
      'stem.7.weight',
    ]);
    expect(keys).toContain('layer1.0.downsample.0.weight'); // stride 1: no pool
    expect(keys).toContain('layer2.0.downsample.1.weight'); // pool, conv, bn
    expect(keys).not.toContain('conv1.weight');
    m.dispose();
  });

  it('MobileNetV3 blocks: expandConv / depthwiseConv / se / linearConv', () => {
    const m = build({ type: 'MobileNetV3', arch: 'large', init: [] });
    const keys = new Set(m.stateDict().keys());
    expect(
      keys.has('layer1.depthwiseConv.conv.weight') && !keys.has('layer1.expandConv.conv.weight'),
    ).toBe(true);
    expect(keys.has('layer4.se.conv1.conv.bias')).toBe(true);
    expect(keys.has('layer16.conv.weight')).toBe(true);
    m.dispose();
  });
});

describe('config validation', () => {
  it('a bad depth names the key and the allowed values', () => {
    expect(() => MODELS.build({ type: 'ResNet', depth: 19 }, { path: 'model.backbone' })).toThrow(
      ConfigError,
    );
    expect(() => MODELS.build({ type: 'ResNet', depth: 19 }, { path: 'model.backbone' })).toThrow(
      /model\.backbone\.depth: expected one of 18 \| 34 \| 50 \| 101 \| 152 \(model type 'ResNet'\), got 19/,
    );
  });
  it('an unknown key suggests the close one', () => {
    expect(() =>
      MODELS.build({ type: 'ResNet', depth: 18, outIndex: [0] }, { path: 'model.backbone' }),
    ).toThrow(/model\.backbone\.outIndex: expected a known key.*'outIndices'/);
    expect(() =>
      MODELS.build(
        { type: 'FPN', inChannels: [8], outChannels: 8, numOuts: 1, addExtraConvs: 'on_top' },
        { path: 'model.neck' },
      ),
    ).toThrow(/model\.neck\.addExtraConvs/);
    expect(() => MODELS.build({ type: 'MobileNetV3', arch: 'medium' })).toThrow(
      /arch: expected one of "large" \| "small"/,
    );
  });
  it('an NCHW or wrong-channel input is named, not a tfjs shape error', () => {
    const m = build({ type: 'ResNet', depth: 18, numStages: 1, outIndices: [0], init: [] });
    expect(() => m.forward(tf.zeros([1, 3, 32, 32]))).toThrow(
      /ResNet: expected an NHWC input \[N, H, W, 3\], got shape \[1,3,32,32\] \(NCHW\? tensors are NHWC here\)/,
    );
    m.dispose();
  });
  it('makeDivisible rounds like torchvision', () => {
    expect([
      makeDivisible(32 * 0.75, 8),
      makeDivisible(16 * 0.35, 8),
      makeDivisible(1280 * 1.4, 8),
      makeDivisible(72 * 0.5, 8),
    ]).toEqual([24, 8, 1792, 40]);
  });
});

/** One SGD step on a ResNet-18 (batch 2, 32x32, training mode); returns which parameters and BN statistics moved. */
function stepAndDiff(cfg: Record<string, unknown>): {
  moved: Set<string>;
  statsMoved: Set<string>;
  model: ResNet;
} {
  const model = build<ResNet>({
    type: 'ResNet',
    depth: 18,
    init: [],
    zeroInitResidual: false,
    ...cfg,
  });
  model.train(true);
  const before = new Map([...model.stateDict()].map(([n, v]) => [n, v.dataSync().slice()]));
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const vars = model.trainableParameters().map(([, v]) => v);
  tf.train
    .sgd(0.1)
    .minimize(
      () =>
        tf.add(
          ...(model.forward(x).map((o) => tf.mean(tf.square(o))) as [tf.Tensor, tf.Tensor]),
        ) as tf.Scalar,
      false,
      vars,
    );
  const moved = new Set<string>();
  const statsMoved = new Set<string>();
  for (const [n, v] of model.stateDict()) {
    const a = before.get(n)!;
    const b = v.dataSync();
    if (a.some((val, i) => val !== b[i]))
      (/running|numBatches/.test(n) ? statsMoved : moved).add(n);
  }
  return { moved, statsMoved, model };
}

describe('frozenStages and normEval (an optimizer step)', () => {
  it('frozenStages 1 freezes the stem and layer1, weights and BN statistics; the rest moves', () => {
    const { moved, statsMoved, model } = stepAndDiff({
      frozenStages: 1,
      normEval: false,
      outIndices: [1, 3],
    });
    const params = model.namedParameters().map(([n]) => n);
    const frozen = params.filter((n) => /^(conv1|bn1|layer1)\./.test(n));
    expect(frozen.length).toBe(1 + 2 + 2 * 6); // conv1, bn1, two BasicBlocks of conv1, bn1, conv2, bn2
    for (const n of frozen) expect(moved.has(n), n).toBe(false);
    for (const n of params.filter((p) => /^layer[234]\..*(conv\d|downsample\.0)\.weight$/.test(p)))
      expect(moved.has(n), n).toBe(true);
    expect([...statsMoved].some((n) => n.startsWith('layer1.') || n.startsWith('bn1.'))).toBe(
      false,
    );
    expect(statsMoved.has('layer2.0.bn1.runningMean')).toBe(true); // normEval off: unfrozen BNs update
    expect(model.trainableParameters().length).toBe(params.length - frozen.length);
    model.dispose();
  });

  it('normEval keeps every BatchNorm on its running statistics while training; weights still move', () => {
    const { moved, statsMoved, model } = stepAndDiff({ frozenStages: -1, normEval: true });
    expect(statsMoved.size).toBe(0);
    for (const [n, m] of model.namedModules())
      if (m instanceof BatchNorm2d) expect(m.training, n).toBe(false);
    expect(moved.has('conv1.weight')).toBe(true);
    expect(moved.has('layer1.0.bn1.weight')).toBe(true); // affine parameters stay trainable
    model.train(false).train(true); // mode switches keep it so
    expect(
      (model.namedModules().find(([n]) => n === 'layer3.1.bn2')![1] as BatchNorm2d).training,
    ).toBe(false);
    model.dispose();
  });

  it('frozenStages on VGG, DenseNet and GoogLeNet freeze whole stages', () => {
    const frozenRoots = (cfg: Record<string, unknown>, depth = 1): string[] => {
      const m = build({ ...cfg, init: [] });
      const names = [
        ...new Set(
          m
            .namedParameters()
            .filter(([, p]) => !p.trainable)
            .map(([n]) => n.split('.').slice(0, depth).join('.')),
        ),
      ];
      m.dispose();
      return names;
    };
    expect(frozenRoots({ type: 'VGG', depth: 16, frozenStages: 1 }, 2)).toEqual([
      'features.0',
      'features.2',
      'features.5',
      'features.7',
    ]);
    expect(frozenRoots({ type: 'DenseNet', depth: 121, frozenStages: 1 })).toEqual([
      'conv0',
      'norm0',
      'denseblock1',
      'transition1',
    ]);
    expect(frozenRoots({ type: 'GoogLeNet', frozenStages: 0 })).toEqual([
      'conv1',
      'conv2',
      'conv3',
    ]);
  });

  it('frozenStages on MobileNetV2 and MobileNetV3 freeze the named layers', () => {
    const v2 = build({ type: 'MobileNetV2', frozenStages: 2, init: [] });
    const frozenV2 = v2
      .namedParameters()
      .filter(([, p]) => !p.trainable)
      .map(([n]) => n.split('.')[0]);
    expect([...new Set(frozenV2)]).toEqual(['conv1', 'layer1', 'layer2']);
    v2.dispose();
    const v3 = build({ type: 'MobileNetV3', frozenStages: 1, init: [] });
    expect([
      ...new Set(
        v3
          .namedParameters()
          .filter(([, p]) => !p.trainable)
          .map(([n]) => n.split('.')[0]),
      ),
    ]).toEqual(['layer0', 'layer1']);
    v3.dispose();
  });
});

describe('initialisation', () => {
  it('zeroInitResidual zeroes the last norm of every block', () => {
    const m = build({ type: 'ResNet', depth: 18 });
    const w = (n: string): number[] =>
      Array.from(
        m
          .namedParameters()
          .find(([k]) => k === n)![1]
          .dataSync(),
      );
    expect(w('layer1.0.bn2.weight').every((v) => v === 0)).toBe(true);
    expect(w('layer3.1.bn2.weight').every((v) => v === 0)).toBe(true);
    expect(w('layer1.0.bn1.weight').every((v) => v === 1)).toBe(true);
    m.dispose();
  });

  it('Kaiming / Constant / Normal with layer filters and override', () => {
    const m = build({ type: 'ResNet', depth: 18, init: [], zeroInitResidual: false });
    initWeights(m, [
      { type: 'Constant', val: 0.5, layer: 'Conv2d' },
      {
        type: 'Constant',
        val: 2,
        bias: 3,
        layer: '_BatchNorm',
        override: { name: 'layer4', type: 'Constant', val: 7 },
      },
    ]);
    const get = (n: string): Float32Array => m.stateDict().get(n)!.dataSync() as Float32Array;
    expect(get('conv1.weight').every((v) => v === 0.5)).toBe(true);
    expect(get('bn1.weight').every((v) => v === 2) && get('bn1.bias').every((v) => v === 3)).toBe(
      true,
    );
    expect(get('layer4.0.bn1.weight').every((v) => v === 7)).toBe(true);
    expect(get('layer4.0.conv1.weight').every((v) => v === 7)).toBe(true); // override covers the whole child
    initWeights(m, { type: 'Kaiming', layer: 'Conv2d', mode: 'fan_out' });
    const w = get('layer3.0.conv2.weight');
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeCloseTo(Math.sqrt(2 / (3 * 3 * 256)), 2); // fan_out = kh * kw * out
    expect(() => initWeights(m, { type: 'Kaiming', layer: 'Conv3d' })).toThrow(
      /unknown layer type 'Conv3d'/,
    );
    m.dispose();
  });

  it('Pretrained loads a converted torchvision checkpoint by prefix and logs the report', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-pre-'));
    const out = path.join(dir, 'mbv3.safetensors');
    const r = convertTorchvisionFile(
      'test/fixtures/backbones/mobilenet_v3_small_w050_c16.weights.safetensors',
      out,
    );
    expect(r.family).toBe('mobilenet_v3');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const backbone = build({
      type: 'MobileNetV3',
      arch: 'small',
      widenFactor: 0.5,
      init: { type: 'Pretrained', checkpoint: out, prefix: 'backbone.' },
    });
    expect(log.mock.calls.flat().join(' ')).toMatch(
      /loaded .*mbv3\.safetensors \(prefix 'backbone\.'\) into MobileNetV3: all keys matched/,
    );
    const saved = readSafetensorsFile(out).tensors;
    const a = saved.get('backbone.layer4.se.conv1.conv.weight')!;
    expect(Array.from(backbone.stateDict().get('layer4.se.conv1.conv.weight')!.dataSync())).toEqual(
      Array.from(a.dataSync()),
    );
    // A model that lacks some keys gets a report, not an error
    log.mockClear();
    const other = build({
      type: 'MobileNetV3',
      arch: 'small',
      widenFactor: 1,
      init: { type: 'Pretrained', checkpoint: out, prefix: 'backbone' },
    });
    expect(log.mock.calls.flat().join(' ')).toMatch(
      /shape mismatch: layer0\.conv\.weight: \[3,3,3,16\] vs \[3,3,3,8\]/,
    );
    log.mockRestore();
    tf.dispose([...saved.values()]);
    backbone.dispose();
    other.dispose();
    fs.rmSync(dir, { recursive: true });
  });

  it('tools/convert_torchvision.ts converts, and rejects bad arguments with a usage line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-cli-'));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    const out = path.join(dir, 'o.safetensors');
    expect(
      await convertMain([
        'test/fixtures/backbones/mobilenet_v3_small_w050_c16.weights.safetensors',
        out,
      ]),
    ).toBe(0);
    expect(fs.existsSync(out) && fs.existsSync(`${out}.json`)).toBe(true);
    expect(log.mock.calls.flat().join(' ')).toMatch(
      /\(safetensors, torchvision mobilenet_v3\) -> .*244 tensors mapped; none skipped/,
    );
    expect(await convertMain(['only-one-arg'])).toBe(2);
    expect(await convertMain(['a', 'b', '--family', 'alexnet'])).toBe(2);
    expect(await convertMain([path.join(dir, 'missing.safetensors'), out])).toBe(1);
    expect(err.mock.calls.flat().join(' ')).toMatch(/missing\.safetensors: cannot read: ENOENT/);
    log.mockRestore();
    err.mockRestore();
    fs.rmSync(dir, { recursive: true });
  });
});
