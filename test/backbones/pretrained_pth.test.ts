/**
 * torchvision weights as users have them, a `.pth` written by torch.save:
 * `init: {type: 'Pretrained', checkpoint: 'x.pth'}` loads it directly and
 * `tools/convert_checkpoint.ts --from torchvision` converts it (with a report
 * against a config's model); both reproduce torchvision's logits. Needs
 * Debian's python3-torch / torchvision (skipped, saying so, without them).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import type { ImageClassifier } from '../../src/classifiers/index.js';
import { loadCheckpoint, readSafetensors } from '../../src/nn/index.js';
import { MODELS } from '../../src/registry.js';
import { main as convertCheckpoint } from '../../tools/convert_checkpoint.js';
import { OUR_CONFIGS } from './parity_helpers.js';

const PY = process.env.TFDET_TORCH_PYTHON ?? '/usr/bin/python3';
const NAME = 'mobilenet_v3_small_w050_c16';
const probe = spawnSync(PY, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
const hasTorchvision = probe.status === 0;
if (!hasTorchvision)
  console.log(
    `[skip] Pretrained and convert_checkpoint on a torch.save'd .pth: ${PY} cannot import torchvision (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()})`,
  );

describe.runIf(hasTorchvision)(`${NAME} saved with torch.save`, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-pth-tv-'));
  const pth = path.join(dir, `${NAME}.weights.pth`);
  let io: Map<string, tf.Tensor>;

  beforeAll(async () => {
    await setBackend('wasm');
    const r = spawnSync(
      PY,
      ['scripts/fixtures/backbones/export_torchvision.py', '--out', dir, '--models', NAME],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(r.stderr);
    // the same weights again, as a .pth
    const p = spawnSync(
      PY,
      [
        'scripts/fixtures/backbones/export_torchvision.py',
        '--out',
        dir,
        '--models',
        NAME,
        '--weights',
        'pth',
      ],
      { encoding: 'utf8' },
    );
    if (p.status !== 0) throw new Error(p.stderr);
    io = readSafetensors(path.join(dir, `${NAME}.io.safetensors`)).tensors;
  });
  afterAll(() => {
    tf.dispose([...(io?.values() ?? [])]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const logitsError = (clf: ImageClassifier): number =>
    tf.tidy(() => {
      clf.eval();
      const out = clf.forward(io.get('input') as tf.Tensor4D);
      const ref = io.get('logits')!;
      return tf.max(tf.abs(tf.sub(out, ref))).dataSync()[0] / tf.max(tf.abs(ref)).dataSync()[0];
    });

  it("init Pretrained takes the .pth directly and gives torchvision's logits", () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const clf = MODELS.build<ImageClassifier>({
      ...OUR_CONFIGS[NAME],
      init: { type: 'Pretrained', checkpoint: pth },
    });
    expect(log.mock.calls.flat().join(' ')).toMatch(
      /loaded .*\.weights\.pth into ImageClassifier: all keys matched/,
    );
    log.mockRestore();
    expect(logitsError(clf)).toBeLessThan(1e-4);
    clf.dispose();
  });

  it('tools/convert_checkpoint.ts: the .pth and the safetensors export give the same checkpoint; --config reports unmatched keys', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const cfg = path.join(dir, 'clf.json');
    fs.writeFileSync(cfg, JSON.stringify({ model: OUR_CONFIGS[NAME] }));
    const fromPth = path.join(dir, 'from_pth.safetensors');
    const fromSt = path.join(dir, 'from_st.safetensors');
    expect(await convertCheckpoint([pth, fromPth, '--from', 'torchvision', '--config', cfg])).toBe(
      0,
    );
    const text = log.mock.calls.flat().join('\n');
    expect(text).toMatch(/clf\.json: all keys matched/);
    expect(text).toMatch(
      /\(pth, torchvision mobilenet_v3\) -> .*: 244 tensors mapped; none skipped/,
    );
    const st = path.join(dir, `${NAME}.weights.safetensors`);
    expect(await convertCheckpoint([st, fromSt, '--from', 'torchvision'])).toBe(0);
    const a = loadCheckpoint(fromPth).state;
    const b = loadCheckpoint(fromSt).state;
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [k, t] of a)
      expect(Array.from(t.dataSync()), k).toEqual(Array.from(b.get(k)!.dataSync()));
    tf.dispose([...a.values(), ...b.values()]);

    // a model of another width: the report lists the mismatches, the file is still written
    log.mockClear();
    const wide = path.join(dir, 'wide.json');
    const model = structuredClone(OUR_CONFIGS[NAME]) as { backbone: { widenFactor: number } };
    model.backbone.widenFactor = 1;
    fs.writeFileSync(wide, JSON.stringify({ model }));
    expect(
      await convertCheckpoint([
        pth,
        path.join(dir, 'w.safetensors'),
        '--from',
        'torchvision',
        '--config',
        wide,
      ]),
    ).toBe(0);
    expect(log.mock.calls.flat().join('\n')).toMatch(
      /wide\.json: shape mismatch: backbone\.layer0\.conv\.weight: \[3,3,3,16\] vs \[3,3,3,8\]/,
    );
    log.mockRestore();

    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await convertCheckpoint([pth, fromPth])).toBe(2);
    expect(await convertCheckpoint([pth, fromPth, '--from', 'timm'])).toBe(2);
    expect(err.mock.calls.flat().join(' ')).toMatch(
      /--from: expected one of torchvision, mmdet, got 'timm'/,
    );
    // a model name of the other source is refused, naming the source's list
    expect(await convertCheckpoint([pth, fromPth, '--from', 'mmdet', '--model', 'resnet'])).toBe(2);
    expect(err.mock.calls.flat().join(' ')).toMatch(
      /--model: expected one of retinanet, .*deeplabv3 for --from mmdet, got 'resnet'/,
    );
    err.mockRestore();
  });
});
