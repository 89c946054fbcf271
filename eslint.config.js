import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'docs/**', 'node_modules/**', 'work_dirs/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'off',
      // Walking a parent chain starts from `this`.
      '@typescript-eslint/no-this-alias': 'off',
    },
  },
  {
    // An assertion (`x!`, `x as T`) that changes no type checks nothing; the ones left mean
    // something. tfjs' tensor casts pick a generic's type argument (`tf.cast(x) as tf.Tensor2D`),
    // which the rule would have spelled `tf.cast<tf.Tensor2D>`: they are left as they are.
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unnecessary-type-assertion': [
        'error',
        {
          typesToIgnore: [
            'tf.Scalar',
            'tf.Tensor',
            'tf.Tensor1D',
            'tf.Tensor2D',
            'tf.Tensor3D',
            'tf.Tensor4D',
            'Tensor',
          ],
        },
      ],
    },
  },
  {
    // Files that do one thing: the library's files and functions stay short enough to read whole.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 500, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': [
        'error',
        { max: 120, skipBlankLines: false, skipComments: false, IIFEs: true },
      ],
    },
  },
);
