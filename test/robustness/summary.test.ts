/**
 * Loads every table of the bad-input suite and prints the counts; checks ids
 * are unique and every case names its issue item and outcome. The cases themselves run in `<area>.test.ts`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import type { RobustCase } from './harness.js';

it('the bad-input suite’s cases have unique ids, each a clear error or a correct result', async () => {
  const dir = import.meta.dirname;
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cases.ts'))
    .sort();
  const rows: { area: string; cases: number; errors: number; results: number }[] = [];
  const ids = new Set<string>();
  for (const f of files) {
    const mod = (await import(path.join(dir, f))) as { default: RobustCase[] };
    const cases = mod.default;
    for (const c of cases) {
      expect(ids.has(c.id), `duplicate case id ${c.id}`).toBe(false);
      ids.add(c.id);
      expect(['clear-error', 'correct-result']).toContain(c.expect);
      expect(c.item).toMatch(/^(\d+|pass)$/);
    }
    rows.push({
      area: f.replace(/\.cases\.ts$/, ''),
      cases: cases.length,
      errors: cases.filter((c) => c.expect === 'clear-error').length,
      results: cases.filter((c) => c.expect === 'correct-result').length,
    });
  }
  const total = rows.reduce(
    (a, r) => ({
      cases: a.cases + r.cases,
      errors: a.errors + r.errors,
      results: a.results + r.results,
    }),
    { cases: 0, errors: 0, results: 0 },
  );
  const w = Math.max(4, ...rows.map((r) => r.area.length));
  const row = (area: string, r: { cases: number; errors: number; results: number }) =>
    `${area.padEnd(w)} ${String(r.cases).padStart(5)}  ${String(r.errors).padStart(12)}  ${String(r.results).padStart(15)}`;
  const lines = [
    `${'area'.padEnd(w)} cases  clear errors  correct results`,
    ...rows.map((r) => row(r.area, r)),
    row('all', total),
  ];
  console.log(lines.join('\n'));
  console.log(JSON.stringify({ robustness: total }));
  expect(total.cases).toBeGreaterThanOrEqual(100);
  expect(total.cases).toBe(total.errors + total.results);
});
