// Lint: type-aware rules (an un-awaited sync silently reorders durability) and the folder
// dependency direction of ARCHITECTURE.md section 1, enforced here rather than by hope.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const harness = ['fault', 'model', 'recovery', 'targets', 'properties', 'mutants', 'api', 'cli', 'bench'];
const forbid = (folders) => ({
  'no-restricted-imports': ['error', {
    patterns: folders.map((folder) => ({
      group: [`**/${folder}/*`, `**/${folder}`],
      message: `ARCHITECTURE.md section 1: this folder may not import from ${folder}/.`,
    })),
  }],
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.crashlab/**', 'bench/peers/node_modules/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['eslint.config.js', 'examples/**/*.js', 'scripts/**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['scripts/**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', performance: 'readonly' } } },
  { files: ['examples/**/*.js'], languageOptions: { globals: { Buffer: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly' } } },
  // engine/ is the bottom layer: it imports nothing of ours from above.
  { files: ['engine/**/*.ts'], rules: forbid([...harness, 'test']) },
  // fault/ sees only engine's interfaces; model/ imports nothing of ours.
  { files: ['fault/**/*.ts'], rules: forbid(['model', 'recovery', 'targets', 'properties', 'mutants', 'api', 'cli', 'bench', 'test']) },
  { files: ['model/**/*.ts'], rules: forbid(['engine', 'fault', 'recovery', 'targets', 'properties', 'mutants', 'api', 'cli', 'bench', 'test']) },
  { files: ['recovery/**/*.ts'], rules: forbid(['targets', 'properties', 'mutants', 'api', 'cli', 'bench', 'test']) },
  // targets/ adapts outside engines to the harness: it sees the storage layer, not the campaign.
  { files: ['targets/**/*.ts'], rules: forbid(['properties', 'mutants', 'api', 'cli', 'bench', 'test']) },
  // api/ is the public face: it re-exports from below and is imported by nothing of ours but cli/.
  { files: ['api/**/*.ts'], rules: forbid(['cli', 'bench', 'test']) },
  { files: ['properties/**/*.ts'], rules: forbid(['mutants', 'api', 'cli', 'bench', 'test']) },
  // mutants/ plants bugs in copies of the engine and hunts them with the properties: above properties/, below cli/.
  { files: ['mutants/**/*.ts'], rules: forbid(['api', 'cli', 'bench', 'test']) },
);
