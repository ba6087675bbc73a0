import * as grpc from '@grpc/grpc-js';
import { panelQueries } from '@switchboard/dashboards';
import { presenceV1 } from '@switchboard/proto';
import { createAuthenticator } from '@switchboard/service-kit';
import { startMongo, startNats, type MongoServer, type NatsServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePanel, waitForPanelData } from './panels.js';
import { startPrometheus, type Prometheus } from './prometheus.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

const SECRET = 'observability-test-secret-long-enough-for-hs256';

let nats: NatsServer;
let mongo: MongoServer;
const services: ServiceProcess[] = [];
let prometheus: Prometheus;

function listAgents(address: string, token?: string): Promise<unknown> {
  const client = new presenceV1.PresenceServiceClient(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) =>
    client.listAgents({ tenantId: 't-obs', departmentId: '' }, metadata, (error, response) => {
      client.close();
      return error ? reject(error) : resolve(response);
    }),
  );
}

beforeAll(async () => {
  [nats, mongo] = await Promise.all([startNats(), startMongo()]);
  const common = { NATS_URL: nats.url, AUTH_JWT_SECRET: SECRET };
  services.push(
    ...(await Promise.all([
      startServiceProcess('presence', common),
      startServiceProcess('ivr', { ...common, MONGO_URL: mongo.url, MONGO_DB: 'observability' }),
    ])),
  );
  prometheus = await startPrometheus({
    targets: services.map((service) => ({ job: service.name, address: `127.0.0.1:${service.httpPort}` })),
  });
});

afterAll(async () => {
  await prometheus?.stop();
  await Promise.all(services.map((service) => service.stop()));
  await Promise.all([nats?.stop(), mongo?.stop()]);
});

describe('Prometheus scraping running services', () => {
  it('scrapes every service and fills the platform panels', async () => {
    await prometheus.waitForTargetsUp();
    expect(await prometheus.targetsUp()).toEqual({ presence: true, ivr: true });

    // One refused and one served presence RPC, so latency and error panels have something to show.
    const presence = `127.0.0.1:${services[0]!.grpcPort}`;
    await expect(listAgents(presence)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    const token = await createAuthenticator({ secret: SECRET, issuer: 'switchboard', audience: 'switchboard' }).issue({
      subject: 'observability-test',
      tenantId: 'platform',
      role: 'service',
    });
    await listAgents(presence, token);

    // The platform panels that these two services feed; the rest need routing, fax or a failure.
    const expected = [
      'JetStream consumer lag',
      'Dead-letter queue size',
      'RPC latency p95',
      'RPC errors per second',
      'Event-loop lag p99',
      'Restarts',
    ];
    const platform = panelQueries({ rateInterval: '30s', range: '5m' }).filter(
      (query) => query.dashboard === 'platform' && expected.includes(query.panel),
    );
    expect(platform).toHaveLength(expected.length);
    const check = await waitForPanelData(prometheus, platform);
    expect(check.failed).toEqual([]);
    expect(check.empty.map(describePanel)).toEqual([]);
    expect(await prometheus.query('max(events_stream_messages{stream="DLQ"})')).toEqual([{ metric: {}, value: 0 }]);
    const jobs = (await prometheus.query('max by (job) (process_start_time)')).map((s) => s.metric['job']).sort();
    expect(jobs).toEqual(['ivr', 'presence']);
  });
});
