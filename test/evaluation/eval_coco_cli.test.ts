import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixturePath, readFixture } from './helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsx = join(root, 'node_modules/tsx/dist/cli.mjs');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [tsx, join(root, 'tools/eval_coco.ts'), ...args], {
    encoding: 'utf8',
  });
const dir = mkdtempSync(join(tmpdir(), 'tfdet-evalcli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tools/eval_coco.ts', () => {
  it('prints pycocotools lines and, with --json, a JSON last line', () => {
    const c = readFixture('coco_expected.json').find((x: any) => x.name === 'synth segm');
    const r = run(
      '--gt',
      fixturePath('coco_synth_gt.json'),
      '--dt',
      fixturePath('coco_synth_dt_segm.json'),
      '--iou-type',
      'segm',
      '--json',
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 12)).toEqual(c.lines);
    const j = JSON.parse(lines[lines.length - 1]);
    expect(Object.keys(j)).toEqual([
      'AP',
      'AP50',
      'AP75',
      'APs',
      'APm',
      'APl',
      'AR1',
      'AR10',
      'AR100',
      'ARs',
      'ARm',
      'ARl',
    ]);
    Object.values(j).forEach((v, i) =>
      expect(Math.abs((v as number) - c.stats[i])).toBeLessThanOrEqual(1e-9),
    );
  });

  it('bad files get an error naming the file and the JSON path', () => {
    const bad = join(dir, 'bad_dt.json');
    writeFileSync(
      bad,
      JSON.stringify([
        { image_id: 100, category_id: 1, bbox: [0, 0, 1, 1], score: 0.5 },
        { image_id: 100, category_id: 1, bbox: [0, 0, 1, 1], score: 'high' },
      ]),
    );
    const r = run('--gt', fixturePath('coco_synth_gt.json'), '--dt', bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}: [1].score: expected number`);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"images": [');
    const r2 = run('--gt', broken, '--dt', bad);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain(`${broken}: (root): expected valid JSON`);
    const r3 = run('--gt', fixturePath('coco_synth_gt.json'));
    expect(r3.status).toBe(2);
    expect(r3.stderr).toContain('--dt is required');
  });
});
