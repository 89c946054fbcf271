import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path of a file in test/fixtures/evaluation, or in ../shared/data/real for `real/...`. */
export function fixturePath(rel: string): string {
  if (rel.startsWith('real/'))
    return fileURLToPath(new URL(`../../../shared/data/${rel}`, import.meta.url));
  return fileURLToPath(new URL(`../fixtures/evaluation/${rel}`, import.meta.url));
}

export const hasReal = existsSync(fixturePath('real/SOURCES.md'));

export function readFixture(rel: string): any {
  return JSON.parse(readFileSync(fixturePath(rel), 'utf8'));
}
