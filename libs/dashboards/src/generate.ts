// `pnpm dashboards:generate [--per-agent --out-dir <dir>]`: writes the dashboards and the alert
// rules into the chart. Per-agent dashboards go to a directory of the operator's choosing, never
// into the chart: shipping them is a site's decision (see spec.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderDashboards, renderRulesFile } from './index.js';

export const CHART_DIR = fileURLToPath(new URL('../../../charts/switchboard/', import.meta.url));
export const DASHBOARD_DIR = join(CHART_DIR, 'dashboards');
export const RULES_FILE = join(CHART_DIR, 'rules', 'switchboard.rules.yaml');

const { values } = parseArgs({
  options: { 'per-agent': { type: 'boolean', default: false }, 'out-dir': { type: 'string' } },
});
const perAgent = values['per-agent'] ?? false;
if (perAgent && !values['out-dir']) {
  process.stderr.write('--per-agent needs --out-dir: per-agent dashboards are not shipped in the chart\n');
  process.exit(2);
}
const dashboardDir = values['out-dir'] ?? DASHBOARD_DIR;
mkdirSync(dashboardDir, { recursive: true });
for (const [file, json] of renderDashboards({ perAgent })) writeFileSync(join(dashboardDir, file), json);
if (!values['out-dir']) {
  mkdirSync(join(CHART_DIR, 'rules'), { recursive: true });
  writeFileSync(RULES_FILE, renderRulesFile());
}
process.stdout.write(`dashboards written to ${dashboardDir}\n`);
