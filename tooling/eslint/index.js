// Shared flat config. Libraries (packages/*) never print and never read the
// environment: apps own configuration and logging (see STYLE.md).
import tseslint from 'typescript-eslint';

const ignores = { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', '**/coverage/**'] };

const base = [
  ignores,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Enums are not erasable syntax; use a union of literals.' },
        { selector: 'TSParameterProperty', message: 'Parameter properties are not erasable syntax.' },
      ],
      eqeqeq: ['error', 'always'],
    },
  },
];

/** Lint config for apps, e2e and tooling. */
export const app = base;

/** Lint config for libraries under packages/: no console, no process.env. */
export const library = [
  ...base,
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-console': 'error',
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Libraries take options; apps read the environment.' },
      ],
    },
  },
];

export default base;
