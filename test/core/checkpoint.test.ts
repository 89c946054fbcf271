import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  ConvModule,
  decodeSafetensors,
  encodeSafetensors,
  loadCheckpoint,
  saveCheckpoint,
  setBackend,
} from '../../src/index.js';

const bytesOf = (t: tf.Tensor): Buffer => {
  const a = t.dataSync();
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
};
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-ckpt-'));

beforeAll(async () => {
  await setBackend('cpu');
});

describe('checkpoints', () => {
  it('round-trips weights, buffers, optimizer tensors and metadata bit-exactly', () => {
    const m = new ConvModule({
      inChannels: 3,
      outChannels: 5,
      kernelSize: 3,
      normCfg: { type: 'BN' },
    });
    m.train().forward(tf.randomNormal([2, 6, 6, 3]) as tf.Tensor4D); // move the BN buffers
    const file = path.join(tmp(), 'epoch_1.safetensors');
    const moment = tf.tensor([1 / 3, -0, 1e-38, NaN, Infinity]);
    saveCheckpoint(file, {
      state: m.stateDict(),
      optimizerState: { 'conv.weight.momentum': moment },
      meta: {
        epoch: 1,
        iter: 20,
        metrics: { 'coco/bbox_mAP': 0.5 },
        config: { model: { type: 'X' } },
      },
    });
    const ck = loadCheckpoint(file);
    for (const [k, v] of m.stateDict()) {
      const back = ck.state.get(k)!;
      expect(back.dtype).toBe(v.dtype);
      expect(back.shape).toEqual(v.shape);
      expect(
        bytesOf(back).equals(bytesOf(v)),
        `${k}: ${bytesOf(back).toString('hex').slice(0, 40)} vs ${bytesOf(v).toString('hex').slice(0, 40)}`,
      ).toBe(true);
    }
    const mom = ck.optimizerState.get('conv.weight.momentum')!;
    expect(bytesOf(mom).equals(bytesOf(moment))).toBe(true);
    expect(ck.meta).toMatchObject({
      epoch: 1,
      iter: 20,
      metrics: { 'coco/bbox_mAP': 0.5 },
      config: { model: { type: 'X' } },
    });
    // loads into a fresh module
    const m2 = new ConvModule({
      inChannels: 3,
      outChannels: 5,
      kernelSize: 3,
      normCfg: { type: 'BN' },
    });
    expect(m2.loadStateDict(ck.state)).toEqual({
      missingKeys: [],
      unexpectedKeys: [],
      mismatchedKeys: [],
    });
    // no temp files left behind
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual([
      'epoch_1.safetensors',
      'epoch_1.safetensors.json',
    ]);
  });

  it('writes the standard safetensors layout', () => {
    const bytes = encodeSafetensors(
      { b: tf.tensor([1, 2], [2], 'int32'), a: tf.tensor([[1.5]]) },
      { k: 'v' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.slice(8, 8 + n)).toString());
    expect(header).toEqual({
      __metadata__: { k: 'v' },
      a: { dtype: 'F32', shape: [1, 1], data_offsets: [0, 4] },
      b: { dtype: 'I32', shape: [2], data_offsets: [4, 12] },
    });
    const back = decodeSafetensors(bytes);
    expect(Array.from(back.tensors.get('b')!.dataSync())).toEqual([1, 2]);
  });

  it('a truncated, corrupt or missing file gives one clear error naming it', () => {
    const dir = tmp();
    const file = path.join(dir, 'w.safetensors');
    saveCheckpoint(file, { state: { w: tf.ones([64, 64]) } });
    const full = fs.readFileSync(file);
    const cut = path.join(dir, 'cut.safetensors');
    fs.writeFileSync(cut, full.subarray(0, full.length - 100));
    expect(() => loadCheckpoint(cut)).toThrow(CheckpointError);
    expect(() => loadCheckpoint(cut)).toThrow(
      /cut\.safetensors: truncated: tensor 'w' ends at byte 16384 of a 16284-byte data section/,
    );
    const garbage = path.join(dir, 'garbage.safetensors');
    fs.writeFileSync(garbage, Buffer.from('this is not a checkpoint at all'));
    expect(() => loadCheckpoint(garbage)).toThrow(
      /garbage\.safetensors: truncated or corrupt: header length \d+ exceeds/,
    );
    const badJson = Buffer.from(full);
    badJson[8] = 0x78; // 'x' where the header's opening brace was
    const bad = path.join(dir, 'bad.safetensors');
    fs.writeFileSync(bad, badJson);
    expect(() => loadCheckpoint(bad)).toThrow(/bad\.safetensors: corrupt header/);
    expect(() => loadCheckpoint(path.join(dir, 'none.safetensors'))).toThrow(
      /none\.safetensors: cannot read: ENOENT/,
    );
  });

  it('detects a sidecar from another write (a crash between the two renames)', () => {
    const dir = tmp();
    const file = path.join(dir, 'latest.safetensors');
    saveCheckpoint(file, { state: { w: tf.ones([2]) }, meta: { iter: 1 } });
    const oldSidecar = fs.readFileSync(`${file}.json`);
    saveCheckpoint(file, { state: { w: tf.zeros([2]) }, meta: { iter: 2 } });
    fs.writeFileSync(`${file}.json`, oldSidecar);
    expect(() => loadCheckpoint(file)).toThrow(
      /sidecar latest\.safetensors\.json belongs to another write/,
    );
  });
});
