/**
 * Runs the `@example` blocks of src/ as tests (one `it` per block, named
 * `src/path.ts:LINE`, the line of the `@example` tag).
 *
 * Convention for shown outputs (docs/doc_tests.md has the details):
 *
 * ```ts
 * expr;              // => value     (or on the next line: `// => value`)
 * const x = expr;    // => value     (the value of x)
 * stmt;              // throws ErrorName: message
 * ```
 *
 * - Values: JS-like literals: numbers, 'strings', true/false/null/undefined,
 *   NaN, [arrays], { key: value } objects (exactly the keys listed; `...`
 *   allows more; a key without a value is only required to exist), typed
 *   arrays `Float32Array [1, 2]`, class instances `Name { field: value }`,
 *   classes `class Name`. A tensor is compared by its values, or as
 *   `Tensor { dtype: 'int32', shape: [2], values: [1, 2] }`.
 * - Numbers match to the precision shown: `0.142857` within 5e-7, an integer
 *   exactly, plus 2^-23 of the largest value of the array for float32 data
 *   (Float32Array, float32 tensors), and a relative 2^-53 otherwise.
 * - A remark in parentheses after the value is ignored: `// => 3 (6 / 2)`.
 * - A value may continue on the following comment lines while it is open.
 * - `throws`: the error's name or class must be ErrorName and its message the
 *   text after the colon (`...` in it stands for any text).
 *
 * The scope of a block holds `tf` (tfjs-core), every export of src/index.ts
 * and every export of the block's own module; `import` lines are honoured.
 * Blocks run on the wasm backend (DOCTEST_BACKEND=cpu: cpu), from the repo root. A block that shows no
 * output is skipped; a block with an unmarked comment that looks like a value
 * (`// [1, 2]` after a statement) fails, so that no output is shown unchecked.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, it } from 'vitest';
import * as api from '../../src/index.js';
import { analyze, collectExamples, missingData, runExample, type TensorLike } from './doctest.js';

const root = fileURLToPath(new URL('../../', import.meta.url));


/** wasm runs the convolutions of the backbone examples several times faster than cpu. */
const BACKEND = process.env.DOCTEST_BACKEND ?? 'wasm';

const isTensor = (x: unknown): x is TensorLike => x instanceof tf.Tensor;

/** Exported class names (so that `// MyClass { ... }` counts as a shown value). */
const classNames = new Set(
  Object.entries(api)
    .filter(([, v]) => typeof v === 'function' && /^class\b/.test(Function.prototype.toString.call(v)))
    .map(([k]) => k),
);

const examples = collectExamples(root);
const counts = { total: examples.length, run: 0, checks: 0, noOutput: 0, noData: 0 };

describe('@example blocks of src/', () => {
  beforeAll(async () => {
    await tf.setBackend(BACKEND);
    await tf.ready();
  });
  afterAll(() => {
    console.log(
      `doc examples: ${counts.total} blocks, ${counts.run} run with ${counts.checks} checked outputs, ` +
        `${counts.noOutput} without shown output (skipped), ${counts.noData} skipped for missing data`,
    );
  });

  for (const ex of examples) {
    const name = `${ex.file}:${ex.line}`;
    const a = analyze(ex.code, classNames);
    if (!ex.error && !a.problems.length && a.checks.length === 0) {
      counts.noOutput++;
      it.skip(`${name} (no shown output)`, () => {});
      continue;
    }
    const missing = missingData(root, a);
    if (missing.length && !a.problems.length) {
      counts.noData++;
      it.skip(`${name} (skipped: needs ${missing.join(', ')}, which is absent)`, () => {});
      continue;
    }
    counts.run++;
    counts.checks += a.checks.length;
    it(name, async () => {
      const own = (await import(pathToFileURL(join(root, ex.file)).href)) as Record<string, unknown>;
      const scope = { ...api, ...own, tf } as Record<string, unknown>;
      tf.engine().startScope();
      try {
        await runExample(ex, a, { root, scope, isTensor });
      } finally {
        tf.engine().endScope();
      }
    });
  }
});
