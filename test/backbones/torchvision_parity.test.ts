/**
 * Our backbones against torchvision: the same randomly initialised weights
 * (exported by scripts/fixtures/backbones/export_torchvision.py, BN statistics
 * redrawn; the live exports saved with torch.save and read by our .pth
 * reader), the same input, the same logits and multi-scale features within
 * 1e-4 relative (max |ours - torch| / max |torch|).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { checkParity } from './parity_helpers.js';

// Debian's python3 with python3-torchvision (the first python3 on PATH may be another one).
const PY = process.env.TFDET_TORCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = 'scripts/fixtures/backbones/export_torchvision.py';
const FIXTURES = 'test/fixtures/backbones';
const TOL = 1e-4;

const probe = spawnSync(PY, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
const hasTorchvision = probe.status === 0;
if (!hasTorchvision) {
  const why = probe.error ? probe.error.message : (probe.stderr || '').trim().split('\n').pop();
  console.log(
    `[skip] torchvision parity against live exports: ${PY} cannot import torchvision (${why}); only the committed fixture runs`,
  );
}

beforeAll(async () => {
  await setBackend('wasm');
});

describe('committed fixture (runs without python)', () => {
  it('mobilenet_v3_small width 0.5, 16 classes: logits and 4 feature maps match torchvision', () => {
    const r = checkParity(FIXTURES, 'mobilenet_v3_small_w050_c16');
    console.log(
      `parity ${r.name}: logits ${r.logits.toExponential(2)}, features ${r.features.map((e) => e.toExponential(2)).join(' ')}`,
    );
    expect(r.features).toHaveLength(4);
    expect(r.maxRel).toBeLessThan(TOL);
  });
});

describe.runIf(hasTorchvision)('live torchvision exports', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-tv-'));
  const models = [
    'resnet18',
    'resnet50',
    'vgg16',
    'mobilenet_v2',
    'mobilenet_v3_large',
    'mobilenet_v3_small',
    'densenet121',
    'googlenet',
  ];
  let manifest: { torch: string; torchvision: string; models: Record<string, { params: number }> };

  beforeAll(() => {
    // the weights as users have them: torch.save'd .pth files, read by our reader
    const r = spawnSync(
      PY,
      [SCRIPT, '--out', dir, '--models', models.join(','), '--size', '64', '--weights', 'pth'],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`${SCRIPT} failed: ${r.stderr}`);
    manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each(models)('%s: same logits and multi-scale features, same parameter count', (name) => {
    const r = checkParity(dir, name);
    console.log(
      `parity ${name} (torch ${manifest.torch}, torchvision ${manifest.torchvision}): logits ${r.logits.toExponential(2)}, ` +
        `features ${r.features.map((e) => e.toExponential(2)).join(' ')}, params ${r.params} vs ${manifest.models[name].params}`,
    );
    expect(r.features.length).toBeGreaterThanOrEqual(4);
    expect(r.maxRel).toBeLessThan(TOL);
    expect(r.params).toBe(manifest.models[name].params);
    // the weights file is not needed any more; VGG-16's is 550 MB
    fs.rmSync(path.join(dir, `${name}.weights.pth`), { force: true });
  });
});
