import { readdir, readFile } from 'node:fs/promises';
import { percentile } from '../src/summary.js';

export interface Result {
  mode: string;
  calls: number;
  failed: number;
  cps: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export function result(mode: string, latencies: readonly number[], failed: number, elapsedMs: number): Result {
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    mode,
    calls: latencies.length + failed,
    failed,
    cps: round(latencies.length / (elapsedMs / 1_000)),
    p50Ms: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    p99Ms: round(percentile(latencies, 99)),
  };
}

/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux). */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which may contain spaces) start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  return (ticks * 1_000) / 100;
}

/**
 * The pid of the nats-server this process started (the stack runs it as our child), to count the
 * server's CPU per call too: it shares the two cores with the services.
 */
export async function natsServerPid(): Promise<number | undefined> {
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (command === 'nats-server' && parent === process.pid) return Number(entry);
  }
  return undefined;
}

/**
 * Mean of every histogram in a Prometheus text page whose name starts with `prefix`, per label
 * set: `_sum / _count`, in ms (the histograms are in seconds).
 */
export function histogramMeans(page: string, prefix: string): Record<string, { count: number; meanMs: number }> {
  const sums = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const line of page.split('\n')) {
    const match = /^(\w+?)_(sum|count)(\{[^}]*\})? ([\d.e+-]+)$/.exec(line);
    if (!match || !match[1]!.startsWith(prefix)) continue;
    const labels = (match[3] ?? '')
      .replace(/,?otel_scope_name="[^"]*"/, '')
      .replace(/,?otel_scope_version="[^"]*"/, '');
    const key = `${match[1]}${labels === '{}' ? '' : labels}`;
    (match[2] === 'sum' ? sums : counts).set(key, Number(match[4]));
  }
  const means: Record<string, { count: number; meanMs: number }> = {};
  for (const [key, count] of counts) {
    if (count > 0) means[key] = { count, meanMs: Math.round(((sums.get(key) ?? 0) / count) * 1e6) / 1e3 };
  }
  return means;
}
