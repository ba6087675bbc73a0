import { Writable } from 'node:stream';
import { AUDIT_STREAM, AuditEvents } from '@switchboard/events';
import { TESTER, startNats, type NatsServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MASK,
  SUMMARY_LIMIT_BYTES,
  auditEvent,
  auditSummary,
  createAuditRecorder,
  isSecretField,
  maskSecrets,
} from './audit.js';
import type { AuditedChange } from './grpc-server.js';
import { startHttpServer, type HttpServer } from './http-server.js';
import { createLogger } from './logger.js';
import { connectNats, ensureStreams, type NatsHandle } from './nats/connection.js';
import { publishEvent } from './nats/publish.js';
import { startTelemetry } from './telemetry.js';

const change = (request: unknown, tenantId = 't-kropp'): AuditedChange => ({
  service: 'switchboard.directory.v1.DirectoryService',
  method: 'updateDepartment',
  principal: { subject: 'anna', tenantId, role: 'admin' },
  tenantId,
  request,
});

describe('secret masking', () => {
  it('knows secrets by the words of a field name, and a bare key is a digit, not a secret', () => {
    const secret = [
      'password',
      'devicePassword',
      'smtp_password',
      'md5Cred',
      'sipSecret',
      'accessToken',
      'refresh_token',
      'voicemailPin',
      'pin',
      'apiKey',
      'private_key',
      'signingKeys',
      'credentials',
    ];
    const plain = [
      'key',
      'callbackKey',
      'departmentId',
      'keys',
      'pinned',
      'spinner',
      'tenantId',
      'monkey',
      'tokenizer',
    ];
    expect(secret.filter((name) => !isSecretField(name))).toEqual([]);
    expect(plain.filter(isSecretField)).toEqual([]);
  });

  it('masks secrets at any depth, a JWT in any field, and turns bytes and dates into text', () => {
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbm5hIn0.c2lnbmF0dXJl';
    expect(
      maskSecrets({
        tenantId: 't-kropp',
        smtp: { host: 'mail.example', password: 'hunter2', port: 587 },
        devices: [{ deviceId: 'kropp-101', md5Cred: 'aa11', voicemailPin: '' }],
        note: jwt,
        menu: { options: [{ key: '1', target: 'buergerbuero' }] },
        greeting: new Uint8Array(1234),
        effectiveFrom: new Date('2026-03-01T00:00:00Z'),
        amount: '1234567890123',
      }),
    ).toEqual({
      tenantId: 't-kropp',
      smtp: { host: 'mail.example', password: MASK, port: 587 },
      // An empty secret stays empty: the entry shows it was not set.
      devices: [{ deviceId: 'kropp-101', md5Cred: MASK, voicemailPin: '' }],
      note: MASK,
      menu: { options: [{ key: '1', target: 'buergerbuero' }] },
      greeting: '<1234 bytes>',
      effectiveFrom: '2026-03-01T00:00:00.000Z',
      amount: '1234567890123',
    });
  });

  it("shortens phone numbers, a citizen's as a staff member's, and leaves ids, amounts and extensions", () => {
    expect(
      maskSecrets({
        tenantId: 't-kropp',
        number: '+4946241234567',
        national: '04621234567',
        international: '004946241234567',
        homeOfficeNumber: '+491511234567',
        extension: '101',
        amount: '1234567890123',
        validFrom: '2026-01-01',
      }),
    ).toEqual({
      tenantId: 't-kropp',
      number: '+4946241234xxx',
      national: '04621234xxx',
      international: '004946241234xxx',
      homeOfficeNumber: '+491511234xxx',
      extension: '101',
      amount: '1234567890123',
      validFrom: '2026-01-01',
    });
  });

  it('keeps a short request whole and cuts a long one to 4 KiB without splitting a character', () => {
    expect(auditSummary({ tenantId: 't', departmentId: 'bauamt' })).toBe('{"tenantId":"t","departmentId":"bauamt"}');
    const long = { tenantId: 't', names: Array.from({ length: 2_000 }, (_, index) => `Bürgerbüro ${index}`) };
    const summary = auditSummary(long);
    expect(Buffer.byteLength(summary)).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES);
    expect(Buffer.byteLength(summary)).toBeGreaterThan(SUMMARY_LIMIT_BYTES - 8);
    expect(summary).toMatch(new RegExp(`…\\(cut, ${Buffer.byteLength(JSON.stringify(long))} bytes\\)$`));
    expect(summary).not.toContain('\uFFFD');
    expect(summary.startsWith('{"tenantId":"t","names":["Bürgerbüro 0",')).toBe(true);
  });

  it('builds the entry from the change: who, when, tenant, service, method, summary; its id is the event id', () => {
    const at = new Date('2026-03-02T09:15:00Z');
    const event = auditEvent('directory', change({ tenantId: 't-kropp', password: 'x' }), at);
    expect(event.entry).toEqual({
      entryId: event.meta!.eventId,
      tenantId: 't-kropp',
      at,
      subject: 'anna',
      role: 'admin',
      service: 'directory',
      method: 'UpdateDepartment',
      summary: '{"tenantId":"t-kropp","password":"***"}',
    });
    expect(event.meta).toMatchObject({ tenantId: 't-kropp', producer: 'directory', occurredAt: at });
  });
});

describe('recording', () => {
  let nats: NatsServer;
  let handle: NatsHandle;
  let http: HttpServer;
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    service: 'audit-test',
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  });

  /** A recorder whose work the test awaits (the kit passes its `track`). */
  function recorder(publish: Parameters<typeof createAuditRecorder>[0]['publish']) {
    const pending: Array<Promise<unknown>> = [];
    const record = createAuditRecorder({
      producer: 'directory',
      publish,
      logger,
      attempts: 3,
      initialDelayMs: 5,
      track: (work) => {
        pending.push(work);
        return work;
      },
    });
    return { record, settled: () => Promise.all(pending) };
  }

  beforeAll(async () => {
    nats = await startNats();
    handle = await connectNats({ url: nats.url, credentials: nats.credentials(TESTER), name: 'audit-test', logger });
    const telemetry = startTelemetry({ serviceName: 'audit-test', serviceVersion: '0.0.0' });
    http = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics: telemetry.metricsHandler,
      readiness: async () => ({ ready: true, draining: false, checks: {} }),
    });
  });

  afterAll(async () => {
    await http?.close();
    await handle?.connection.close();
    await nats?.stop();
  });

  it('logs the whole entry and counts it when it cannot be published after its retries', async () => {
    // No AUDIT stream yet: JetStream has nobody to store the subject. (publishEvent would wait that
    // out as an outage for a minute per attempt; the recorder's own retries are what is tested.)
    let attempts = 0;
    const { record, settled } = recorder((event) => {
      attempts += 1;
      return publishEvent(handle, AuditEvents.recorded, event, { outageBudgetMs: 0 });
    });
    record(change({ tenantId: 't-lost', departmentId: 'bauamt', sipPassword: 'geheim' }, 't-lost'));
    await settled();
    expect(attempts).toBe(3);
    const line = lines.find((entry) => entry['msg'] === 'audit entry not published');
    expect(line?.['auditEntry']).toMatchObject({
      tenantId: 't-lost',
      subject: 'anna',
      role: 'admin',
      service: 'directory',
      method: 'UpdateDepartment',
      summary: '{"tenantId":"t-lost","departmentId":"bauamt","sipPassword":"***"}',
    });
    const scraped = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
    expect(scraped).toMatch(/^audit_publish_failures_total\{[^}]*tenant="t-lost"[^}]*\} 1$/m);
  });

  it('publishes the entry on sb.<tenant>.audit.recorded, retrying a failed attempt under the same id', async () => {
    await ensureStreams(handle.jsm, [AUDIT_STREAM]);
    let attempts = 0;
    const { record, settled } = recorder(async (event) => {
      attempts += 1;
      const ack = await publishEvent(handle, AuditEvents.recorded, event);
      // The first ack is lost on its way back: the retry sends the same event id again.
      if (attempts === 1) throw new Error('ack lost');
      return ack;
    });
    record(change({ tenantId: 't-kropp', departmentId: 'bauamt' }));
    await settled();
    expect(attempts).toBe(2);
    const info = await handle.jsm.streams.info(AUDIT_STREAM.name);
    expect(info.state.messages).toBe(1);
    const stored = (await handle.jsm.streams.getMessage(AUDIT_STREAM.name, { seq: info.state.first_seq }))!;
    expect(stored.subject).toBe('sb.t-kropp.audit.recorded');
    const event = AuditEvents.recorded.codec.decode(stored.data);
    expect(event.entry).toMatchObject({
      entryId: event.meta!.eventId,
      tenantId: 't-kropp',
      method: 'UpdateDepartment',
      summary: '{"tenantId":"t-kropp","departmentId":"bauamt"}',
    });
    expect(stored.header.get('Nats-Msg-Id')).toBe(event.meta!.eventId);
  });

  it('logs and counts every entry of a service that has no NATS connection', async () => {
    const { record, settled } = recorder(undefined);
    record(change({ tenantId: 't-offline' }, 't-offline'));
    await settled();
    expect(lines.filter((entry) => entry['msg'] === 'audit entry not published').at(-1)?.['err']).toMatchObject({
      message: 'directory has no NATS connection to publish audit entries on',
    });
  });
});
