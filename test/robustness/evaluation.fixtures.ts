/**
 * Generated COCO ground truths and results for the evaluation cases
 * (evaluation.cases.ts, evaluation_metrics.cases.ts), and a runner of
 * tools/eval_coco.ts that parses its `--json` line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { runTool, tmpDir, type ToolResult } from './harness.js';

/** The 12 numbers of `--json`, by name. */
export type CocoStats = Record<
  'AP' | 'AP50' | 'AP75' | 'APs' | 'APm' | 'APl' | 'AR1' | 'AR10' | 'AR100' | 'ARs' | 'ARm' | 'ARl',
  number
>;

/** A regex source matching `s` literally. */
export const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Writes `value` as JSON (a string as it is) to `<dir>/<name>` and returns the path. */
export function writeJson(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

/** A square polygon `[x, y, w, h]` as COCO writes it. */
const poly = (x: number, y: number, s: number): number[][] => [
  [x, y, x + s, y, x + s, y + s, x, y + s],
];

/**
 * Two 10x10 images (ids 1, 2), one 4x4 box each (with its polygon), one
 * category (id 1): every box small, so APm/APl/ARm/ARl are -1.
 */
export function cocoGt(): {
  images: Record<string, unknown>[];
  annotations: Record<string, unknown>[];
  categories: { id: number; name: string }[];
} {
  return {
    images: [
      { id: 1, width: 10, height: 10, file_name: 'a.png' },
      { id: 2, width: 10, height: 10, file_name: 'b.png' },
    ],
    annotations: [
      {
        id: 1,
        image_id: 1,
        category_id: 1,
        bbox: [0, 0, 4, 4],
        area: 16,
        iscrowd: 0,
        segmentation: poly(0, 0, 4),
      },
      {
        id: 2,
        image_id: 2,
        category_id: 1,
        bbox: [2, 2, 4, 4],
        area: 16,
        iscrowd: 0,
        segmentation: poly(2, 2, 4),
      },
    ],
    categories: [{ id: 1, name: 'cat' }],
  };
}

/** The results that match {@link cocoGt} exactly (box and polygon). */
export function perfectResults(): Record<string, unknown>[] {
  return [
    { image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], segmentation: poly(0, 0, 4), score: 0.9 },
    { image_id: 2, category_id: 1, bbox: [2, 2, 4, 4], segmentation: poly(2, 2, 4), score: 0.8 },
  ];
}

/** One detection per image, matching the box of {@link cocoGt}. */
export function perfectBoxes(): Record<string, unknown>[] {
  return perfectResults().map(({ segmentation: _s, ...r }) => r);
}

export interface EvalRun extends ToolResult {
  gt: string;
  dt: string;
  /** The parsed `--json` line (undefined when the tool failed). */
  stats?: CocoStats;
}

/** Writes `gt` and `dt` (objects, or text as it is) to a fresh dir and runs eval_coco on them with `--json`. */
export async function evalCoco(
  tag: string,
  gt: unknown,
  dt: unknown,
  extra: string[] = [],
): Promise<EvalRun> {
  const dir = tmpDir(`eval-${tag}`);
  const gtFile = writeJson(dir, 'gt.json', gt);
  const dtFile = writeJson(dir, 'results.json', dt);
  const r = await runTool('eval_coco', ['--gt', gtFile, '--dt', dtFile, '--json', ...extra]);
  const last = r.out.trimEnd().split('\n').pop() ?? '';
  const stats = r.code === 0 ? (JSON.parse(last) as CocoStats) : undefined;
  return { ...r, gt: gtFile, dt: dtFile, stats };
}

/** Exit 1, nothing on stdout, and exactly `Error: <message>` on stderr. */
export function expectFailure(r: ToolResult, message: string | RegExp, code = 1): void {
  expect(r.code).toBe(code);
  expect(r.out).toBe('');
  if (typeof message === 'string') expect(r.err).toBe(`Error: ${message}\n`);
  else expect(r.err).toMatch(message);
}

/** The `--json` numbers of a run where every box is small: `ap` for AP, AP50, AP75, APs and `ar` for the ARs. */
export function smallOnly(ap: number, ar: number, ap50 = ap, ap75 = ap): CocoStats {
  return {
    AP: ap,
    AP50: ap50,
    AP75: ap75,
    APs: ap,
    APm: -1,
    APl: -1,
    AR1: ar,
    AR10: ar,
    AR100: ar,
    ARs: ar,
    ARm: -1,
    ARl: -1,
  };
}

/** The warning line eval_coco prints for one kind of problem of `file`. */
export const warning = (file: string, line: string): string =>
  `Warning: ${file}: ${line} (scored as pycocotools does; --strict rejects it)`;
