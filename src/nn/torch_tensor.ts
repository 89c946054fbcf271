/**
 * Tensors of a PyTorch file: the storage dtypes, and a view of a storage
 * (offset, sizes, strides) copied out into contiguous host values.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bf16ToFloat, CheckpointError, halfToFloat } from './checkpoint.js';

/** A torch storage dtype. */
export type TorchDtype =
  | 'float64'
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

export const WIDTH: Record<TorchDtype, number> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

export const STORAGE_CLASSES: Record<string, TorchDtype> = {
  DoubleStorage: 'float64',
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  UntypedStorage: 'uint8',
};

/** A tensor read from a torch file: host values, contiguous, in torch's layout. */
export class TorchTensor {
  constructor(
    /** The dtype torch stored. */
    readonly torchDtype: TorchDtype,
    readonly shape: number[],
    /** float32 for floating types, int32 for integers, bool (0/1 bytes) for bool. */
    readonly dtype: 'float32' | 'int32' | 'bool',
    readonly values: Float32Array | Int32Array | Uint8Array,
  ) {}

  /** A tfjs tensor of the values. */
  toTensor(): tf.Tensor {
    return tf.tensor(this.values, this.shape, this.dtype);
  }
}

export class StorageType {
  constructor(readonly dtype: TorchDtype) {}
}

/** A storage of a torch file: its dtype and raw little-endian bytes. */
export interface Storage {
  dtype: TorchDtype;
  bytes: Uint8Array;
  key: string;
}

function readElement(dtype: TorchDtype, dv: DataView, off: number): number {
  switch (dtype) {
    case 'float64':
      return dv.getFloat64(off, true);
    case 'float32':
      return dv.getFloat32(off, true);
    case 'float16':
      return halfToFloat(dv.getUint16(off, true));
    case 'bfloat16':
      return bf16ToFloat(dv.getUint16(off, true));
    case 'int64':
      return Number(dv.getBigInt64(off, true));
    case 'int32':
      return dv.getInt32(off, true);
    case 'int16':
      return dv.getInt16(off, true);
    case 'int8':
      return dv.getInt8(off);
    default:
      return dv.getUint8(off);
  }
}

/** Copies a (possibly strided, offset) view of `storage` into contiguous host values. */
export function rebuildTensor(
  file: string,
  storage: unknown,
  offset: unknown,
  size: unknown,
  stride: unknown,
): TorchTensor {
  if (!isStorage(storage)) throw new CheckpointError(file, 'a tensor without a storage');
  const shape = intList(file, size, 'size');
  const strides = intList(file, stride, 'stride');
  if (strides.length !== shape.length || typeof offset !== 'number')
    throw new CheckpointError(
      file,
      `storage ${storage.key}: bad view (size [${shape}], stride [${strides}])`,
    );
  const { dtype, bytes } = storage;
  const w = WIDTH[dtype];
  const count = shape.reduce((a, b) => a * b, 1);
  const outType =
    dtype.startsWith('float') || dtype === 'bfloat16'
      ? 'float32'
      : dtype === 'bool'
        ? 'bool'
        : 'int32';
  const out =
    outType === 'float32'
      ? new Float32Array(count)
      : outType === 'bool'
        ? new Uint8Array(count)
        : new Int32Array(count);
  if (count === 0) return new TorchTensor(dtype, shape, outType, out);
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * strides[d];
  if (offset < 0 || (last + 1) * w > bytes.byteLength)
    throw new CheckpointError(
      file,
      `storage ${storage.key}: view [${shape}] at offset ${offset} with strides [${strides}] reaches past its ${bytes.byteLength / w} elements`,
    );
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const contiguous = strides.every(
    (s, d) => shape[d] === 1 || s === shape.slice(d + 1).reduce((a, b) => a * b, 1),
  );
  if (contiguous && dtype === 'float32') {
    (out as Float32Array).set(
      // Uint8Array's slice copies (a Node Buffer's would not), giving an aligned buffer of its own.
      new Float32Array(
        Uint8Array.prototype.slice.call(bytes, offset * 4, (offset + count) * 4).buffer,
      ),
    );
    return new TorchTensor(dtype, shape, outType, out);
  }
  const idx = new Array<number>(shape.length).fill(0);
  let src = offset;
  for (let i = 0; i < count; i++) {
    const v = readElement(dtype, dv, src * w);
    if (outType === 'int32' && (v > 2147483647 || v < -2147483648))
      throw new CheckpointError(
        file,
        `storage ${storage.key}: int64 value ${v} does not fit int32`,
      );
    out[i] = v;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < shape[d]) break;
      src -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return new TorchTensor(dtype, shape, outType, out);
}

export function isStorage(v: unknown): v is Storage {
  return typeof v === 'object' && v !== null && 'bytes' in v && 'dtype' in v && 'key' in v;
}

function intList(file: string, v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0))
    throw new CheckpointError(file, `a tensor's ${what} is not a tuple of integers: ${String(v)}`);
  return v as number[];
}
