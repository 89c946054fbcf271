/** The stable sorts of the evaluation (numpy mergesort order), on typed arrays. */

/** Stable counting sort of `n` items by integer key in `[0, nKeys)`: returns order and offsets. */
export function bucket(keys: Int32Array, nKeys: number): { order: Int32Array; off: Int32Array } {
  const off = new Int32Array(nKeys + 1);
  for (let i = 0; i < keys.length; i++) if (keys[i] >= 0) off[keys[i] + 1]++;
  for (let k = 0; k < nKeys; k++) off[k + 1] += off[k];
  const pos = off.slice(0, nKeys);
  const order = new Int32Array(off[nKeys]);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k >= 0) order[pos[k]++] = i;
  }
  return { order, off };
}

/** Stable in-place sort of detection indices by descending score (insertion sort; lists are short). */
export function stableSortByScoreDesc(list: number[], score: Float64Array): void {
  if (list.length > 64) {
    const keys = Float64Array.from(list, (d) => score[d]);
    const out = new Int32Array(list.length);
    argsortDescStable(keys, list.length, out, new Int32Array(list.length));
    const copy = list.slice();
    for (let q = 0; q < list.length; q++) list[q] = copy[out[q]]!;
    return;
  }
  for (let i = 1; i < list.length; i++) {
    const v = list[i];
    const sv = score[v];
    let j = i - 1;
    while (j >= 0 && score[list[j]] < sv) {
      list[j + 1] = list[j]!;
      j--;
    }
    list[j + 1] = v;
  }
}

/**
 * Stable argsort of `keys[0..n)` by descending value (numpy
 * `argsort(-keys, kind='mergesort')`): bottom-up merge sort into `out`,
 * `work` a scratch buffer of at least `n`.
 */
export function argsortDescStable(
  keys: Float64Array,
  n: number,
  out: Int32Array,
  work: Int32Array,
): void {
  let src = out;
  let dst = work;
  for (let i = 0; i < n; i++) src[i] = i;
  // insertion sort runs of 16
  for (let lo = 0; lo < n; lo += 16) {
    const hi = Math.min(lo + 16, n);
    for (let i = lo + 1; i < hi; i++) {
      const v = src[i];
      const kv = keys[v];
      let j = i - 1;
      while (j >= lo && keys[src[j]] < kv) {
        src[j + 1] = src[j]!;
        j--;
      }
      src[j + 1] = v;
    }
  }
  for (let width = 16; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let o = lo;
      while (i < mid && j < hi) {
        // take from the right only when strictly larger: stable
        if (keys[src[j]] > keys[src[i]]) dst[o++] = src[j++]!;
        else dst[o++] = src[i++]!;
      }
      while (i < mid) dst[o++] = src[i++]!;
      while (j < hi) dst[o++] = src[j++]!;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== out) out.set(src.subarray(0, n));
}
