/**
 * Checkpoints: a safetensors file of named tensors plus a JSON sidecar
 * (`<file>.json`) with the config, epoch, iteration, optimizer and scheduler
 * state and metrics. Both are written atomically (temp file, fsync, rename);
 * the sidecar names the tensor file's id so that a pair from different
 * writes is detected.
 *
 * safetensors layout: u64 little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {...}}`,
 * then the raw little-endian data.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FsError } from '../utils/fs_error.js';
import { readFileBytes, readTextIfExists, writeFileAtomic } from '../utils/fs.js';

/** Thrown for an unreadable, truncated or inconsistent checkpoint; names the file. */
export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'CheckpointError';
  }
}

const DTYPES = {
  F32: { tf: 'float32', bytes: 4, array: Float32Array },
  I32: { tf: 'int32', bytes: 4, array: Int32Array },
  U8: { tf: 'bool', bytes: 1, array: Uint8Array },
} as const;
type SafeDtype = keyof typeof DTYPES;

/** Torch-side dtypes accepted when reading a foreign file (converted to float32/int32). */
const FOREIGN: Record<
  string,
  { bytes: number; read: (dv: DataView, off: number) => number; tf: 'float32' | 'int32' }
> = {
  F64: { bytes: 8, read: (dv, o) => dv.getFloat64(o, true), tf: 'float32' },
  F16: { bytes: 2, read: (dv, o) => halfToFloat(dv.getUint16(o, true)), tf: 'float32' },
  BF16: { bytes: 2, read: (dv, o) => bf16ToFloat(dv.getUint16(o, true)), tf: 'float32' },
  I64: { bytes: 8, read: (dv, o) => Number(dv.getBigInt64(o, true)), tf: 'int32' },
  I16: { bytes: 2, read: (dv, o) => dv.getInt16(o, true), tf: 'int32' },
  I8: { bytes: 1, read: (dv, o) => dv.getInt8(o), tf: 'int32' },
  BOOL: { bytes: 1, read: (dv, o) => dv.getUint8(o), tf: 'int32' },
};

/** An IEEE half (float16) bit pattern as a number. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** A bfloat16 bit pattern as a number. */
export function bf16ToFloat(b: number): number {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setUint32(0, b << 16, true);
  return buf.getFloat32(0, true);
}

export { writeFileAtomic };

/** A tensor's values already read to the host (what {@link encodeSafetensors} also takes). */
export interface HostValues {
  dtype: tf.DataType;
  shape: number[];
  values: tf.TypedArray;
}

/**
 * Serialises named tensors to safetensors bytes (float32 as F32, int32 as
 * I32, bool as U8). Keys are written sorted, so equal dicts give equal bytes.
 * An entry may be {@link HostValues} read beforehand (`await t.data()`, as a
 * page on webgpu does); a tensor is read here synchronously.
 */
export function encodeSafetensors(
  tensors: Map<string, tf.Tensor | HostValues> | Record<string, tf.Tensor | HostValues>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const entries = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).sort(
    ([a], [b]) => (a < b ? -1 : a > b ? 1 : 0),
  );
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const datas: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    const dtype: SafeDtype =
      t.dtype === 'float32'
        ? 'F32'
        : t.dtype === 'int32'
          ? 'I32'
          : t.dtype === 'bool'
            ? 'U8'
            : (() => {
                throw new Error(
                  `encodeSafetensors: tensor '${name}' has unsupported dtype ${t.dtype}`,
                );
              })();
    const values = t instanceof tf.Tensor ? t.dataSync() : t.values;
    const bytes =
      dtype === 'U8'
        ? Uint8Array.from(values as ArrayLike<number>)
        : new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    datas.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces to an 8-byte boundary, as the reference writer does.
  const utf8 = new TextEncoder();
  json += ' '.repeat((8 - ((8 + utf8.encode(json).byteLength) % 8)) % 8);
  const headerBytes = utf8.encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.byteLength;
  for (const d of datas) {
    out.set(d, pos);
    pos += d.byteLength;
  }
  return out;
}

/** Parsed safetensors: tensors by name and the `__metadata__` strings. */
export interface SafetensorsContent {
  tensors: Map<string, tf.Tensor>;
  metadata: Record<string, string>;
}

/**
 * Parses safetensors bytes. Truncation, a bad header, overlapping or
 * out-of-range offsets and unknown dtypes are {@link CheckpointError}s naming `file`.
 */
export function decodeSafetensors(bytes: Uint8Array, file = '<buffer>'): SafetensorsContent {
  if (bytes.byteLength < 8)
    throw new CheckpointError(
      file,
      `not a safetensors file: ${bytes.byteLength} bytes, too short for a header`,
    );
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n > bytes.byteLength - 8 || n > 100 * 1024 * 1024) {
    throw new CheckpointError(
      file,
      `truncated or corrupt: header length ${n} exceeds the file's ${bytes.byteLength - 8} remaining bytes`,
    );
  }
  let header: Record<string, any>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new CheckpointError(file, `corrupt header: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new CheckpointError(file, 'corrupt header: not a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.byteLength - dataStart;
  const tensors = new Map<string, tf.Tensor>();
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const spans: [number, number, string][] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const {
      dtype,
      shape,
      data_offsets: offs,
    } = (info ?? {}) as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new CheckpointError(file, `tensor '${name}': bad shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !(offs[0] <= offs[1]))
      throw new CheckpointError(file, `tensor '${name}': bad data_offsets ${JSON.stringify(offs)}`);
    if (offs[1] > dataLen)
      throw new CheckpointError(
        file,
        `truncated: tensor '${name}' ends at byte ${offs[1]} of a ${dataLen}-byte data section`,
      );
    const count = shape.reduce((a, b) => a * b, 1);
    const begin = dataStart + offs[0];
    const known = DTYPES[dtype as SafeDtype];
    const foreign = FOREIGN[dtype ?? ''];
    const width = known?.bytes ?? foreign?.bytes;
    if (!width)
      throw new CheckpointError(
        file,
        `tensor '${name}': unsupported dtype ${JSON.stringify(dtype)}`,
      );
    if (offs[1] - offs[0] !== count * width) {
      throw new CheckpointError(
        file,
        `tensor '${name}': ${offs[1] - offs[0]} bytes for shape [${shape}] of ${dtype}`,
      );
    }
    spans.push([offs[0], offs[1], name]);
    if (known) {
      // Uint8Array's slice copies (Buffer's would not), giving an aligned buffer of its own.
      const copy = Uint8Array.prototype.slice.call(bytes, begin, begin + count * width);
      const arr = new known.array(copy.buffer, 0, count);
      tensors.set(
        name,
        tf.tensor(known.tf === 'bool' ? Int32Array.from(arr) : arr, shape, known.tf),
      );
    } else {
      const arr = foreign.tf === 'int32' ? new Int32Array(count) : new Float32Array(count);
      for (let i = 0; i < count; i++) arr[i] = foreign.read(dv, begin + i * width);
      tensors.set(name, tf.tensor(arr, shape, foreign.tf));
    }
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) {
      for (const t of tensors.values()) t.dispose();
      throw new CheckpointError(
        file,
        `corrupt: tensors '${spans[i - 1][2]}' and '${spans[i][2]}' overlap`,
      );
    }
  }
  return { tensors, metadata };
}

/** Reads a safetensors file. */
export function readSafetensors(file: string): SafetensorsContent {
  return decodeSafetensors(readCheckpointBytes(file), file);
}

/** The bytes of a checkpoint file; a CheckpointError naming it when it cannot be read. */
export function readCheckpointBytes(file: string): Uint8Array {
  try {
    return readFileBytes(file);
  } catch (e) {
    throw new CheckpointError(file, `cannot read: ${(e as FsError).code ?? (e as Error).message}`);
  }
}

/** The sidecar's content; everything but tensors. */
export interface CheckpointMeta {
  /** Id shared with the tensor file's metadata. */
  checkpointId?: string;
  config?: unknown;
  epoch?: number;
  iter?: number;
  /** Optimizer scalars (step counts, hyper-parameters); its tensors live in the tensor file under `optimizer.`. */
  optimizer?: unknown;
  scheduler?: unknown;
  metrics?: Record<string, number>;
  /** RNG and data-order state for exact resume. */
  rng?: unknown;
  [key: string]: unknown;
}

/** What {@link saveCheckpoint} writes. */
export interface CheckpointData {
  /** Model weights and buffers by name (`Module.stateDict()`). */
  state: Map<string, tf.Tensor> | Record<string, tf.Tensor>;
  /** Optimizer tensors (moments) by name; stored with the `optimizer.` prefix. */
  optimizerState?: Map<string, tf.Tensor> | Record<string, tf.Tensor>;
  meta?: CheckpointMeta;
}

/** A loaded checkpoint. */
export interface LoadedCheckpoint {
  state: Map<string, tf.Tensor>;
  optimizerState: Map<string, tf.Tensor>;
  meta: CheckpointMeta;
}

export const sidecarPath = (file: string): string => `${file}.json`;

/**
 * Writes `file` (safetensors) and `file.json` (sidecar), each atomically,
 * the sidecar first. Every interrupted state is detected by
 * {@link loadCheckpoint}: a crash before the first rename leaves the previous
 * pair intact; one between the renames leaves a sidecar whose `checkpointId`
 * does not match the tensor file (or names a tensor file that does not exist
 * yet), which is reported rather than mixing states.
 *
 * @example
 * ```ts
 * saveCheckpoint('work_dirs/run/epoch_1.safetensors', { state: model.stateDict(), meta: { epoch: 1, iter: 500 } });
 * ```
 */
export function saveCheckpoint(file: string, data: CheckpointData): void {
  const id = globalThis.crypto.randomUUID();
  const tensors = new Map<string, tf.Tensor>();
  const stateEntries = data.state instanceof Map ? [...data.state] : Object.entries(data.state);
  for (const [k, v] of stateEntries) {
    if (k.startsWith('optimizer.'))
      throw new Error(
        `saveCheckpoint: model state key '${k}' uses the reserved prefix 'optimizer.'`,
      );
    tensors.set(k, v);
  }
  const optEntries = !data.optimizerState
    ? []
    : data.optimizerState instanceof Map
      ? [...data.optimizerState]
      : Object.entries(data.optimizerState);
  for (const [k, v] of optEntries) tensors.set(`optimizer.${k}`, v);
  const bytes = encodeSafetensors(tensors, { format: 'tfdet', checkpointId: id });
  const meta = { ...(data.meta ?? {}), checkpointId: id };
  writeFileAtomic(sidecarPath(file), `${JSON.stringify(meta, null, 2)}\n`);
  writeFileAtomic(file, bytes);
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint}, or a bare safetensors
 * file (e.g. converted torchvision weights; then `meta` is `{}`).
 *
 * @throws CheckpointError naming the file: missing, truncated, corrupt, or a
 *   sidecar that belongs to another write.
 */
export function loadCheckpoint(file: string): LoadedCheckpoint {
  const side = sidecarPath(file);
  return checkpointFromBytes(readCheckpointBytes(file), readTextIfExists(side), file);
}

/**
 * A checkpoint from the bytes of its safetensors file and, when there is
 * one, the text of its sidecar (what {@link loadCheckpoint} reads from disk;
 * the browser passes fetched or dropped bytes). `file` names both in errors.
 */
export function checkpointFromBytes(
  bytes: Uint8Array,
  sidecar: string | undefined,
  file = '<buffer>',
): LoadedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  let meta: CheckpointMeta = {};
  const side = sidecarPath(file);
  if (sidecar !== undefined) {
    try {
      meta = JSON.parse(sidecar) as CheckpointMeta;
    } catch (e) {
      throw new CheckpointError(side, `corrupt sidecar: ${(e as Error).message}`);
    }
    if (metadata.checkpointId && meta.checkpointId && metadata.checkpointId !== meta.checkpointId) {
      throw new CheckpointError(
        file,
        `its sidecar ${side.slice(side.lastIndexOf('/') + 1)} belongs to another write (checkpointId ${meta.checkpointId} vs ${metadata.checkpointId}); the write was interrupted`,
      );
    }
  }
  const state = new Map<string, tf.Tensor>();
  const optimizerState = new Map<string, tf.Tensor>();
  for (const [k, v] of tensors) {
    if (k.startsWith('optimizer.')) optimizerState.set(k.slice('optimizer.'.length), v);
    else state.set(k, v);
  }
  return { state, optimizerState, meta };
}
