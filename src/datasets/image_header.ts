/**
 * Fast synchronous parsing of JPEG / PNG headers: size, channel count,
 * EXIF orientation. Lets the loader plan the decode (orientation, resize)
 * without a separate metadata call into sharp, and gives annotation files
 * that lack it the image size ({@link readImageSize}).
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** What the header says. `orientation` is EXIF's 1..8 (1 = as stored). */
export interface ImageHeader {
  format: 'jpeg' | 'png';
  width: number;
  height: number;
  /** Colour components (JPEG) or samples per pixel (PNG). */
  channels: number;
  /** Bits per sample. */
  depth: number;
  orientation: number;
}

function exifOrientation(b: Uint8Array, start: number, end: number): number {
  // "Exif\0\0" then a TIFF header.
  if (
    end - start < 14 ||
    b[start] !== 0x45 ||
    b[start + 1] !== 0x78 ||
    b[start + 2] !== 0x69 ||
    b[start + 3] !== 0x66
  )
    return 1;
  const t = start + 6;
  const le = b[t] === 0x49;
  const u16 = (p: number): number => (le ? b[p] | (b[p + 1] << 8) : (b[p] << 8) | b[p + 1]);
  const u32 = (p: number): number =>
    le
      ? (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 16777216
      : b[p] * 16777216 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  const ifd = t + u32(t + 4);
  if (ifd + 2 > end) return 1;
  const n = u16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > end) break;
    if (u16(e) === 0x0112) {
      const v = u16(e + 8);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

/** Parse a JPEG or PNG header; null for other formats or a header that does not parse. */
export function parseImageHeader(b: Uint8Array): ImageHeader | null {
  if (b.length >= 29 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const ctype = b[25];
    const channels =
      ctype === 0 ? 1 : ctype === 2 ? 3 : ctype === 3 ? 3 : ctype === 4 ? 2 : ctype === 6 ? 4 : 0;
    return {
      format: 'png',
      width: dv.getUint32(16),
      height: dv.getUint32(20),
      channels,
      depth: b[24],
      orientation: 1,
    };
  }
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let pos = 2;
  let orientation = 1;
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) return null;
    const marker = b[pos + 1];
    if (marker === 0xff) {
      pos++;
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      pos += 2;
      continue;
    }
    const len = (b[pos + 2] << 8) | b[pos + 3];
    if (marker === 0xe1)
      orientation = exifOrientation(b, pos + 4, Math.min(pos + 2 + len, b.length));
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (pos + 10 > b.length) return null;
      return {
        format: 'jpeg',
        depth: b[pos + 4],
        height: (b[pos + 5] << 8) | b[pos + 6],
        width: (b[pos + 7] << 8) | b[pos + 8],
        channels: b[pos + 9],
        orientation,
      };
    }
    if (marker === 0xda) return null;
    pos += 2 + len;
  }
  return null;
}

/** Size from the first bytes of a JPEG or PNG file (EXIF orientation not applied). */
export function headerSize(b: Buffer): { width: number; height: number } | null {
  const h = parseImageHeader(b);
  return h ? { width: h.width, height: h.height } : null;
}

/**
 * `{width, height}` from a JPEG or PNG header, or null when the header is not
 * understood (or the file cannot be opened). Reads at most the first 64 KiB.
 */
export function readImageSize(file: string): { width: number; height: number } | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(65536);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return headerSize(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}
