/**
 * Minimal PNG codec for palette (indexed) images, the format of VOC's
 * `SegmentationClass` / `SegmentationObject` maps. sharp expands palettes to
 * RGB on decode, so reading class indices needs the raw index plane; this
 * reads and writes it directly with node:zlib.
 */
import { deflateSync, inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * The PASCAL VOC colour map: entry i is the colour of class i (0 black
 * background, 1 aeroplane dark red, ..., 255 the cream "void" border).
 *
 * @example
 * ```ts
 * vocPalette().slice(3, 6); // => Uint8Array [128, 0, 0] (class 1)
 * ```
 */
export function vocPalette(): Uint8Array {
  const p = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    let r = 0,
      g = 0,
      b = 0,
      c = i;
    for (let j = 0; j < 8; j++) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    p[i * 3] = r;
    p[i * 3 + 1] = g;
    p[i * 3 + 2] = b;
  }
  return p;
}

/** Encode an 8-bit indexed PNG from a row-major index plane. */
export function encodeIndexedPng(
  indices: Uint8Array,
  width: number,
  height: number,
  palette: Uint8Array = vocPalette(),
): Buffer {
  if (indices.length !== width * height)
    throw new RangeError(`encodeIndexedPng: ${indices.length} indices for ${width}x${height}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 3; // colour type: palette
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++)
    raw.set(indices.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('PLTE', palette.subarray(0, Math.min(palette.length, 768))),
    chunk('IDAT', deflateSync(raw, { level: 6 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a),
    pb = Math.abs(p - b),
    pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decode a PNG's sample plane without palette expansion. For palette and
 * greyscale images of bit depth <= 8 this is the index / grey value per pixel
 * (what VOC's label maps store). Throws on colour types with more than one
 * channel; `what` names the file in the message.
 */
export function decodeIndexedPng(
  buf: Uint8Array,
  what = 'PNG',
): { data: Uint8Array; width: number; height: number } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 8 || !b.subarray(0, 8).equals(SIGNATURE))
    throw new Error(`${what}: not a PNG file`);
  let pos = 8;
  let width = 0,
    height = 0,
    depth = 0,
    ctype = 0,
    interlace = 0;
  const idat: Buffer[] = [];
  while (pos + 8 <= b.length) {
    const len = b.readUInt32BE(pos);
    const type = b.toString('ascii', pos + 4, pos + 8);
    const data = b.subarray(pos + 8, pos + 8 + len);
    if (pos + 12 + len > b.length) throw new Error(`${what}: truncated PNG (chunk ${type})`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8]!;
      ctype = data[9]!;
      interlace = data[12]!;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  if (!width || !height) throw new Error(`${what}: PNG without IHDR`);
  if (ctype !== 3 && ctype !== 0)
    throw new Error(`${what}: expected a palette or greyscale PNG, got colour type ${ctype}`);
  if (depth > 8) throw new Error(`${what}: bit depth ${depth} not supported for label maps`);
  if (interlace) throw new Error(`${what}: interlaced PNG not supported for label maps`);
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (e) {
    throw new Error(`${what}: corrupt PNG data (${(e as Error).message})`, { cause: e });
  }
  const stride = Math.ceil((width * depth) / 8);
  if (raw.length < (stride + 1) * height) throw new Error(`${what}: truncated PNG data`);
  const rows = new Uint8Array(stride * height);
  const prev = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = rows.subarray(y * stride, (y + 1) * stride);
    for (let x = 0; x < stride; x++) {
      const a = x > 0 ? cur[x - 1] : 0; // bpp = 1 byte for depth <= 8, one channel
      const up = prev[x];
      const c = x > 0 ? prev[x - 1] : 0;
      const s = src[x];
      cur[x] =
        f === 0
          ? s
          : f === 1
            ? s + a
            : f === 2
              ? s + up
              : f === 3
                ? s + ((a + up) >> 1)
                : s + paeth(a, up, c);
    }
    prev.set(cur);
  }
  if (depth === 8) return { data: rows, width, height };
  const out = new Uint8Array(width * height);
  const perByte = 8 / depth,
    mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const byte = rows[y * stride + Math.floor(x / perByte)];
      const shift = 8 - depth * ((x % perByte) + 1);
      out[y * width + x] = (byte >> shift) & mask;
    }
  }
  return { data: out, width, height };
}
