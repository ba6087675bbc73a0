import { callControlV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { natsAuthConfig } from './nats-server-config.js';
import { createNatsUserKey, publicKeyOfSeed } from './nats-keys.js';
import { NATS_IDENTITIES, NATS_RPC, natsPermissions, protoMethods } from './permissions.js';

// NATS has no wildcard-aware "may publish" query; this matcher follows its rules: `*` one token,
// `>` one or more at the end.
function matches(pattern: string, subject: string): boolean {
  const want = pattern.split('.');
  const have = subject.split('.');
  for (let index = 0; index < want.length; index++) {
    if (want[index] === '>') return have.length > index;
    if (index >= have.length || (want[index] !== '*' && want[index] !== have[index])) return false;
  }
  return want.length === have.length;
}

function mayPublish(identity: (typeof NATS_IDENTITIES)[number], subject: string): boolean {
  const { publish } = natsPermissions(identity);
  return publish.allow.some((p) => matches(p, subject)) && !publish.deny.some((p) => matches(p, subject));
}

function maySubscribe(identity: (typeof NATS_IDENTITIES)[number], subject: string): boolean {
  return natsPermissions(identity).subscribe.allow.some((p) => matches(p, subject));
}

describe('NATS permissions declaration', () => {
  it('names the callers of every call-control method the adapter serves over NATS', () => {
    expect(Object.keys(NATS_RPC['callControl']!.callers).sort()).toEqual(
      protoMethods(callControlV1.CallControlServiceService).sort(),
    );
  });

  it('lets only routing send call-control commands', () => {
    const originate = 'sb.t-kropp.callcontrol.pbx-1.Originate';
    expect(NATS_IDENTITIES.filter((identity) => mayPublish(identity, originate))).toEqual(['routing']);
    // A method nobody sends over NATS is served but callable by no one.
    expect(
      NATS_IDENTITIES.filter((identity) => mayPublish(identity, 'sb.t-kropp.callcontrol.pbx-1.HangupLeg')),
    ).toEqual([]);
    expect(maySubscribe('ari-adapter', 'sb.*.callcontrol.pbx-1.HangupLeg')).toBe(true);
  });

  it('keeps billing subjects, streams and consumers from the ari-adapter', () => {
    for (const subject of ['sb.t-kropp.cdr.rated', 'sb.t-kropp.invoice.issued', '_INBOX_billing.x']) {
      expect(maySubscribe('ari-adapter', subject), subject).toBe(false);
    }
    for (const subject of [
      '$JS.API.CONSUMER.CREATE.CDRS.snoop',
      '$JS.API.CONSUMER.MSG.NEXT.CDRS.billing-cdr-rated',
      '$JS.API.CONSUMER.CREATE.INVOICES',
      '$JS.API.STREAM.INFO.INVOICES',
      '$JS.ACK.CDRS.billing-cdr-rated.1.1.1.1.1',
    ]) {
      expect(mayPublish('ari-adapter', subject), subject).toBe(false);
    }
  });

  it('gives each identity its own inbox and responders only the right to answer', () => {
    expect(maySubscribe('routing', '_INBOX_routing.abc')).toBe(true);
    expect(maySubscribe('routing', '_INBOX_presence.abc')).toBe(false);
    expect(natsPermissions('presence').allow_responses).toBe(true);
    expect(natsPermissions('observer').allow_responses).toBe(false);
  });

  it('lets an ordered-consumer reader follow a stream without touching the durables of others', () => {
    expect(mayPublish('observer', '$JS.API.CONSUMER.CREATE.CALLS.oc_x_1.sb.*.call.>')).toBe(true);
    expect(mayPublish('observer', '$JS.API.CONSUMER.MSG.NEXT.CALLS.oc_x_1')).toBe(true);
    expect(mayPublish('observer', '$JS.API.CONSUMER.MSG.NEXT.CALLS.rating-call-ended')).toBe(false);
    expect(mayPublish('observer', '$JS.API.CONSUMER.DELETE.CALLS.routing-calls')).toBe(false);
    expect(mayPublish('observer', 'sb.t-kropp.call.ended')).toBe(false);
  });

  it("lets only a stream's owner change its configuration; who lists it may create it", () => {
    expect(mayPublish('routing', '$JS.API.STREAM.CREATE.CALLS')).toBe(true);
    expect(mayPublish('routing', '$JS.API.STREAM.UPDATE.CALLS')).toBe(false);
    expect(mayPublish('ari-adapter', '$JS.API.STREAM.UPDATE.CALLS')).toBe(true);
    expect(mayPublish('billing', '$JS.API.STREAM.UPDATE.AUDIT')).toBe(false);
    expect(mayPublish('directory', '$JS.API.STREAM.UPDATE.AUDIT')).toBe(true);
    expect(mayPublish('billing', '$JS.API.STREAM.UPDATE.DLQ')).toBe(true);
    expect(mayPublish('billing', '$JS.API.STREAM.DELETE.INVOICES')).toBe(false);
  });

  it('parks poison messages only under its own durables', () => {
    expect(mayPublish('rating', 'sb.t-kropp.dlq.rating-call-ended')).toBe(true);
    expect(mayPublish('rating', 'sb.t-kropp.dlq.billing-cdr-rated')).toBe(false);
  });
});

describe('nats-server configuration', () => {
  it('has one user per key with its permissions, and refuses anything that is not a public user key', () => {
    const users = NATS_IDENTITIES.map((identity) => ({ identity, publicKey: createNatsUserKey().publicKey }));
    const config = natsAuthConfig(users);
    for (const user of users) expect(config).toContain(`{ nkey: ${user.publicKey}, permissions: {`);
    expect(config).toContain('jetstream: enabled');
    expect(() => natsAuthConfig([{ identity: 'rating', publicKey: 'nobody' }])).toThrow(/not a public user key/);
    expect(() => natsAuthConfig([{ identity: 'stranger', publicKey: users[0]!.publicKey }])).toThrow(
      /not a declared NATS identity/,
    );
    expect(() => natsAuthConfig([users[0]!, users[0]!])).toThrow(/used twice/);
  });

  it('derives the public key from a seed', () => {
    const key = createNatsUserKey();
    expect(publicKeyOfSeed(`${key.seed}\n`)).toBe(key.publicKey);
    expect(() => publicKeyOfSeed(key.publicKey)).toThrow(/not an nkey user seed/);
  });
});
