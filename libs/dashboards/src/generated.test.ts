import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dashboardSpecs, panelQueries, renderDashboards, renderRulesFile } from './index.js';

const CHART = fileURLToPath(new URL('../../../charts/switchboard/', import.meta.url));
const STALE = 'is stale: run `pnpm dashboards:generate` and commit the result';

describe('generated dashboards and rules', () => {
  it('match the files committed in the chart', () => {
    const rendered = renderDashboards();
    expect(readdirSync(join(CHART, 'dashboards')).sort()).toEqual([...rendered.keys()].sort());
    for (const [file, json] of rendered) {
      expect(readFileSync(join(CHART, 'dashboards', file), 'utf8'), `${file} ${STALE}`).toBe(json);
    }
    expect(readFileSync(join(CHART, 'rules', 'switchboard.rules.yaml'), 'utf8'), `rules ${STALE}`).toBe(
      renderRulesFile(),
    );
  });

  it('leave per-agent panels out unless asked for', () => {
    const hasPerAgent = (perAgent: boolean) =>
      panelQueries({ perAgent }).some((query) => query.expr.includes('presence_agent_state'));
    expect(hasPerAgent(false)).toBe(false);
    expect(hasPerAgent(true)).toBe(true);
    expect(renderDashboards().get('agents.json')).not.toContain('presence_agent_state');
  });

  it('export every panel query with the dashboard variables substituted', () => {
    const queries = panelQueries({ rateInterval: '30s', range: '10m' });
    const panels = dashboardSpecs().flatMap((spec) => spec.panels);
    expect(queries.length).toBe(panels.reduce((n, panel) => n + panel.queries.length, 0));
    for (const { expr } of queries) expect(expr).not.toMatch(/\$/);
    expect(queries.find((query) => query.panel === 'Restarts')?.expr).toBe(
      'sum by (job) (changes(process_start_time[10m]))',
    );
  });
});
