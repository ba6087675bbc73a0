import { describe, expect, it } from 'vitest';
import { DEFAULT_FAULTS, describeFault, parseDuration, parseFaults } from './faults.js';

describe('parseFaults', () => {
  it('reads every kind of fault, sorted by time, with the replica, signal and down time', () => {
    const faults = parseFaults(
      'nats:restart@60s, routing:kill@20s,presence/1:kill2s@30s,ivr:term@50s,mongo:outage30s@70s,ari-adapter:restart@1500ms',
      { routing: 2, presence: 2, ivr: 2 },
    );
    expect(faults.map(({ target, replica, action, atMs, downMs }) => [target, replica, action, atMs, downMs])).toEqual([
      ['ari-adapter', 0, 'restart', 1_500, 0],
      ['routing', 0, 'kill', 20_000, 1_000],
      ['presence', 1, 'kill', 30_000, 2_000],
      ['ivr', 0, 'term', 50_000, 1_000],
      ['nats', 0, 'restart', 60_000, 0],
      ['mongo', 0, 'outage', 70_000, 30_000],
    ]);
    expect(faults[2]!.spec).toBe('presence/1:kill2s@30s');
  });

  it('accepts the default sequence: every fault of the issue', () => {
    const faults = parseFaults(DEFAULT_FAULTS, { routing: 2, presence: 2, rating: 2, ivr: 2, directory: 2 });
    expect(faults.map((fault) => `${fault.target}:${fault.action}`)).toEqual([
      'routing:kill',
      'presence:kill',
      'rating:kill',
      'ivr:term',
      'nats:restart',
      'mongo:outage',
      'ari-adapter:restart',
      'billing:kill',
      'fax:kill',
    ]);
  });

  it('reads an empty list as no faults', () => {
    expect(parseFaults('')).toEqual([]);
    expect(parseFaults(' , ')).toEqual([]);
  });

  it.each([
    ['routing:kill', /write <target>\[\/<replica>\]:<action>/],
    ['router:kill@2s', /unknown target "router"/],
    ['routing:outage5s@2s', /routing can be kill or term or restart, not "outage"/],
    ['nats:kill@2s', /nats can be restart or outage, not "kill"/],
    ['mongo:outage@2s', /an outage needs its length/],
    ['mongo/1:outage3s@2s', /mongo has no replicas/],
    ['routing/2:kill@2s', /routing runs 2 replica\(s\)/],
    ['ari-adapter/1:restart@2s', /ari-adapter runs 1 replica\(s\)/],
    ['routing:kill@20', /"20" is no duration/],
    ['routing:kill@2h', /"2h" is no duration/],
  ])('refuses %s, naming the problem', (spec, message) => {
    expect(() => parseFaults(spec, { routing: 2 })).toThrow(message);
  });
});

describe('parseDuration', () => {
  it('reads seconds and milliseconds', () => {
    expect(parseDuration('20s', 'x')).toBe(20_000);
    expect(parseDuration('1.5s', 'x')).toBe(1_500);
    expect(parseDuration('250ms', 'x')).toBe(250);
  });
});

describe('describeFault', () => {
  it('says what each fault does', () => {
    const [kill, billing, fax, nats, mongo] = parseFaults(
      'routing/1:kill@1s,billing:kill@2s,fax:term500ms@3s,nats:restart@4s,mongo:outage30s@5s',
      { routing: 2 },
    );
    expect(describeFault(kill!)).toBe('SIGKILL of routing replica 1, started again, down 1 s');
    expect(describeFault(billing!)).toBe('SIGKILL of billing replica 0 during a month close, started again, down 1 s');
    expect(describeFault(fax!)).toBe("SIGTERM of fax replica 0 during a fax's conversion, started again, down 0.5 s");
    expect(describeFault(nats!)).toBe('NATS server stopped and started again (same port and JetStream store)');
    expect(describeFault(mongo!)).toBe('FerretDB stopped and started again (same port and data, down 30 s)');
  });
});
