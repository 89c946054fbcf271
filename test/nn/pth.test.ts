/**
 * The .pth reader against torch.load: every storage dtype, views with offsets
 * and strides, a shared storage, the legacy format, mmdetection's wrapper;
 * refused pickles (os.system, an unknown global, a pickled module) run
 * nothing; truncated files are clear errors. The files are written by
 * scripts/fixtures/nn/make_pth.py with Debian's torch when it is there; a
 * committed copy (test/fixtures/nn) runs without it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import {
  CheckpointError,
  decodeTorchFile,
  readTorchFile,
  readTorchStateDict,
  TorchTensor,
  torchStateDict,
  unpickle,
} from '../../src/nn/index.js';

const PY = process.env.TFDET_TORCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = 'scripts/fixtures/nn/make_pth.py';
const COMMITTED = 'test/fixtures/nn';

const probe = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' });
const hasTorch = probe.status === 0;
if (!hasTorch)
  console.log(
    `[skip] .pth files written live by torch: ${PY} cannot import torch (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()}); the committed copies in ${COMMITTED} are read instead`,
  );

const live = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-pth-'));
beforeAll(async () => {
  await setBackend('cpu');
});
afterAll(() => fs.rmSync(live, { recursive: true, force: true }));
if (hasTorch) {
  const r = spawnSync(PY, [SCRIPT, '--out', live, '--marker', path.join(live, 'MARKER')], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${SCRIPT} failed: ${r.stderr}`);
}
const sources = hasTorch ? [live, COMMITTED] : [COMMITTED];

interface Expected {
  torch: string;
  cases: Record<string, Record<string, { dtype: string; shape: number[]; values: number[] }>>;
}

describe.each(sources)('files in %s', (dir) => {
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
  const file = (name: string): string => path.join(dir, `${name}.pth`);

  it.each(['dtypes', 'views', 'legacy', 'mmdet', 'parallel', 'nested'])(
    '%s.pth: the same tensors as torch.load',
    (name) => {
      const sd = torchStateDict(readTorchFile(file(name)).value, file(name));
      // a DataParallel 'module.' prefix is removed, as mmdetection's loader does
      const want = Object.fromEntries(
        Object.entries(expected.cases[name]).map(([k, v]) => [k.replace(/^module\./, ''), v]),
      );
      expect([...sd.tensors.keys()].sort()).toEqual(Object.keys(want).sort());
      for (const [key, w] of Object.entries(want)) {
        const t = sd.tensors.get(key)!;
        expect(t, key).toBeInstanceOf(TorchTensor);
        expect(t.torchDtype, key).toBe(w.dtype);
        expect(t.shape, key).toEqual(w.shape);
        // float32 values exactly; float16/bfloat16/float64 within float32's rounding
        const got = Array.from(t.values);
        expect(got.length, key).toBe(w.values.length);
        for (let i = 0; i < got.length; i++)
          expect(Math.abs(got[i] - w.values[i]), `${key}[${i}]`).toBeLessThanOrEqual(
            Math.abs(w.values[i]) * 2 ** -24,
          );
      }
      console.log(`${name}.pth (torch ${expected.torch}): ${sd.tensors.size} tensors equal`);
    },
  );

  it('the formats are told apart; mmdetection meta kept; dtypes mapped to tfjs', () => {
    expect(readTorchFile(file('legacy')).format).toBe('legacy');
    expect(readTorchFile(file('views')).format).toBe('zip');
    const mm = torchStateDict(readTorchFile(file('mmdet')).value);
    expect(mm.wrapper).toBe('state_dict');
    const meta = mm.meta as Map<string, unknown>;
    expect(meta.get('CLASSES')).toEqual(['kangaroo', 'person']);
    expect(meta.get('epoch')).toBe(12);
    const { tensors } = readTorchStateDict(file('dtypes'));
    expect(tensors.get('f16')!.dtype).toBe('float32');
    expect(tensors.get('i64')!.dtype).toBe('int32');
    expect(tensors.get('bool')!.dtype).toBe('bool');
    expect(Array.from(tensors.get('bool')!.dataSync())).toEqual([1, 0, 1]);
    for (const t of tensors.values()) t.dispose();
  });

  it('a pickle calling os.system is refused and runs nothing', () => {
    const marker = path.join(dir, 'MARKER');
    expect(() => readTorchFile(file('system'))).toThrow(
      /system\.pth: .*refused global '(posix|os)\.system'/,
    );
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('an unknown global and a pickled module are refused, naming them', () => {
    expect(() => readTorchFile(file('unknown_global'))).toThrow(
      /refused global 'collections\.Counter'/,
    );
    expect(() => readTorchFile(file('module'))).toThrow(
      /refused global 'torch\.nn\.modules\.conv\.Conv2d'/,
    );
  });

  it.each(['views', 'legacy'])('%s.pth truncated is a CheckpointError naming the file', (name) => {
    const bytes = new Uint8Array(fs.readFileSync(file(name)));
    for (const keep of [bytes.byteLength - 40, Math.floor(bytes.byteLength / 2), 10]) {
      let err: unknown;
      try {
        decodeTorchFile(bytes.subarray(0, keep), `${name}-cut.pth`);
      } catch (e) {
        err = e;
      }
      expect(err, `kept ${keep} bytes`).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toMatch(new RegExp(`^${name}-cut\\.pth: `));
    }
  });
});

it('not a torch file, and a missing one, are clear errors', () => {
  expect(() => decodeTorchFile(new Uint8Array([1, 2, 3, 4, 5]), 'x.pth')).toThrow(
    'x.pth: not a PyTorch file (neither a zip archive nor a pickle)',
  );
  expect(() => readTorchFile('/nonexistent/w.pth')).toThrow(/w\.pth: cannot read: ENOENT/);
});

describe.runIf(hasTorch)('the unpickler on protocols 0 to 5', () => {
  const src = `
import pickle, json
v = {'a': [1, -2, 2**40, -2**70, 1.5, 'é\\\\u', None, True, False, (1,), (1, 2), (1, 2, 3), ()], 's': {3}, 'f': frozenset([4]), 'b': b'xy', 'n': {1: 'one'}}
print(json.dumps([pickle.dumps(v, protocol=p).hex() for p in range(6)]))`;
  const r = spawnSync(PY, ['-c', src], { encoding: 'utf8' });
  const dumps = r.status === 0 ? (JSON.parse(r.stdout) as string[]) : [];
  const globals = {
    'builtins.set': (a: unknown[]) => new Set(a[0] as unknown[]),
    'builtins.frozenset': (a: unknown[]) => new Set(a[0] as unknown[]),
    'builtins.bytes': (a: unknown[]) => Uint8Array.from((a[0] as number[]) ?? []),
    '_codecs.encode': (a: unknown[]) => Uint8Array.from(String(a[0]), (c) => c.charCodeAt(0)),
  };
  it.each([0, 1, 2, 3, 4, 5])('protocol %i', (p) => {
    expect(r.status, r.stderr).toBe(0);
    const bytes = Uint8Array.from(Buffer.from(dumps[p], 'hex'));
    const { value, end } = unpickle(bytes, { globals });
    expect(end).toBe(bytes.byteLength);
    const m = value as Map<string, unknown>;
    expect(m.get('a')).toEqual([
      1,
      -2,
      2 ** 40,
      -(2n ** 70n),
      1.5,
      'é\\u',
      null,
      true,
      false,
      [1],
      [1, 2],
      [1, 2, 3],
      [],
    ]);
    expect(m.get('s')).toEqual(new Set([3]));
    expect(m.get('f')).toEqual(new Set([4]));
    expect(Array.from(m.get('b') as Uint8Array)).toEqual([120, 121]);
    expect((m.get('n') as Map<number, string>).get(1)).toBe('one');
  });
});
