/**
 * `loadDetector` and `detect()`: a trained model of any family (SSD,
 * RetinaNet, FCOS, YOLOv3, Faster / Mask R-CNN, FCN / DeepLabV3) from the
 * resolved config a training writes to its work dir and a `.safetensors`
 * checkpoint, run on an image in the page on the active backend. Results
 * have the shape of one entry of `tools/infer.ts`'s `results.json`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkpointFromBytes } from '../nn/checkpoint.js';
import { assertFullLoad, setInitSeed, type Module } from '../nn/index.js';
import { MODELS } from '../registry.js';
import {
  detectionEntries,
  semSegClasses,
  type DetectionEntry,
  type ImgMeta,
  type InstanceData,
  type SemSegClassEntry,
} from '../structures/index.js';
import { preprocess, preprocessPlan, type PreprocessPlan } from './preprocess.js';

/** Pixels as plain data: `ImageData`, or any RGB / RGBA buffer with its size. */
export interface PixelBuffer {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA); default: from the buffer's length. */
  channels?: number;
}

/** What `detect()` takes. */
export type ImageInput =
  | tf.Tensor3D
  | PixelBuffer
  | HTMLImageElement
  | HTMLCanvasElement
  | HTMLVideoElement
  | ImageBitmap
  | OffscreenCanvas
  | VideoFrame;

/** Options of {@link Detector.detect}. */
export interface DetectOptions {
  /** Keep detections with score >= this (default 0.3, as tools/infer.ts). */
  scoreThr?: number;
  /** Also return each instance mask as a 0/1 bitmap of the image (`mask`); RLE is always there. */
  maskBitmaps?: boolean;
}

/** One detection: a results.json entry's, plus the mask bitmap when asked for. */
export interface Detection extends DetectionEntry {
  /** `height * width` 0/1, row-major (with `maskBitmaps`). */
  mask?: Uint8Array;
}

/** What `detect()` returns. */
export interface DetectResult {
  width: number;
  height: number;
  detections: Detection[];
  /** A segmentor's label map of the image, with the classes present. */
  semSeg?: { data: Uint8Array; width: number; height: number; classes: SemSegClassEntry[] };
  /**
   * Milliseconds per stage: `preprocess` (pixels to the network input),
   * `network` (until the first read of the head outputs has arrived: it
   * waits for the device to finish the network), `postprocess` (the rest of
   * `predict`: decoding, NMS, RoI stages, masks), `total`.
   */
  times: { preprocess: number; network: number; postprocess: number; total: number };
  /** Device-to-JavaScript reads during the call (see {@link countReads}). */
  reads: number;
}

interface Predicting extends Module {
  predict(batch: unknown): Promise<
    {
      metainfo?: ImgMeta;
      predInstances?: InstanceData;
      predSemSeg?: { data: Uint8Array; height: number; width: number };
    }[]
  >;
}

/** Where a config or checkpoint comes from. */
export type Source = string | URL | ArrayBuffer | Uint8Array | Blob;

/** Options of {@link loadDetector}. */
export interface LoadDetectorOptions {
  /** The resolved config (`work_dir/<name>.json`), as an object or the URL to fetch it from. */
  config: Record<string, unknown> | string | URL;
  /** A `.safetensors` checkpoint: URL, bytes, or a `File` / `Blob`. */
  checkpoint: Source;
  /** Class names; default: the config's (`classes`, else the test data set's `metainfo.classes`). */
  classes?: string[];
}

async function fetchOk(url: string | URL): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${String(url)}: HTTP ${res.status} ${res.statusText}`);
  return res;
}

async function bytesOf(src: Source): Promise<{ bytes: Uint8Array; name: string }> {
  if (typeof src === 'string' || src instanceof URL)
    return { bytes: new Uint8Array(await (await fetchOk(src)).arrayBuffer()), name: String(src) };
  if (src instanceof Uint8Array) return { bytes: src, name: '<bytes>' };
  if (src instanceof ArrayBuffer) return { bytes: new Uint8Array(src), name: '<ArrayBuffer>' };
  const name = (src as Blob & { name?: string }).name ?? '<Blob>';
  return { bytes: new Uint8Array(await src.arrayBuffer()), name };
}

/** A resolved config, the keys read here. */
export type Cfg = Record<string, unknown> & {
  model?: Record<string, unknown>;
  classes?: string[];
  testDataloader?: { dataset?: DatasetCfg };
  valDataloader?: { dataset?: DatasetCfg };
  /** A test pipeline of its own, for a model without a data set (configs/torchvision/). */
  testPipeline?: Record<string, unknown>[];
};
type DatasetCfg = { pipeline?: Record<string, unknown>[]; metainfo?: { classes?: string[] } };

/** The data set the config tests on (`testDataloader`'s, else `valDataloader`'s). */
function testDataset(cfg: Cfg): DatasetCfg | undefined {
  return (cfg.testDataloader ?? cfg.valDataloader)?.dataset;
}

/** What the page does of the config's test pipeline (see {@link preprocessPlan}). */
export function testPlan(cfg: Cfg): PreprocessPlan {
  return preprocessPlan(cfg.testPipeline ?? testDataset(cfg)?.pipeline ?? []);
}

/** A model ready to run on images; `dispose()` frees its weights. */
export class Detector {
  readonly plan: PreprocessPlan;

  constructor(
    readonly model: Predicting,
    readonly config: Cfg,
    readonly classes: string[],
  ) {
    this.plan = testPlan(config);
  }

  /**
   * Detects (or segments) one image. The image is decoded by the browser,
   * preprocessed as the config's test pipeline on the active backend, run,
   * and its results are read back at the end.
   *
   * @example
   * ```ts
   * const { detections } = await det.detect(document.querySelector('img')!, { scoreThr: 0.3 });
   * // detections[0] like { bbox: [12.5, 30, 88, 101.25], score: 0.97, label: 2, className: 'triangle' }
   * ```
   */
  async detect(image: ImageInput, opts: DetectOptions = {}): Promise<DetectResult> {
    const scoreThr = opts.scoreThr ?? 0.3;
    const t0 = performance.now();
    const pixels = await toPixels(image);
    const owned = pixels !== image;
    let reads = 0;
    let firstRead = 0;
    const restore = countReads(() => {
      reads++;
      if (!firstRead) firstRead = performance.now();
    });
    let t1: number;
    let pred: Awaited<ReturnType<Predicting['predict']>>[number] | undefined;
    try {
      const { inputs, metainfo } = preprocess(pixels, this.plan);
      if (owned) pixels.dispose();
      t1 = performance.now();
      try {
        [pred] = await this.model.predict({
          inputs,
          dataSamples: [{ metainfo, gtInstances: emptyGt() }],
        });
      } finally {
        inputs.dispose();
      }
    } finally {
      restore();
      if (owned) pixels.dispose(); // a no-op when already freed above
    }
    const t2 = performance.now();
    const [height, width] = pixels.shape;
    const result: DetectResult = {
      width,
      height,
      detections: [],
      times: {
        preprocess: t1 - t0,
        network: (firstRead || t2) - t1,
        postprocess: firstRead ? t2 - firstRead : 0,
        total: t2 - t0,
      },
      reads,
    };
    const p = pred?.predInstances;
    if (p) {
      const entries: Detection[] = detectionEntries(p, this.classes, scoreThr, [height, width]);
      if (opts.maskBitmaps && p.masks) {
        let j = 0;
        p.scores.forEach((s, k) => {
          if (s >= scoreThr) entries[j++].mask = p.masks![k];
        });
      }
      result.detections = entries;
    }
    const seg = pred?.predSemSeg;
    if (seg)
      result.semSeg = {
        data: seg.data,
        width: seg.width,
        height: seg.height,
        classes: semSegClasses(seg.data, this.classes),
      };
    return result;
  }

  /** Frees the model's weights. */
  dispose(): void {
    this.model.dispose();
  }
}

const emptyGt = () => ({ bboxes: new Float32Array(0), labels: new Int32Array(0) });

/**
 * Counts the device-to-JavaScript reads of the active backend (`readSync`
 * and `read`: tfjs reads every tensor's data through these two) until the
 * returned function is called. A read of data the backend already holds in
 * JavaScript (a small tensor made from values, which webgl and webgpu keep
 * on the CPU until a GPU program needs it) is no transfer and not counted.
 * `onRead` runs when a read has finished (an asynchronous one when its
 * data has arrived).
 */
export function countReads(onRead: () => void): () => void {
  const backend = tf.backend() as unknown as Record<string, (...a: unknown[]) => unknown> & {
    tensorMap?: { get(id: unknown): { values?: unknown } | undefined };
    texData?: { get(id: unknown): { values?: unknown } | undefined };
  };
  const held = (dataId: unknown): boolean =>
    (backend.tensorMap ?? backend.texData)?.get(dataId)?.values != null;
  const { readSync, read } = backend;
  backend.readSync = function (this: unknown, dataId: unknown, ...a: unknown[]) {
    const transfer = !held(dataId);
    const v = readSync.call(this, dataId, ...a);
    if (transfer) onRead();
    return v;
  };
  backend.read = function (this: unknown, dataId: unknown, ...a: unknown[]) {
    const transfer = !held(dataId);
    return (read.call(this, dataId, ...a) as Promise<unknown>).then((v) => {
      if (transfer) onRead();
      return v;
    });
  };
  return () => {
    backend.readSync = readSync;
    backend.read = read;
  };
}

/** The image as `[h, w, 3]` pixels (a tensor given is returned as it is). */
export async function toPixels(image: ImageInput): Promise<tf.Tensor3D> {
  if (image instanceof tf.Tensor) {
    if (image.rank !== 3 || ![3, 4].includes(image.shape[2]))
      throw new Error(`detect: expected a [h, w, 3 | 4] tensor, got [${image.shape.join(', ')}]`);
    return image.shape[2] === 3 ? image : tf.slice(image, [0, 0, 0], [-1, -1, 3]);
  }
  if ('data' in image && 'width' in image && !(image instanceof HTMLElementBase())) {
    const { data, width, height } = image;
    const channels = image.channels ?? data.length / (width * height);
    if (channels !== 3 && channels !== 4)
      throw new Error(
        `detect: a ${width}x${height} pixel buffer of ${data.length} bytes has ${channels} channels; expected 3 or 4`,
      );
    return tf.tidy(() => {
      const t = tf.tensor3d(Uint8Array.from(data), [height, width, channels], 'int32');
      return channels === 3 ? t : tf.slice(t, [0, 0, 0], [-1, -1, 3]);
    });
  }
  const g = globalThis as unknown as { VideoFrame?: typeof VideoFrame };
  if (g.VideoFrame && image instanceof g.VideoFrame) {
    const bitmap = await createImageBitmap(image);
    try {
      return tf.browser.fromPixels(bitmap);
    } finally {
      bitmap.close();
    }
  }
  const source = image as HTMLImageElement;
  // On webgpu tfjs copies DOM images with copyExternalImageToTexture, which
  // fails once the backend has read a tensor synchronously (its readSync
  // draws through canvases); the pixels go up from a 2D canvas instead.
  if (tf.getBackend() === 'webgpu') return tf.browser.fromPixels(imageDataOf(source));
  return tf.browser.fromPixels(source);
}

/** The pixels of a DOM image source, drawn on a 2D canvas. */
function imageDataOf(
  source: HTMLImageElement | HTMLCanvasElement | HTMLVideoElement | ImageBitmap | OffscreenCanvas,
): ImageData {
  const w =
    'naturalWidth' in source
      ? source.naturalWidth
      : 'videoWidth' in source
        ? source.videoWidth
        : source.width;
  const h =
    'naturalHeight' in source
      ? source.naturalHeight
      : 'videoHeight' in source
        ? source.videoHeight
        : source.height;
  const canvas = new OffscreenCanvas(w, h);
  const g = canvas.getContext('2d', { willReadFrequently: true });
  if (!g) throw new Error('detect: no 2D canvas context to read the image with');
  g.drawImage(source, 0, 0);
  return g.getImageData(0, 0, w, h);
}

/** `HTMLElement` where there is one (a page), else a class nothing is an instance of (a worker, Node). */
function HTMLElementBase(): abstract new () => object {
  return (globalThis as { HTMLElement?: abstract new () => object }).HTMLElement ?? class {};
}

/**
 * The model of a resolved config with a checkpoint loaded (every weight of
 * the model must be in it), in eval mode; what {@link loadDetector} and the
 * fine-tuning build on.
 */
export async function buildDetector<M extends Module = Predicting>(
  opts: LoadDetectorOptions,
): Promise<{ model: M; cfg: Cfg; classes: string[] }> {
  const cfgName =
    typeof opts.config === 'string' || opts.config instanceof URL ? String(opts.config) : 'config';
  const cfg = (
    typeof opts.config === 'string' || opts.config instanceof URL
      ? await (await fetchOk(opts.config)).json()
      : opts.config
  ) as Cfg;
  if (cfg._base_ !== undefined)
    throw new Error(
      `${cfgName}: has _base_; give the resolved config a training writes to its work dir (work_dir/<name>.json)`,
    );
  if (!cfg.model) throw new Error(`${cfgName}: no \`model\` key`);
  const { bytes, name } = await bytesOf(opts.checkpoint);
  setInitSeed(0);
  const model = MODELS.build<M>(cfg.model, { path: 'model' });
  const ckpt = checkpointFromBytes(bytes, undefined, name);
  try {
    assertFullLoad(model.loadStateDict(ckpt.state, { strict: false }), name, cfgName);
  } finally {
    for (const t of [...ckpt.state.values(), ...ckpt.optimizerState.values()]) t.dispose();
  }
  model.eval();
  const classes = opts.classes ?? cfg.classes ?? testDataset(cfg)?.metainfo?.classes ?? [];
  return { model, cfg, classes };
}

/**
 * Builds the model of a resolved config and loads a checkpoint into it.
 * Every weight of the model must be in the checkpoint.
 *
 * @example
 * ```ts
 * await setBackend('webgpu');
 * const det = await loadDetector({ config: 'work_dirs/demo/ssd_r18_shapes.json', checkpoint: 'work_dirs/demo/epoch_9.safetensors' });
 * ```
 */
export async function loadDetector(opts: LoadDetectorOptions): Promise<Detector> {
  const { model, cfg, classes } = await buildDetector(opts);
  return new Detector(model, cfg, classes);
}
