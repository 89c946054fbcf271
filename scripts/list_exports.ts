/**
 * The public API: every name src/index.ts exports (values and types), sorted.
 * `npx tsx scripts/list_exports.ts > test/fixtures/public_exports.txt` writes
 * the list that test/core/public_exports.test.ts checks.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(import.meta.dirname, '..');

export function publicExports(): string[] {
  const entry = path.join(ROOT, 'src/index.ts');
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  return checker
    .getExportsOfModule(symbol)
    .map((s) => s.name)
    .sort();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(publicExports().join('\n'));
}
