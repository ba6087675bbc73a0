import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { alertRules, panelQueries } from '@switchboard/dashboards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type Prometheus } from './prometheus.js';

const RULES = fileURLToPath(new URL('../../../charts/switchboard/rules/switchboard.rules.yaml', import.meta.url));

let prometheus: Prometheus;

beforeAll(async () => {
  // No targets: this file checks the rules and the dashboards' PromQL, not data.
  prometheus = await startPrometheus({ targets: [], ruleFiles: [RULES] });
});

afterAll(async () => {
  await prometheus?.stop();
});

describe('alert rules and dashboard queries against Prometheus 2.42', () => {
  it('pass promtool check rules', async () => {
    const { stdout } = await promisify(execFile)('promtool', ['check', 'rules', RULES]);
    expect(stdout).toContain(`SUCCESS: ${alertRules.length} rules found`);
  });

  it('load into a running Prometheus and evaluate without errors', async () => {
    const expected = alertRules.map((rule) => rule.alert).sort();
    const deadline = Date.now() + 30_000;
    let rules = await prometheus.rules();
    // Health is "unknown" until a rule's first evaluation (1 s interval).
    while (rules.some((rule) => rule.health !== 'ok') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      rules = await prometheus.rules();
    }
    expect(rules.map((rule) => rule.name).sort()).toEqual(expected);
    expect(rules.filter((rule) => rule.health !== 'ok')).toEqual([]);
  });

  it('parse every dashboard expression, per-agent panels included', async () => {
    const failures: string[] = [];
    for (const query of panelQueries({ perAgent: true })) {
      await prometheus.query(query.expr).catch((error: Error) => failures.push(`${query.panel}: ${error.message}`));
    }
    expect(failures).toEqual([]);
  });

  it('rejects an invalid expression with its error', async () => {
    await expect(prometheus.query('sum by (')).rejects.toThrow(/bad_data/);
  });
});
