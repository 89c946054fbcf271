/**
 * The public API is the set of names src/index.ts exports (values and types). A change to it is
 * deliberate: regenerate the list with `node scripts/list_exports.mjs > test/fixtures/public_exports.txt`
 * and say in the commit which names were added, renamed or removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

it('src/index.ts exports the names listed in test/fixtures/public_exports.txt', () => {
  const program = ts.createProgram([path.join(ROOT, 'src/index.ts')], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const entry = program.getSourceFile(path.join(ROOT, 'src/index.ts'))!;
  const names = checker
    .getExportsOfModule(checker.getSymbolAtLocation(entry)!)
    .map((s) => s.name)
    .sort();
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
