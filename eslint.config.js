import { readdirSync } from 'node:fs';
import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// No service imports another service: contracts (protos, subjects, clients, shared rules) live in
// libs/, and a test that needs another service runs it as a process from its dist (libs/stack's
// spawnService). So each folder under services/ gets a no-restricted-imports rule naming every
// other service's package, and refusing relative imports that leave the service's folder (libs
// are imported by package name). The relative check must know how deep a file sits, hence one
// block per depth; files deeper than DEEPEST fall back to the `**` block.
const SERVICES = readdirSync(path.join(import.meta.dirname, 'services'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
const SOURCES = '*.{ts,tsx,mts,cts,js,mjs,cjs}';
const DEEPEST = 6;

function serviceBoundary(service, depth, files) {
  const others = SERVICES.filter((name) => name !== service);
  const contracts = `services/${service} must not import another service: contracts live in libs/ (libs/proto, libs/events, libs/rpc-clients, …); a test runs another service as a process (spawnService from @switchboard/stack)`;
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: others.flatMap((name) => [`@switchboard/${name}`, `@switchboard/${name}/**`]),
              message: contracts,
            },
            {
              regex: `^(\\.\\./){${depth}}`,
              message: `this relative import leaves services/${service}/: import libs by their package name, never another service (contracts live in libs/)`,
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: `ImportExpression[source.value=/^@switchboard\\u002F(${others.join('|')})(\\u002F|$)/]`,
          message: contracts,
        },
      ],
    },
  };
}

const serviceBoundaries = SERVICES.flatMap((service) => [
  serviceBoundary(service, DEEPEST + 1, [`services/${service}/**/${SOURCES}`]),
  ...Array.from({ length: DEEPEST }, (_, index) =>
    serviceBoundary(service, index + 1, [`services/${service}/${'*/'.repeat(index)}${SOURCES}`]),
  ),
]);

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'libs/proto/src/gen/**', '.tools/**', '.infra/**', 'reports/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'error',
      eqeqeq: 'error',
    },
  },
  {
    files: ['scripts/**/*.{js,mjs}'],
    rules: { 'no-console': 'off' },
  },
  ...serviceBoundaries,
);
