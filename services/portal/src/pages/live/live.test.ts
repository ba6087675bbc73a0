import { directoryServiceV1, directoryV1, presenceV1, routingV1 } from '@switchboard/proto';
import { startMongo, type MongoServer } from '@switchboard/testkit';
import { generateSigningKey } from '@switchboard/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeService } from '../../../test/fake-service.js';
import { startTestPortal, type TestBrowser } from '../../../test/harness.js';

let mongo: MongoServer;
let portal: Awaited<ReturnType<typeof startTestPortal>>;
let directory: Awaited<ReturnType<typeof startFakeService>>;
let presence: Awaited<ReturnType<typeof startFakeService>>;
let routing: Awaited<ReturnType<typeof startFakeService>>;

const DEPARTMENTS = [
  directoryV1.Department.fromPartial({ departmentId: 'bauamt', name: 'Bauamt' }),
  directoryV1.Department.fromPartial({ departmentId: 'zentrale', name: 'Zentrale' }),
];
/** What the fake routing counts today, by department (a test changes it to see the page follow). */
const levels = new Map<string, Partial<routingV1.DepartmentServiceLevel>>([
  ['bauamt', { offered: 10, answered: 8, answeredWithinThreshold: 7, abandoned: 1, leftUnanswered: 1 }],
]);

let endWatches: (agents: unknown[]) => void = () => undefined;
const watchEnds = new Promise<unknown[]>((resolve) => (endWatches = resolve));

beforeAll(async () => {
  mongo = await startMongo();
  directory = await startFakeService(directoryServiceV1.DirectoryServiceService, {
    listDepartments: () => ({ departments: DEPARTMENTS }),
    getDepartment: (request: directoryServiceV1.GetDepartmentRequest) => ({
      department: DEPARTMENTS.find((department) => department.departmentId === request.departmentId),
    }),
  });
  presence = await startFakeService(presenceV1.PresenceServiceService, {
    listAgents: () => ({ agents: [] }),
    // Open until the test ends it, as presence's watch stays open: a watch that ends ends the stream.
    watchAgents: () => watchEnds,
  });
  routing = await startFakeService(routingV1.RoutingServiceService, {
    getQueue: () => ({ entries: [] }),
    getServiceLevel: (request: routingV1.GetServiceLevelRequest) => ({
      departments: request.departmentIds.map((departmentId) =>
        routingV1.DepartmentServiceLevel.fromPartial({
          departmentId,
          thresholdSeconds: 30,
          day: '2026-12-03',
          ...levels.get(departmentId),
        }),
      ),
    }),
  });
  portal = await startTestPortal({
    mongoUrl: mongo.url,
    dbName: 'portal-live',
    signingKey: generateSigningKey(),
    addresses: { directory: directory.address, presence: presence.address, routing: routing.address },
  });
  await portal.accounts([
    { tenantId: 't-kropp', username: 'anna', role: 'admin', departments: [], subject: 'anna' },
    { tenantId: 't-kropp', username: 'sue', role: 'supervisor', departments: ['bauamt'], subject: 'sue' },
  ]);
});

afterAll(async () => {
  endWatches([]);
  directory?.close();
  presence?.close();
  routing?.close();
  await portal?.stop();
  await mongo?.stop();
});

async function signedIn(username: string): Promise<TestBrowser> {
  const browser = portal.browser('192.0.2.50');
  expect((await browser.signIn('t-kropp', username)).status).toBe(303);
  return browser;
}

const serviceLevelCalls = () => routing.calls.filter((call) => call.method === 'getServiceLevel');

describe('live view: service level today', () => {
  it('shows each department its share answered within 30 s, the counts and what it means', async () => {
    const browser = await signedIn('anna');
    const html = await (await browser.request('/live')).text();
    expect(html).toContain(
      'Servicelevel heute: 70 % (7 von 10 Anrufen innerhalb von 30 s angenommen; angenommen insgesamt 8, aufgelegt 1, ohne Annahme weitergeleitet 1).',
    );
    // A department no caller waited in today has no share, not 0 %.
    expect(html).toContain('Servicelevel heute: noch kein Anruf hat heute in der Warteschlange gewartet.');
    expect(html).toContain('innerhalb von 30 Sekunden angenommen wurden');
    expect(serviceLevelCalls().at(-1)).toMatchObject({
      request: { tenantId: 't-kropp', departmentIds: ['bauamt', 'zentrale'] },
      claims: { role: 'admin', tid: 't-kropp' },
    });
  });

  it('gives it in /api/live per department', async () => {
    const browser = await signedIn('anna');
    const body = (await (await browser.request('/api/live')).json()) as {
      departments: Array<{ departmentId: string; serviceLevel: unknown }>;
    };
    expect(body.departments.map((department) => [department.departmentId, department.serviceLevel])).toEqual([
      [
        'bauamt',
        {
          offered: 10,
          answered: 8,
          answeredWithinThreshold: 7,
          abandoned: 1,
          leftUnanswered: 1,
          thresholdSeconds: 30,
          day: '2026-12-03',
          percent: 70,
        },
      ],
      [
        'zentrale',
        {
          offered: 0,
          answered: 0,
          answeredWithinThreshold: 0,
          abandoned: 0,
          leftUnanswered: 0,
          thresholdSeconds: 30,
          day: '2026-12-03',
          percent: null,
        },
      ],
    ]);
  });

  it("asks routing for a department lead's own departments only, with the lead's token", async () => {
    const browser = await signedIn('sue');
    const body = (await (await browser.request('/api/live')).json()) as {
      departments: Array<{ departmentId: string }>;
    };
    expect(body.departments.map((department) => department.departmentId)).toEqual(['bauamt']);
    expect(serviceLevelCalls().at(-1)).toMatchObject({
      request: { tenantId: 't-kropp', departmentIds: ['bauamt'] },
      claims: { role: 'supervisor', depts: ['bauamt'] },
    });
  });

  it("updates the board in the page's stream when routing's counts change", async () => {
    const browser = await signedIn('anna');
    const response = await browser.request('/live/stream');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = '';
    const until = async (text: string) => {
      while (!received.includes(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before "${text}"`);
        received += value;
      }
    };
    await until('Servicelevel heute: 70 %');
    levels.set('zentrale', { offered: 4, answered: 4, answeredWithinThreshold: 4 });
    await until('Servicelevel heute: 100 % (4 von 4 Anrufen');
    await reader.cancel();
  });
});
