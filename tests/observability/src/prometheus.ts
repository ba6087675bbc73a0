// Starts Debian's `prometheus` (2.42, installed by scripts/bootstrap) for tests: loopback, a free
// port, a throw-away TSDB, 1 s scrapes. Tests hand it the services' /metrics addresses and the
// rules file, then query it as Grafana would.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface ScrapeTarget {
  /** Becomes the `job` label, as a ServiceMonitor names it after the service. */
  readonly job: string;
  /** `host:port` serving `/metrics`. */
  readonly address: string;
}

export interface PrometheusOptions {
  readonly targets: readonly ScrapeTarget[];
  /** Rules files to load (e.g. charts/switchboard/rules/switchboard.rules.yaml). */
  readonly ruleFiles?: readonly string[];
  /** Scrape and rule evaluation interval; default 1 s. */
  readonly intervalSeconds?: number;
  /** Defaults to `prometheus` on PATH; `PROMETHEUS_BIN` overrides. */
  readonly binary?: string;
}

/** One series of an instant query result. */
export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface RuleState {
  readonly group: string;
  readonly name: string;
  readonly type: 'alerting' | 'recording';
  readonly health: string;
  readonly lastError?: string;
  readonly state?: string;
}

export interface Prometheus {
  readonly url: string;
  /** Instant query; rejects with Prometheus' error text when the expression is invalid. */
  query(expr: string): Promise<Sample[]>;
  /** Polls `query` until it returns at least one series (Prometheus cannot notify). */
  queryUntilData(expr: string, timeoutMs?: number): Promise<Sample[]>;
  /** Every loaded rule with its health (`ok` after its first evaluation). */
  rules(): Promise<RuleState[]>;
  /** job → whether every target of that job was up at its last scrape. */
  targetsUp(): Promise<Record<string, boolean>>;
  /** Waits until every target has been scraped and is up. */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function poll<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await attempt();
      if (result !== undefined) return result;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    }
    await sleep(250);
  }
}

interface ApiResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
  errorType?: string;
}

export async function startPrometheus(options: PrometheusOptions): Promise<Prometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'sb-prometheus-'));
  const interval = `${options.intervalSeconds ?? 1}s`;
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: [...(options.ruleFiles ?? [])],
    scrape_configs: [...new Set(options.targets.map((target) => target.job))].map((job) => ({
      job_name: job,
      static_configs: [{ targets: options.targets.filter((target) => target.job === job).map((t) => t.address) }],
    })),
  };
  await writeFile(join(dir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    child = spawn(
      options.binary ?? process.env['PROMETHEUS_BIN'] ?? 'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = once(child, 'exit').then(() => {
      throw new Error(`prometheus exited during start:\n${output}`);
    });
    exited.catch(() => undefined);
    await Promise.race([
      exited,
      poll('prometheus to be ready', 30_000, async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined)),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }

  async function api<T>(path: string): Promise<T> {
    const body = (await (await fetch(`${url}${path}`)).json()) as ApiResponse<T>;
    if (body.status !== 'success') throw new Error(`${path}: ${body.errorType ?? 'error'}: ${body.error ?? ''}`);
    return body.data;
  }

  const query = async (expr: string): Promise<Sample[]> => {
    const data = await api<{ resultType: string; result: unknown }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (data.resultType === 'scalar') {
      const [, value] = data.result as [number, string];
      return [{ metric: {}, value: Number(value) }];
    }
    return (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((series) => ({
      metric: series.metric,
      value: Number(series.value[1]),
    }));
  };

  const targetsUp = async (): Promise<Record<string, boolean>> => {
    const data = await api<{ activeTargets: Array<{ labels: { job: string }; health: string }> }>('/api/v1/targets');
    const up: Record<string, boolean> = {};
    for (const target of data.activeTargets)
      up[target.labels.job] = (up[target.labels.job] ?? true) && target.health === 'up';
    return up;
  };

  return {
    url,
    query,
    queryUntilData: (expr, timeoutMs = 30_000) =>
      poll(`data for ${expr}`, timeoutMs, async () => {
        const samples = await query(expr);
        return samples.length > 0 ? samples : undefined;
      }),
    rules: async () => {
      const data = await api<{ groups: Array<{ name: string; rules: Array<Omit<RuleState, 'group'>> }> }>(
        '/api/v1/rules',
      );
      return data.groups.flatMap((group) => group.rules.map((rule) => ({ ...rule, group: group.name })));
    },
    targetsUp,
    waitForTargetsUp: async (timeoutMs = 30_000) => {
      const jobs = new Set(options.targets.map((target) => target.job));
      await poll('every target to be up', timeoutMs, async () => {
        const up = await targetsUp();
        return [...jobs].every((job) => up[job] === true) ? true : undefined;
      });
    },
    stop,
  };
}
