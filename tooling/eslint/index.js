// Shared flat config. Libraries (packages/*) never print and never read the
// environment: apps own configuration and logging (see STYLE.md).
import tseslint from 'typescript-eslint';

const ignores = { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', '**/coverage/**'] };

// Rules that need type information (typescript-eslint's project service: each file is
// checked with the tsconfig.json that includes it). A promise nobody awaits or handles
// fails silently, or crashes the process on rejection; a promise where a boolean or a
// void callback is expected runs the wrong branch or loses its rejection.
const typed = {
  languageOptions: {
    parserOptions: {
      projectService: { allowDefaultProject: ['vitest.config.ts', 'eslint.config.js'] },
      tsconfigRootDir: process.cwd(),
    },
  },
  rules: {
    '@typescript-eslint/no-floating-promises': 'error',
    '@typescript-eslint/no-misused-promises': 'error',
    '@typescript-eslint/await-thenable': 'error',
  },
};

const base = [
  ignores,
  ...tseslint.configs.recommended,
  typed,
  // Plain JavaScript (configs) has no types to check.
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
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
