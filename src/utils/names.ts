/** Helpers for "did you mean" hints in error messages. */

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/**
 * The names in `candidates` closest to `name` (case-insensitive edit distance,
 * at most a third of the name's length, or a shared prefix/substring).
 *
 * @example
 * ```ts
 * closestNames('ResNt', ['ResNet', 'ResNeXt', 'VGG']); // => ['ResNet', 'ResNeXt']
 * ```
 */
export function closestNames(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const lower = name.toLowerCase();
  const scored: [number, string][] = [];
  for (const c of candidates) {
    const cl = c.toLowerCase();
    const d = editDistance(lower, cl);
    const related = cl.includes(lower) || lower.includes(cl);
    if (d <= Math.max(2, Math.ceil(name.length / 3)) || related)
      scored.push([related ? Math.min(d, 1) : d, c]);
  }
  scored.sort((x, y) => x[0] - y[0] || x[1].localeCompare(y[1]));
  return scored.slice(0, limit).map(([, c]) => c);
}
