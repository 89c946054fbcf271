/**
 * docs/architecture.md is the description of the house: every folder of src/ appears in it, no
 * folder that is gone does, and its "may import" table is the import graph the code keeps.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceFiles } from './doctest.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DOC = fs.readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');

function srcFolders(dir = path.join(ROOT, 'src')): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = path.join(dir, e.name);
    out.push(path.relative(ROOT, p).split(path.sep).join('/') + '/', ...srcFolders(p));
  }
  return out;
}

/** The part of src/ a file belongs to: its top folder, or the root file's stem (`registry`). */
function partOf(file: string): string {
  const rel = path.relative(path.join(ROOT, 'src'), file).split(path.sep);
  return rel.length > 1 ? rel[0] : rel[0].replace(/\.[jt]s$/, '');
}

/** `| \`part\` | a, b, c |` rows under the heading "What each part may import". */
function allowedImports(): Map<string, Set<string>> {
  const start = DOC.indexOf('## What each part may import');
  expect(start, 'docs/architecture.md has a "## What each part may import" section').toBeGreaterThan(-1);
  const section = DOC.slice(start).split(/\n## /)[0];
  const rules = new Map<string, Set<string>>();
  for (const m of section.matchAll(/^\|\s*`([\w]+)`\s*\|([^|]*)\|/gm)) {
    const deps = m[2].split(',').map((s) => s.replace(/[`\s]/g, '')).filter((s) => s && s !== '—');
    rules.set(m[1], new Set(deps));
  }
  return rules;
}

describe('docs/architecture.md', () => {
  it('names every folder of src/, and no folder that is gone', () => {
    const named = new Set([...DOC.matchAll(/`(src\/[\w/]+\/)`/g)].map((m) => m[1]));
    const real = srcFolders();
    expect(real.filter((f) => !named.has(f)), 'folders of src/ missing from the doc').toEqual([]);
    expect(
      [...named].filter((f) => !fs.existsSync(path.join(ROOT, f))),
      'folders the doc names that do not exist',
    ).toEqual([]);
  });

  it('is linked from the README', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme.includes('(docs/architecture.md)'), 'README links docs/architecture.md').toBe(true);
  });

  it('states what each part may import, and the code keeps to it', () => {
    const rules = allowedImports();
    const broken: string[] = [];
    const parts = new Set<string>();
    for (const file of sourceFiles(ROOT).map((f) => path.join(ROOT, f))) {
      const from = partOf(file);
      parts.add(from);
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
        const to = partOf(path.resolve(path.dirname(file), m[1]));
        if (to === from || from === 'index') continue;
        if (!rules.get(from)?.has(to)) broken.push(`${path.relative(ROOT, file)} imports ${to} (${m[1]})`);
      }
    }
    expect([...parts].filter((p) => p !== 'index' && !rules.has(p)), 'parts with no row').toEqual([]);
    expect(broken, 'imports the table does not allow').toEqual([]);
  });
});
