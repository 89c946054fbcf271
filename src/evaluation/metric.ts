/**
 * The streaming metric interface (mmengine's `BaseMetric`): `process()` is
 * called once per batch with the model's outputs, `compute()` once at the end.
 */

/** Meta information of the data set a metric evaluates (mmengine's `dataset_meta`). */
export interface DatasetMeta {
  /** Class names, in label order. */
  classes?: readonly string[];
  [key: string]: unknown;
}

/** A streaming metric. */
export interface Metric<S = unknown> {
  datasetMeta?: DatasetMeta;
  /** Take one batch of outputs (`dataBatch` is accepted for interface parity and unused by these metrics). */
  process(dataBatch: unknown, dataSamples: readonly S[]): void;
  /** Metrics over everything processed since the last compute/reset; clears the collected results. */
  compute(): Record<string, number>;
  /** Drop collected results. */
  reset(): void;
}

/**
 * Rows `[N, k]` of a flat or nested numeric array.
 *
 * @example
 * ```ts
 * rowsOf([1, 2, 3, 4, 5, 6, 7, 8], 4, 'bboxes'); // => [[1, 2, 3, 4], [5, 6, 7, 8]]
 * ```
 */
export function rowsOf(
  a: ArrayLike<number> | readonly (readonly number[])[],
  k: number,
  what: string,
): number[][] {
  const n = (a as ArrayLike<unknown>).length;
  if (n === 0) return [];
  if (Array.isArray((a as ArrayLike<unknown>)[0])) {
    const rows = a as readonly (readonly number[])[];
    rows.forEach((r, i) => {
      if (r.length !== k)
        throw new TypeError(`${what}[${i}]: expected ${k} numbers, got ${r.length}`);
    });
    return rows.map((r) => [...r]);
  }
  const flat = a as ArrayLike<number>;
  if (n % k) throw new TypeError(`${what}: flat length ${n} is not a multiple of ${k}`);
  const out: number[][] = [];
  for (let i = 0; i < n; i += k) out.push(Array.from({ length: k }, (_, j) => flat[i + j]));
  return out;
}

/**
 * A plain-text table of per-class rows (what mmdetection/mmseg log with
 * AsciiTable); numbers are shown with `digits` decimals (columns of integers
 * as integers), NaN as `nan`.
 *
 * @example
 * ```ts
 * formatTable([{ class: 'cat', ap: 0.5 }, { class: 'dog', ap: NaN }], 3);
 * // => '| class | ap    |\n|-------|-------|\n| cat   | 0.500 |\n| dog   | nan   |'
 * ```
 */
export function formatTable(table: readonly object[], digits = 3): string {
  const rows = table as readonly Record<string, unknown>[];
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]);
  // columns of integers (counts) print as integers, other numbers with `digits` decimals
  const intCol = cols.map((c) =>
    rows.every((r) => typeof r[c] !== 'number' || Number.isInteger(r[c])),
  );
  const cell = (v: unknown, j: number) =>
    typeof v === 'number'
      ? Number.isNaN(v)
        ? 'nan'
        : intCol[j]
          ? String(v)
          : v.toFixed(digits)
      : String(v);
  const body = rows.map((r) => cols.map((c, j) => cell(r[c], j)));
  const widths = cols.map((c, j) => Math.max(c.length, ...body.map((b) => b[j].length)));
  const line = (cells: string[]) => `| ${cells.map((x, j) => x.padEnd(widths[j])).join(' | ')} |`;
  return [
    line(cols),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}

/**
 * Fails when a metric has predictions but no ground-truth box at all: every
 * score would be 0 (VOC) or -1 (COCO) without saying why. The usual cause is
 * a test pipeline without `LoadAnnotations` (or a data set in test mode that
 * drops its annotations) for a metric that reads the ground truth from the
 * samples.
 *
 * @example
 * ```ts
 * assertSomeGroundTruth('VOCMetric', 2, 3); // => undefined
 * assertSomeGroundTruth('VOCMetric', 2, 0);
 * // throws Error: VOCMetric: 2 samples with predictions but no ground-truth box in any of them (gtInstances, ignoredInstances and instances all empty or missing); add LoadAnnotations to the test pipeline, or give the metric an annFile
 * ```
 */
export function assertSomeGroundTruth(metric: string, samples: number, gtBoxes: number): void {
  if (samples > 0 && gtBoxes === 0)
    throw new Error(
      `${metric}: ${samples} samples with predictions but no ground-truth box in any of them (gtInstances, ignoredInstances and instances all empty or missing); add LoadAnnotations to the test pipeline, or give the metric an annFile`,
    );
}
