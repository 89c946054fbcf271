/**
 * Worker threads for the loader's colour pass: they write each image
 * (colour map, flips, padding) straight into the batch, a Float32Array over
 * a SharedArrayBuffer, so the main thread (which also runs the model) only
 * schedules work. The worker is self-contained JavaScript run with
 * `eval: true` (no module resolution, so it works the same under tsx,
 * vitest and compiled output) and uses the same SIMD WebAssembly kernel.
 */
import { Worker } from 'node:worker_threads';
import type { DeferredPixels } from './types.js';
import { COLOR_PASS_WASM } from './transforms/wasm/color_pass_wasm.js';

const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
let k = null;
try {
  const bytes = Buffer.from(workerData.wasm, 'base64');
  if (WebAssembly.validate(bytes)) k = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
} catch (e) { k = null; }

function passJs(src, w, h, m, t, flipH, flipV, out, offset, rowStride) {
  for (let y = 0; y < h; y++) {
    const sy = flipV ? h - 1 - y : y;
    let o = offset + y * rowStride;
    for (let x = 0; x < w; x++, o += 3) {
      const i = (sy * w + (flipH ? w - 1 - x : x)) * 3;
      const r = src[i], g = src[i + 1], b = src[i + 2];
      out[o] = m[0] * r + m[1] * g + m[2] * b + t[0];
      out[o + 1] = m[3] * r + m[4] * g + m[5] * b + t[1];
      out[o + 2] = m[6] * r + m[7] * g + m[8] * b + t[2];
    }
  }
}

function passWasm(src, w, h, m, t, flipH, flipV, out, offset, rowStride) {
  const row = w * 3, srcBytes = row * h;
  const block = Math.max(1, Math.min(h, Math.floor(32768 / row)));
  const S = 64, D = (S + srcBytes + 16 + 15) & ~15;
  const need = D + block * row * 4, have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / 65536));
  const buf = k.memory.buffer;
  new Uint8Array(buf, S, srcBytes).set(src.subarray(0, srcBytes));
  const p = new Float32Array(buf, 0, 12);
  for (let i = 0; i < 9; i++) p[i] = m[i];
  for (let i = 0; i < 3; i++) p[9 + i] = t[i];
  const staged = new Float32Array(buf, D, block * row);
  for (let y0 = 0; y0 < h; y0 += block) {
    const n = Math.min(block, h - y0);
    const first = flipV ? S + (h - 1 - y0) * row : S + y0 * row;
    k.pass(first, D, w, n, flipV ? -row : row, row * 4, 0, flipH ? 1 : 0);
    for (let y = 0; y < n; y++) out.set(staged.subarray(y * row, (y + 1) * row), offset + (y0 + y) * rowStride);
  }
}

function fill(out, offset, rowStride, w, h, W, H, v, zeroed) {
  if (zeroed && !v[0] && !v[1] && !v[2]) return;
  for (let y = 0; y < H; y++) {
    const x0 = y < h ? w : 0;
    for (let x = x0, o = offset + y * rowStride + x0 * 3; x < W; x++, o += 3) { out[o] = v[0]; out[o + 1] = v[1]; out[o + 2] = v[2]; }
  }
}

parentPort.on('message', (j) => {
  try {
    const out = new Float32Array(j.out, j.outByteOffset, j.outLength);
    const src = new Uint8Array(j.src);
    (k ? passWasm : passJs)(src, j.w, j.h, j.m, j.t, j.flipH, j.flipV, out, j.offset, j.rowStride);
    fill(out, j.offset, j.rowStride, j.w, j.h, j.padW, j.padH, j.padVal, j.zeroed);
    fill(out, j.offset, j.rowStride, j.padW, j.padH, j.batchW, j.batchH, j.batchPad, j.zeroed);
    parentPort.postMessage({ id: j.id });
  } catch (e) {
    parentPort.postMessage({ id: j.id, error: String(e && e.stack || e) });
  }
});
`;

/** One image's colour pass into a shared batch buffer. */
export interface ColorJob {
  pixels: DeferredPixels;
  /** The batch: a Float32Array over a SharedArrayBuffer. */
  out: Float32Array;
  offset: number;
  rowStride: number;
  /** The image's padded size (filled with `pixels.padVal`). */
  padW: number;
  padH: number;
  /** The batch's size (the rest filled with `batchPad`). */
  batchW: number;
  batchH: number;
  batchPad: number[];
  /** The buffer is fresh (zero): zero fills can be skipped. */
  zeroed: boolean;
}

/**
 * A small pool of colour-pass workers.
 *
 * @example
 * ```ts
 * const pool = new ColorPassPool(2);
 * await pool.run({ pixels, out: sharedBatch, offset: 0, rowStride: W * 3, padW, padH, batchW: W, batchH: H, batchPad: [0, 0, 0], zeroed: true });
 * pool.close();
 * ```
 */
export class ColorPassPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private readonly load: number[] = [];
  private nextId = 0;
  private failed?: Error;

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { wasm: COLOR_PASS_WASM } });
      w.unref();
      w.on('message', (msg: { id: number; error?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        // An idle worker must not keep the process alive; a busy one must (its reply is awaited).
        if (--this.load[i] === 0) w.unref();
        if (msg.error) p.reject(new Error(`colour pass worker: ${msg.error}`));
        else p.resolve();
      });
      w.on('error', (e: Error) => {
        this.failed = e;
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      this.workers.push(w);
      this.load.push(0);
    }
  }

  /** Run one job on the least busy worker. */
  run(job: ColorJob): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (!(job.out.buffer instanceof SharedArrayBuffer))
      return Promise.reject(new Error('ColorPassPool: the batch must live in a SharedArrayBuffer'));
    let wi = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.load[i] < this.load[wi]) wi = i;
    const id = this.nextId++;
    const px = job.pixels;
    // The decoded pixels move to the worker (one copy into a transferable buffer).
    const srcBytes = px.src.width * px.src.height * 3;
    const src = new ArrayBuffer(srcBytes);
    new Uint8Array(src).set((px.src.data as Uint8Array).subarray(0, srcBytes));
    const cm = px.colorMap;
    const msg = {
      id,
      src,
      w: px.src.width,
      h: px.src.height,
      m: cm ? Array.from(cm.m) : [1, 0, 0, 0, 1, 0, 0, 0, 1],
      t: cm ? Array.from(cm.t) : [0, 0, 0],
      flipH: px.flipH,
      flipV: px.flipV,
      out: job.out.buffer,
      outByteOffset: job.out.byteOffset,
      outLength: job.out.length,
      offset: job.offset,
      rowStride: job.rowStride,
      padW: job.padW,
      padH: job.padH,
      padVal: px.padVal,
      batchW: job.batchW,
      batchH: job.batchH,
      batchPad: job.batchPad,
      zeroed: job.zeroed,
    };
    if (this.load[wi]++ === 0) this.workers[wi].ref();
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[wi].postMessage(msg, [src]);
    });
  }

  /** Stop the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
