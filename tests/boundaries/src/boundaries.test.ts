import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

// The import boundary between services is an ESLint rule (eslint.config.js) that CI runs on the
// tree; these cases prove it still fires, with the project's real config, for every service folder
// and every kind of file in it, and that a service's package.json names no other service.
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SERVICES = readdirSync(new URL('services', `file://${REPO}`), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
const FILES = ['src/service.ts', 'src/service.test.ts', 'test/harness.ts', 'bench/load.ts', 'test/deep/fixture.mjs'];

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: REPO });
});

const BOUNDARY_RULES = ['no-restricted-imports', 'no-restricted-syntax'];

/** What the boundary rules report on `source` as the file `file` (other rules' findings left out). */
async function problems(file: string, source: string): Promise<Array<{ ruleId: string | null; message: string }>> {
  const [result] = await eslint.lintText(source, { filePath: `${REPO}${file}` });
  return result!.messages
    .filter(({ ruleId }) => BOUNDARY_RULES.includes(ruleId ?? ''))
    .map(({ ruleId, message }) => ({ ruleId, message }));
}

/** The `../` that lead from `file` (relative to its service folder) up to services/. */
const upToServices = (file: string) => '../'.repeat(file.split('/').length);

describe.each(SERVICES)('services/%s', (service) => {
  const others = SERVICES.filter((name) => name !== service);

  it.each(FILES)('%s: importing another service is an error that says contracts live in libs/', async (file) => {
    const imports = others.flatMap((other) => [
      `import { a } from '@switchboard/${other}';`,
      `import type { B } from '@switchboard/${other}/testing';`,
      `export { c } from '${upToServices(file)}${other}/src/index.js';`,
      `await import('@switchboard/${other}');`,
    ]);
    const found = await problems(`services/${service}/${file}`, imports.join('\n'));
    expect(found).toHaveLength(imports.length);
    for (const problem of found) expect(problem.message).toContain('libs/');
  });

  it('allows its own package, its own files and libraries by package name', async () => {
    const source = [
      `import { a } from '@switchboard/${service}';`,
      `import { b } from '@switchboard/events';`,
      `import { c } from '@switchboard/service-kit/testing';`,
      `import { d } from '../src/config.js';`,
      `export const all = [a, b, c, d];`,
    ].join('\n');
    expect(await problems(`services/${service}/test/harness.ts`, source)).toEqual([]);
  });

  it('reaches a library through its package, not a relative path out of the folder', async () => {
    const found = await problems(
      `services/${service}/src/service.ts`,
      `import { a } from '../../../libs/events/src/index.js';\nexport const b = a;`,
    );
    expect(found).toEqual([{ ruleId: 'no-restricted-imports', message: expect.stringContaining('libs/') }]);
  });

  it('names no other service in its package.json, so its image holds only itself', () => {
    const manifest = JSON.parse(readFileSync(`${REPO}services/${service}/package.json`, 'utf8')) as Record<
      string,
      Record<string, string> | undefined
    >;
    const named = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'].flatMap((section) =>
      Object.keys(manifest[section] ?? {}),
    );
    expect(named.filter((name) => others.some((other) => name === `@switchboard/${other}`))).toEqual([]);
  });
});
