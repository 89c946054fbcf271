/**
 * PyTorch checkpoints (`.pth`, `.pt`) read without Python: the zip archive
 * `torch.save` writes since 1.6 (`<name>/data.pkl`, `<name>/data/<key>`,
 * `<name>/byteorder`) and the legacy format before it (a sequence of
 * pickles followed by the raw storages). The pickle is read by
 * {@link unpickle} with the globals `torch.load(weights_only=True)` allows —
 * tensor and parameter rebuilders, the storage classes, `OrderedDict`,
 * `set`, `_codecs.encode` and numpy scalars — so a file naming anything else
 * (`os.system`, a pickled model class) is refused and nothing of it runs.
 *
 * Tensors come back on the host in torch's layout (NCHW weights, `[out, in]`
 * linears), contiguous: views with an offset or strides are copied out of
 * their storage, and tensors sharing a storage each get their own values.
 * Floating types become float32 (float16, bfloat16 and float64 converted),
 * integer types int32 (an int64 outside the int32 range is an error) and bool
 * stays bool.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { unzipSync } from 'fflate';
import { readTextIfExists } from '../utils/fs.js';
import {
  checkpointFromBytes,
  CheckpointError,
  decodeSafetensors,
  readCheckpointBytes,
  sidecarPath,
  type LoadedCheckpoint,
} from './checkpoint.js';
import {
  rebuildTensor,
  STORAGE_CLASSES,
  StorageType,
  TorchTensor,
  WIDTH,
  type Storage,
  type TorchDtype,
} from './torch_tensor.js';
import { PickleError, unpickle, type PyCallable } from './pickle.js';

/** The globals a torch checkpoint may name (what `torch.load(weights_only=True)` accepts, and numpy scalars). */
function torchGlobals(file: string, build = true): Record<string, PyCallable> {
  const rebuild = (a: unknown[]): TorchTensor | null =>
    build ? rebuildTensor(file, a[0], a[1], a[2], a[3]) : null;
  const g: Record<string, PyCallable> = {
    'collections.OrderedDict': (a) => new Map((a[0] as Iterable<[unknown, unknown]>) ?? []),
    'torch._utils._rebuild_tensor': rebuild,
    'torch._utils._rebuild_tensor_v2': rebuild,
    'torch._utils._rebuild_parameter': (a) => a[0],
    'torch._utils._rebuild_parameter_with_state': (a) => a[0],
    'torch.device': (a) => String(a[0]),
    'builtins.set': (a) => new Set((a[0] as Iterable<unknown>) ?? []),
    'builtins.frozenset': (a) => new Set((a[0] as Iterable<unknown>) ?? []),
    '_codecs.encode': (a) => {
      if (a[1] !== 'latin1' && a[1] !== 'latin-1')
        throw new CheckpointError(file, `_codecs.encode with encoding ${String(a[1])}`);
      return Uint8Array.from(String(a[0]), (c) => c.charCodeAt(0));
    },
    'numpy.dtype': (a) => ({ numpyDtype: String(a[0]) }),
    'numpy.core.multiarray.scalar': (a) => numpyScalar(file, a[0], a[1]),
  };
  for (const [name, dtype] of Object.entries(STORAGE_CLASSES)) {
    const type = new StorageType(dtype);
    g[`torch.${name}`] = () => type;
    // the storage classes are passed as values; calling one is not expected
    Object.assign(g[`torch.${name}`], { storageType: type });
  }
  return g;
}

function numpyScalar(file: string, dtype: unknown, data: unknown): number {
  const d = (dtype as { numpyDtype?: string })?.numpyDtype;
  if (!(data instanceof Uint8Array)) throw new CheckpointError(file, 'numpy scalar without bytes');
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const read: Record<string, () => number> = {
    f8: () => dv.getFloat64(0, true),
    f4: () => dv.getFloat32(0, true),
    i8: () => Number(dv.getBigInt64(0, true)),
    i4: () => dv.getInt32(0, true),
    u1: () => dv.getUint8(0),
    b1: () => dv.getUint8(0),
  };
  const r = read[d ?? ''];
  if (!r) throw new CheckpointError(file, `numpy scalar of dtype ${d} is not supported`);
  return r();
}

const ALLOWED =
  'a checkpoint may name only tensors, storages, OrderedDict, set and numpy scalars ' +
  '(what torch.load(weights_only=True) allows; a pickled model or object is refused: ' +
  'save model.state_dict() instead)';

function storageTypeOf(v: unknown): TorchDtype | undefined {
  return (v as { storageType?: StorageType })?.storageType?.dtype;
}

/** What a torch file holds: the unpickled object and the format it came in. */
export interface TorchFile {
  value: unknown;
  format: 'zip' | 'legacy';
}

const isZip = (b: Uint8Array): boolean =>
  b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
/** A pickle's PROTO opcode: how the legacy format begins. */
const isLegacy = (b: Uint8Array): boolean => b[0] === 0x80 && b[1] >= 2 && b[1] <= 5;

/** Whether `bytes` look like a torch file (zip or legacy), as opposed to safetensors. */
export function isTorchFile(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 4 && (isZip(bytes) || isLegacy(bytes));
}

/**
 * Reads the object a `torch.save` file holds.
 *
 * @throws CheckpointError naming `file`: a truncated or corrupt archive, a
 *   TorchScript archive, a refused global, a big-endian file.
 */
export function decodeTorchFile(bytes: Uint8Array, file = '<buffer>'): TorchFile {
  try {
    if (isZip(bytes)) return { value: decodeZip(bytes, file), format: 'zip' };
    if (isLegacy(bytes)) return { value: decodeLegacy(bytes, file), format: 'legacy' };
  } catch (e) {
    if (e instanceof PickleError)
      throw new CheckpointError(file, e.message.replace(`${file}: `, ''));
    throw e;
  }
  throw new CheckpointError(file, 'not a PyTorch file (neither a zip archive nor a pickle)');
}

function decodeZip(bytes: Uint8Array, file: string): unknown {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new CheckpointError(file, `truncated or corrupt zip archive (${(e as Error).message})`);
  }
  const names = Object.keys(entries);
  const pkl = names.find((n) => /^[^/]*\/data\.pkl$/.test(n) || n === 'data.pkl');
  if (!pkl) {
    const script = names.some((n) => /(^|\/)constants\.pkl$/.test(n) || /(^|\/)code\//.test(n));
    throw new CheckpointError(
      file,
      script
        ? 'a TorchScript archive (torch.jit.save); save the state dict with torch.save(model.state_dict(), f) instead'
        : `a zip archive without data.pkl (entries: ${names.slice(0, 5).join(', ')})`,
    );
  }
  const root = pkl.slice(0, pkl.length - 'data.pkl'.length);
  const order = entries[`${root}byteorder`];
  if (order && new TextDecoder().decode(order).trim() !== 'little')
    throw new CheckpointError(
      file,
      'a big-endian checkpoint; re-save it on a little-endian machine',
    );
  const storages = new Map<string, Storage>();
  const { value } = unpickle(entries[pkl], {
    file,
    allowed: ALLOWED,
    globals: torchGlobals(file),
    persistentLoad: (pid) => {
      const [kind, type, key, , numel] = (Array.isArray(pid) ? pid : []) as unknown[];
      const dtype = storageTypeOf(type);
      if (kind !== 'storage' || !dtype || typeof key !== 'string')
        throw new CheckpointError(file, `unexpected persistent id ${JSON.stringify(pid)}`);
      const cached = storages.get(key);
      if (cached) return cached;
      const data = entries[`${root}data/${key}`];
      if (!data) throw new CheckpointError(file, `storage ${key} is missing from the archive`);
      if (typeof numel === 'number' && data.byteLength < numel * WIDTH[dtype])
        throw new CheckpointError(
          file,
          `storage ${key}: ${data.byteLength} bytes for ${numel} ${dtype} elements`,
        );
      const s = { dtype, bytes: data, key };
      storages.set(key, s);
      return s;
    },
  });
  return value;
}

/**
 * The format before torch 1.6: pickles of the magic number, the protocol
 * version and system info, then the object (storages as persistent ids
 * `('storage', type, key, location, numel, view)`), then the list of storage
 * keys, then each storage as an int64 element count and its bytes.
 */
function decodeLegacy(bytes: Uint8Array, file: string): unknown {
  const magic = unpickle(bytes, { file, globals: {} });
  if (magic.value !== 0x1950a86a20f9469cfc6cn)
    throw new CheckpointError(file, 'a pickle that is not a torch.save file (wrong magic number)');
  const version = unpickle(bytes, { file, globals: {}, offset: magic.end });
  if (version.value !== 1001)
    throw new CheckpointError(
      file,
      `legacy format version ${String(version.value)} (expected 1001)`,
    );
  const info = unpickle(bytes, { file, globals: {}, offset: version.end });
  const sys = info.value instanceof Map ? info.value : new Map();
  if (sys.get('little_endian') === false)
    throw new CheckpointError(
      file,
      'a big-endian checkpoint; re-save it on a little-endian machine',
    );
  // The storages follow the object, so a first pass only finds where the
  // object's pickle ends (and builds no tensor); the second builds them.
  const persistent = (fill: Map<string, Uint8Array> | undefined) => (pid: unknown) => {
    const [kind, type, key, , , view] = (Array.isArray(pid) ? pid : []) as unknown[];
    const dtype = storageTypeOf(type);
    if (kind !== 'storage' || !dtype || typeof key !== 'string' || view != null)
      throw new CheckpointError(file, `unsupported persistent id ${JSON.stringify(pid)}`);
    types.set(key, dtype);
    return { dtype, key, bytes: fill?.get(key) ?? new Uint8Array(0) };
  };
  const types = new Map<string, TorchDtype>();
  const first = unpickle(bytes, {
    file,
    offset: info.end,
    allowed: ALLOWED,
    globals: torchGlobals(file, false),
    persistentLoad: persistent(undefined),
  });
  const keys = unpickle(bytes, { file, globals: {}, offset: first.end });
  if (!Array.isArray(keys.value))
    throw new CheckpointError(file, 'legacy format: no storage key list');
  let pos = keys.end;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Map<string, Uint8Array>();
  for (const key of keys.value as string[]) {
    const dtype = types.get(key);
    if (!dtype || pos + 8 > bytes.byteLength)
      throw new CheckpointError(file, `truncated: storage ${key} is missing`);
    const n = Number(dv.getBigInt64(pos, true)) * WIDTH[dtype];
    if (pos + 8 + n > bytes.byteLength)
      throw new CheckpointError(file, `truncated: storage ${key} ends past the file`);
    data.set(key, bytes.subarray(pos + 8, pos + 8 + n));
    pos += 8 + n;
  }
  return unpickle(bytes, {
    file,
    offset: info.end,
    allowed: ALLOWED,
    globals: torchGlobals(file, true),
    persistentLoad: persistent(data),
  }).value;
}

/** Reads a torch file from disk ({@link decodeTorchFile}). */
export function readTorchFile(file: string): TorchFile {
  return decodeTorchFile(readCheckpointBytes(file), file);
}

/** A state dict read from a torch file, and what wrapped it. */
export interface TorchStateDict {
  /** Tensors by name, nested dicts flattened with dots, a DataParallel `module.` prefix removed. */
  tensors: Map<string, TorchTensor>;
  /** mmdetection's `meta` (version, config, classes) when the file has one. */
  meta?: unknown;
  /** The key the state dict was found under (`state_dict`: mmdetection, `model`: torchvision's training scripts). */
  wrapper?: 'state_dict' | 'model';
}

/**
 * The state dict in what a torch file holds: the object itself, or its
 * `state_dict` (mmdetection / mmengine, beside `meta`) or `model`
 * (torchvision's reference training scripts) entry.
 *
 * @throws CheckpointError naming `file` and the key of a value that is not a tensor.
 */
export function torchStateDict(value: unknown, file = '<buffer>'): TorchStateDict {
  if (!(value instanceof Map))
    throw new CheckpointError(
      file,
      `expected a state dict (a dict of tensors), got ${describe(value)}`,
    );
  let sd: Map<unknown, unknown> = value;
  let wrapper: TorchStateDict['wrapper'];
  for (const key of ['state_dict', 'model'] as const) {
    const inner = value.get(key);
    if (inner instanceof Map) {
      sd = inner;
      wrapper = key;
      break;
    }
  }
  const tensors = new Map<string, TorchTensor>();
  const walk = (m: Map<unknown, unknown>, prefix: string): void => {
    for (const [k, v] of m) {
      const name = `${prefix}${String(k)}`;
      if (v instanceof TorchTensor) tensors.set(name, v);
      else if (v instanceof Map) walk(v, `${name}.`);
      else
        throw new CheckpointError(
          file,
          `state dict entry '${name}' is ${describe(v)}, not a tensor`,
        );
    }
  };
  walk(sd, '');
  const keys = [...tensors.keys()];
  if (keys.length && keys.every((k) => k.startsWith('module.'))) {
    const stripped = new Map<string, TorchTensor>();
    for (const [k, v] of tensors) stripped.set(k.slice('module.'.length), v);
    return {
      tensors: stripped,
      meta: wrapper === 'state_dict' ? value.get('meta') : undefined,
      wrapper,
    };
  }
  return { tensors, meta: wrapper === 'state_dict' ? value.get('meta') : undefined, wrapper };
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return `a tuple/list of ${v.length}`;
  if (v instanceof Map) return 'a dict';
  return `a ${typeof v} (${String(v).slice(0, 40)})`;
}

/**
 * Reads the state dict of a `.pth` file as tfjs tensors in torch's layout
 * and names (what a converter maps onto ours).
 *
 * @example
 * ```ts
 * // torchvision's ResNet-50 weights, saved with torch.save(model.state_dict(), path)
 * const { tensors } = readTorchStateDict('resnet50-0676ba61.pth');
 * const conv1 = tensors.get('conv1.weight');
 * ```
 */
export function readTorchStateDict(file: string): {
  tensors: Map<string, tf.Tensor>;
  meta?: unknown;
} {
  const sd = torchStateDict(readTorchFile(file).value, file);
  return { tensors: tfTensors(sd), meta: sd.meta };
}

function tfTensors(sd: TorchStateDict): Map<string, tf.Tensor> {
  const tensors = new Map<string, tf.Tensor>();
  for (const [k, v] of sd.tensors) tensors.set(k, v.toTensor());
  return tensors;
}

/** Weights read by {@link readWeights}: tensors by name and the format they came in. */
export interface ForeignWeights {
  tensors: Map<string, tf.Tensor>;
  format: 'pth' | 'safetensors';
  /** mmdetection's `meta` of a `.pth`, or the `__metadata__` strings of a safetensors file. */
  meta?: unknown;
}

/**
 * Reads a state dict from a `.pth` (torch.save, zip or legacy) or a
 * `.safetensors` file, told apart by content, not by name.
 */
export function readWeights(file: string): ForeignWeights {
  const bytes = readCheckpointBytes(file);
  if (isTorchFile(bytes)) {
    const sd = torchStateDict(decodeTorchFile(bytes, file).value, file);
    return { tensors: tfTensors(sd), format: 'pth', meta: sd.meta };
  }
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  return { tensors, format: 'safetensors', meta: metadata };
}

/**
 * The weights to load into a model (Pretrained, `--load-from`) from a tfdet
 * checkpoint — read as {@link loadCheckpoint} does, sidecar checked — or from
 * a torch.save file, whose state dict `fromTorch` maps onto our names and
 * layouts (a converter; it may dispose what it is given). The file is read
 * once; a converter's refusal is a CheckpointError naming the file.
 */
export function loadWeightsFile(
  file: string,
  fromTorch: (tensors: Map<string, tf.Tensor>) => Map<string, tf.Tensor>,
): LoadedCheckpoint {
  const bytes = readCheckpointBytes(file);
  if (!isTorchFile(bytes))
    return checkpointFromBytes(bytes, readTextIfExists(sidecarPath(file)), file);
  const tensors = tfTensors(torchStateDict(decodeTorchFile(bytes, file).value, file));
  try {
    return { state: fromTorch(tensors), optimizerState: new Map(), meta: {} };
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw new CheckpointError(file, (e as Error).message);
  }
}
