/**
 * The public API is the set of names src/index.ts exports (values and types). A change to it is
 * deliberate: regenerate the list with `npx tsx scripts/list_exports.ts > test/fixtures/public_exports.txt`
 * and say in the commit which names were added, renamed or removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { publicExports } from '../../scripts/list_exports.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

it('src/index.ts exports the names listed in test/fixtures/public_exports.txt', () => {
  const names = publicExports();
  const listed = fs
    .readFileSync(path.join(ROOT, 'test/fixtures/public_exports.txt'), 'utf8')
    .split('\n')
    .filter(Boolean);
  expect(
    names.filter((n) => !listed.includes(n)),
    'exported but not listed',
  ).toEqual([]);
  expect(
    listed.filter((n) => !names.includes(n)),
    'listed but no longer exported',
  ).toEqual([]);
  expect(names.length).toBeGreaterThan(500);
});
