/**
 * The loader's colour pass (uint8 RGB -> float32 through an affine colour
 * map, with flips) as a 128-bit SIMD WebAssembly kernel, about 3x faster
 * than the JavaScript loop, which stays the fallback where WebAssembly SIMD is
 * missing. Source: `wasm/color_pass.wat`.
 */
import type { ColorMap } from '../types.js';
import { COLOR_PASS_WASM } from './wasm/color_pass_wasm.js';

interface Kernel {
  memory: WebAssembly.Memory;
  pass: (
    src: number,
    dst: number,
    w: number,
    h: number,
    ss: number,
    ds: number,
    p: number,
    flip: number,
  ) => void;
}

let kernel: Kernel | null | undefined;

function load(): Kernel | null {
  if (kernel !== undefined) return kernel;
  try {
    const bytes = Buffer.from(COLOR_PASS_WASM, 'base64');
    kernel = WebAssembly.validate(bytes)
      ? (new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as Kernel)
      : null;
  } catch {
    kernel = null;
  }
  return kernel;
}

/** Whether the SIMD kernel is in use (false: the JavaScript loop runs). */
export function colorPassKernelAvailable(): boolean {
  return load() !== null;
}

const align16 = (n: number): number => (n + 15) & ~15;

/**
 * Write `src` (w x h RGB uint8) through `cm` (identity when absent),
 * flipped as asked, into `out` at `offset`, rows `rowStride` floats apart.
 * Returns false when the kernel is unavailable (the caller falls back).
 */
export function colorPassWasm(
  src: Uint8Array,
  w: number,
  h: number,
  cm: ColorMap | undefined,
  flipH: boolean,
  flipV: boolean,
  out: Float32Array,
  offset: number,
  rowStride: number,
): boolean {
  const k = load();
  if (!k || w <= 0 || h <= 0) return k !== null;
  const row = w * 3;
  const srcBytes = row * h;
  // Rows go through in blocks of ~128 KiB of output, so the staging area stays in cache before the copy out.
  const block = Math.max(1, Math.min(h, Math.floor(32768 / row)));
  const S = 64;
  // 16 bytes of slack: the kernel reads 16 bytes for each 12 it uses.
  const D = align16(S + srcBytes + 16);
  const need = D + block * row * 4;
  const have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / 65536));
  const buf = k.memory.buffer;
  new Uint8Array(buf, S, srcBytes).set(src.subarray(0, srcBytes));
  const p = new Float32Array(buf, 0, 12);
  if (cm) {
    for (let i = 0; i < 9; i++) p[i] = cm.m[i]!;
    for (let i = 0; i < 3; i++) p[9 + i] = cm.t[i]!;
  } else p.set([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
  const staged = new Float32Array(buf, D, block * row);
  for (let y0 = 0; y0 < h; y0 += block) {
    const n = Math.min(block, h - y0);
    // Output rows y0..y0+n-1 read source rows y (or h-1-y when flipped vertically).
    const first = flipV ? S + (h - 1 - y0) * row : S + y0 * row;
    k.pass(first, D, w, n, flipV ? -row : row, row * 4, 0, flipH ? 1 : 0);
    if (rowStride === row)
      out.set(n === block ? staged : staged.subarray(0, n * row), offset + y0 * row);
    else
      for (let y = 0; y < n; y++)
        out.set(staged.subarray(y * row, (y + 1) * row), offset + (y0 + y) * rowStride);
  }
  return true;
}
