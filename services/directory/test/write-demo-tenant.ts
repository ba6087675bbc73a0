// `pnpm demo:directory`: rewrites demo/amt-kropp.yaml from test/demo-tenant.ts.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderDemoTenant } from './demo-tenant.js';

const out = fileURLToPath(new URL('../demo/amt-kropp.yaml', import.meta.url));
await writeFile(out, renderDemoTenant());
process.stdout.write(`wrote ${out}\n`);
