import { SERVICE_NAMES, type ServiceName } from '@switchboard/stack';

/** What a fault hits: one replica of a service, or the NATS server, or FerretDB. */
export type FaultTarget = ServiceName | 'nats' | 'mongo';

/**
 * `kill`: SIGKILL (a crash), `term`: SIGTERM (a graceful stop), `restart`: SIGTERM and start again
 * at once; each started again after `downMs`. `outage`: NATS or FerretDB stopped for `downMs` and
 * started again on the same port with the same data.
 */
export type FaultAction = 'kill' | 'term' | 'restart' | 'outage';

export interface Fault {
  /** The fault as written, for reports. */
  spec: string;
  target: FaultTarget;
  /** Replica of a service (0 for nats and mongo). */
  replica: number;
  action: FaultAction;
  /** When, counted from the first call placed. */
  atMs: number;
  /** How long the target stays down before it is started again. */
  downMs: number;
}

/**
 * Every fault of issue 16, 30 s apart (the FerretDB outage lasts 30 s): the load of `--calls 300
 * --rate 1` runs 300 s, so each hits calls in progress. A fault waits for the one before it to be
 * over (its target ready again), so on a slow machine the later ones come later.
 */
export const DEFAULT_FAULTS =
  'routing:kill@15s,presence:kill@45s,rating:kill@75s,ivr:term@105s,nats:restart@135s,mongo:outage30s@165s,' +
  'ari-adapter:restart@215s,billing:kill@245s,fax:kill@275s';

/** How long a killed or stopped service stays down when the fault names no time. */
const DEFAULT_DOWN_MS = 1_000;
const INFRASTRUCTURE = ['nats', 'mongo'] as const;

/** `20s`, `1.5s`, `500ms` → milliseconds. */
export function parseDuration(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(text);
  if (!match) throw new Error(`${what}: "${text}" is no duration (write e.g. 20s or 500ms)`);
  const value = Number(match[1]);
  return Math.round(match[2] === 's' ? value * 1_000 : value);
}

/**
 * Parses a fault sequence such as `routing:kill@20s,presence/1:kill@30s,ivr:term@50s,
 * nats:restart@60s,mongo:outage30s@70s,ari-adapter:restart@80s` (`<target>[/<replica>]:<action>
 * [<down time>]@<when>`), sorted by time. `replicas` bounds the replica numbers; every problem
 * is named with the fault that has it.
 */
export function parseFaults(text: string, replicas: Partial<Record<ServiceName, number>> = {}): Fault[] {
  const specs = text
    .split(',')
    .map((spec) => spec.trim())
    .filter(Boolean);
  const faults = specs.map((spec) => {
    const match = /^([a-z-]+)(?:\/(\d+))?:([a-z]+?)(\d+(?:\.\d+)?(?:ms|s))?@(.+)$/.exec(spec);
    if (!match) {
      throw new Error(
        `fault "${spec}": write <target>[/<replica>]:<action>[<down time>]@<when>, e.g. routing:kill@20s`,
      );
    }
    const [, target = '', replicaText, action = '', down, at = ''] = match;
    const infrastructure = (INFRASTRUCTURE as readonly string[]).includes(target);
    if (!infrastructure && !(SERVICE_NAMES as readonly string[]).includes(target)) {
      throw new Error(
        `fault "${spec}": unknown target "${target}" (one of ${[...SERVICE_NAMES, ...INFRASTRUCTURE].join(', ')})`,
      );
    }
    const actions: readonly FaultAction[] = infrastructure ? ['restart', 'outage'] : ['kill', 'term', 'restart'];
    if (!(actions as readonly string[]).includes(action)) {
      throw new Error(`fault "${spec}": ${target} can be ${actions.join(' or ')}, not "${action}"`);
    }
    if (action === 'outage' && !down) throw new Error(`fault "${spec}": an outage needs its length, e.g. outage30s`);
    const replica = replicaText === undefined ? 0 : Number(replicaText);
    if (infrastructure && replicaText !== undefined) throw new Error(`fault "${spec}": ${target} has no replicas`);
    const count = infrastructure ? 1 : (replicas[target as ServiceName] ?? 1);
    if (replica >= count) {
      throw new Error(`fault "${spec}": ${target} runs ${count} replica(s), numbered from 0`);
    }
    return {
      spec,
      target: target as FaultTarget,
      replica,
      action: action as FaultAction,
      atMs: parseDuration(at, `fault "${spec}"`),
      downMs: down ? parseDuration(down, `fault "${spec}"`) : action === 'restart' ? 0 : DEFAULT_DOWN_MS,
    };
  });
  return faults.sort((a, b) => a.atMs - b.atMs);
}

/** One line per fault for the report: what it does to the system. */
export function describeFault(fault: Fault): string {
  const down = fault.downMs > 0 ? `, down ${fault.downMs / 1_000} s` : '';
  if (fault.target === 'nats') return `NATS server stopped and started again (same port and JetStream store${down})`;
  if (fault.target === 'mongo') return `FerretDB stopped and started again (same port and data${down})`;
  const which = `${fault.target} replica ${fault.replica}`;
  const work =
    fault.target === 'billing' ? ' during a month close' : fault.target === 'fax' ? " during a fax's conversion" : '';
  switch (fault.action) {
    case 'kill':
      return `SIGKILL of ${which}${work}, started again${down}`;
    case 'term':
      return `SIGTERM of ${which}${work}, started again${down}`;
    default:
      return `${which} restarted (SIGTERM, then started again${down})${work}`;
  }
}
