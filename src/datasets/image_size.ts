/**
 * Read an image's size from its header synchronously (JPEG SOF, PNG IHDR),
 * for annotation files that lack it. Reads at most the first 64 KiB.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** `{width, height}` from a JPEG or PNG header, or null when the header is not understood. */
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

/** Size from the first bytes of a JPEG or PNG file (EXIF orientation not applied). */
export function headerSize(b: Buffer): { width: number; height: number } | null {
  if (b.length >= 24 && b[0] === 0x89 && b.toString('ascii', 1, 4) === 'PNG') {
    return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let pos = 2;
    while (pos + 9 < b.length) {
      if (b[pos] !== 0xff) return null;
      const marker = b[pos + 1]!;
      if (marker === 0xff) {
        pos++;
        continue;
      }
      const len = b.readUInt16BE(pos + 2);
      // SOF0..SOF15 except DHT (c4), JPG (c8), DAC (cc).
      if (
        marker >= 0xc0 &&
        marker <= 0xcf &&
        marker !== 0xc4 &&
        marker !== 0xc8 &&
        marker !== 0xcc
      ) {
        return { height: b.readUInt16BE(pos + 5), width: b.readUInt16BE(pos + 7) };
      }
      pos += 2 + len;
    }
  }
  return null;
}
