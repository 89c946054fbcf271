/**
 * Loads every component folder of the library so that their classes are in
 * the registries before a config is built (what the tools do first). A
 * folder that is missing is skipped; one that fails to load is reported,
 * and its error is shown again if a config then names one of its types.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const FOLDERS = [
  'ops',
  'masks',
  'task_utils',
  'losses',
  'backbones',
  'necks',
  'classifiers',
  'heads',
  'roi_heads',
  'detectors',
  'segmentors',
  'datasets',
  'evaluation',
  'visualization',
];

/** Folder -> load error, for the folders that failed. */
export const componentLoadErrors = new Map<string, Error>();

/**
 * Imports `src/<folder>/index` for each component folder present.
 *
 * @example
 * ```ts
 * await registerAllModules();
 * MODELS.has('RetinaNet'); // => true
 * ```
 */
export async function registerAllModules(): Promise<string[]> {
  const loaded: string[] = [];
  for (const folder of FOLDERS) {
    const base = new URL(`../${folder}/`, import.meta.url);
    const file = ['index.ts', 'index.js'].find((f) =>
      fs.existsSync(fileURLToPath(new URL(f, base))),
    );
    if (!file) continue;
    try {
      await import(new URL(file, base).href);
      loaded.push(folder);
    } catch (e) {
      componentLoadErrors.set(folder, e as Error);
    }
  }
  return loaded;
}

/** A note naming the folders that failed to load, to append to an unknown-type error. */
export function componentLoadNote(): string {
  if (componentLoadErrors.size === 0) return '';
  return ` (note: ${[...componentLoadErrors].map(([f, e]) => `src/${f} failed to load: ${e.message.split('\n')[0]}`).join('; ')})`;
}
