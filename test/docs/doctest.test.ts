/** The doc-test runner's own parser and checks (test/docs/doctest.ts). */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  analyze,
  compare,
  extractExamples,
  looksLikeValue,
  parseValue,
  runExample,
  type Example,
  type TensorLike,
} from './doctest.js';

const isTensor = (x: unknown): x is TensorLike => x instanceof tf.Tensor;

/** A source file with one example whose block is `lines`. */
function example(lines: string[]): Example {
  const text = ['/**', ' * Doubles.', ' *', ' * @example', ' * ```ts', ...lines.map((l) => ` * ${l}`), ' * ```', ' */', 'export const x = 1;'].join('\n');
  const [ex] = extractExamples('src/fake.ts', text);
  return ex;
}

const run = (lines: string[], scope: Record<string, unknown> = {}) => {
  const ex = example(lines);
  return runExample(ex, analyze(ex.code), { root: process.cwd(), scope: { tf, ...scope }, isTensor });
};

const match = (shown: string, actual: unknown) => compare(parseValue(shown).value, actual, isTensor);

describe('doc-test runner', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('extracts a block with its lines', () => {
    const ex = example(['const a = 1;', 'a + 1; // => 2']);
    expect(ex).toMatchObject({ file: 'src/fake.ts', line: 4, codeLine: 6, code: 'const a = 1;\na + 1; // => 2' });
  });

  it('reads shown values', () => {
    expect(match('Float32Array [-42, -29, 74, 61]', Float32Array.of(-42, -29, 74, 61))).toBeNull();
    expect(match('[[0.142857, 1]]', [[1 / 7, 1]])).toBeNull();
    expect(match('[[0.142857, 1]]', [[0.1428, 1]])).toMatch(/\[0\]\[0\]: expected 0.142857/);
    expect(match('{ keep: Int32Array [0, 1], scores: Float32Array [0.9, 0.4] } (linear)', {
      keep: Int32Array.of(0, 1),
      scores: Float32Array.of(0.9, 0.4),
    })).toBeNull();
    expect(match('{ a: 1 }', { a: 1, b: 2 })).toMatch(/unexpected keys b/);
    expect(match('{ a: 1, ... }', { a: 1, b: 2 })).toBeNull();
    expect(match('{ a, b }', { a: 1, b: 2 })).toBeNull();
    expect(match('Int32Array [0, 2]', [0, 2])).toMatch(/expected a Int32Array/);
    expect(match('1', 1.0000001)).toMatch(/expected 1, got/);
    expect(match('Float32Array [1]', Float32Array.of(1.0000001))).toBeNull();
    expect(match('Float32Array [-8, 0, 56]', Float32Array.of(-8, 1.5e-8, 56))).toBeNull();
    expect(match('Float32Array [-8, 0, 56]', Float32Array.of(-8, 1e-4, 56))).toMatch(/\[1\]/);
    expect(match("'a\\'b'", "a'b")).toBeNull();
    expect(match('[true, null, undefined, NaN]', [true, null, undefined, NaN])).toBeNull();
    expect(match('[1, 2, ...]', [1, 2, 3])).toBeNull();
    expect(match('Tensor { dtype: \'int32\', shape: [2], values: [1, 2] }', tf.tensor1d([1, 2], 'int32'))).toBeNull();
    expect(match('[[0.5]]', tf.tensor2d([[0.5]]))).toBeNull();
    expect(() => parseValue('[1, 2')).toThrow(/not closed/);
    expect(parseValue('3 (6 / 2)').rest).toBe('(6 / 2)');
  });

  it('flags unmarked comments that look like values', () => {
    expect(looksLikeValue(' [1, 2]')).toBe(true);
    expect(looksLikeValue(" 'resnet'")).toBe(true);
    expect(looksLikeValue(' Float32Array [1]')).toBe(true);
    expect(looksLikeValue(' ConfigError: bad')).toBe(true);
    expect(looksLikeValue(' Linear1 { cfg }', new Set(['Linear1']))).toBe(true);
    expect(looksLikeValue(' r = { missingKeys: [] }')).toBe(true);
    expect(looksLikeValue(" threads === 2, reason === 'x'")).toBe(true);
    expect(looksLikeValue(" name 'MyNeck'")).toBe(false);
    expect(looksLikeValue(' a gt centred at (40, 20)')).toBe(false);
    const a = analyze('f(1); // [2]\ng();\n// 3\nh(); // fine');
    expect(a.problems).toHaveLength(2);
    expect(a.checks).toHaveLength(0);
    // a marked output that does not follow its statement would go unchecked
    expect(analyze('f();\n// a remark\n// => 1').problems[0]).toMatch(/does not follow a statement/);
  });

  it('runs a passing example (values, multi-line values, declarations, throws, await)', async () => {
    await run(
      [
        'const t = tf.tensor1d([1, 2, 3]);',
        't.dataSync(); // => Float32Array [1, 2, 3]',
        'const n: number = 1 + 1; // => 2',
        'double({ a: 1 });',
        '// => { a: 1,',
        '//      b: [2, 4] }',
        'JSON.parse("{"); // throws SyntaxError: Expected property name...',
        'await Promise.resolve(0.1 + 0.2); // => 0.3 (float64: 0.30000000000000004)',
      ],
      { double: (o: { a: number }) => ({ ...o, b: [2, 4] }) },
    );
  });

  it('fails an example whose shown value is wrong, naming the file and line', async () => {
    await expect(run(['const a = [1, 2];', 'a.map((x) => x * 2); // => [2, 5]'])).rejects.toThrow(
      /src\/fake.ts:7: `a.map\(\(x\) => x \* 2\);`\n {2}expected: \[2, 5\]\n {2}actual: {3}\[2, 4\]/,
    );
  });

  it('fails an example whose error is not thrown or differs', async () => {
    await expect(run(['Math.max(1); // throws TypeError: x'])).rejects.toThrow(/actual: {3}no error/);
    await expect(run(['null.x; // throws RangeError'])).rejects.toThrow(/throws TypeError/);
  });

  it('fails an example with an unmarked shown value', async () => {
    await expect(run(['[1].length; // 1'])).rejects.toThrow(/looks like a shown value but is not marked/);
  });
});
