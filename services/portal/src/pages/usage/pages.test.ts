import * as grpc from '@grpc/grpc-js';
import {
  billingV1,
  directoryServiceV1,
  directoryV1,
  presenceV1,
  ratingServiceV1,
  routingV1,
  type ratingV1,
} from '@switchboard/proto';
import { startMongo, type MongoServer } from '@switchboard/testkit';
import { generateSigningKey } from '@switchboard/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcError, startFakeService } from '../../../test/fake-service.js';
import { startTestPortal, type TestBrowser } from '../../../test/harness.js';

// The usage, invoice and live pages over fake services: what each role sees, the figures and
// their formatting, the downloads. The whole system in a browser is services/portal/e2e.

let mongo: MongoServer;
let portal: Awaited<ReturnType<typeof startTestPortal>>;
const closers: Array<() => void> = [];

const leg = (overrides: Partial<ratingV1.RatedLeg>): ratingV1.RatedLeg => ({
  tenantId: 't-kropp',
  callId: 'c-1',
  legId: 'l-1',
  siteId: 'amt-kropp',
  startedAt: new Date('2026-12-02T08:00:00Z'),
  billingMonth: '2026-12',
  destination: '+4940123456',
  destinationClass: 'de-fixed',
  durationSeconds: 61,
  billedSeconds: 61,
  pool: 'de-fixed',
  bundleSeconds: 61,
  overageSeconds: 0,
  connectionFee: '0',
  amount: '0',
  tariffId: 'standard',
  tariffVersion: 1,
  ratingVersion: 1,
  traceparent: '',
  charges: [],
  ...overrides,
});

const LEGS = [leg({}), leg({ legId: 'l-2', destination: 'Haus "A", Flur', amount: '123456', connectionFee: '150' })];

const INVOICE: billingV1.Invoice = {
  tenantId: 't-kropp',
  month: '2026-11',
  invoiceNumber: 'SB-2026-11-0001',
  issuedAt: new Date('2026-12-01T06:00:00Z'),
  periodStart: '2026-11-01',
  periodEnd: '2026-11-30',
  lines: [
    {
      category: billingV1.LineCategory.LINE_CATEGORY_PACKAGES,
      description: 'Sprachpaket',
      destinationClass: '',
      correctedMonth: '',
      quantityMilli: '2000',
      unitCode: 'C62',
      amount: '1000000',
      netCents: '10000',
      unitPrice: '500000',
      correctionReason: '',
    },
  ],
  netCents: '10000',
  vatRatePercent: 19,
  vatCents: '1900',
  grossCents: '11900',
  allocation: [
    {
      siteId: 'amt-kropp',
      siteName: 'Amtsverwaltung Kropp',
      netCents: '7500',
      vatCents: '1425',
      grossCents: '8925',
      lineNetCents: ['7500'],
    },
    {
      siteId: 'gemeinde-kropp',
      siteName: 'Gemeindebüro Kropp',
      netCents: '2500',
      vatCents: '475',
      grossCents: '2975',
      lineNetCents: ['2500'],
    },
  ],
  legCount: '2',
  dueDate: '2026-12-15',
  language: 'de',
  documentType: billingV1.DocumentType.DOCUMENT_TYPE_INVOICE,
};

/** Billing with the streaming export, which the unary fake does not serve. */
async function startBilling(): Promise<string> {
  const server = new grpc.Server();
  server.addService(billingV1.BillingServiceService, {
    getInvoice: (
      call: grpc.ServerUnaryCall<billingV1.GetInvoiceRequest, unknown>,
      done: grpc.sendUnaryData<unknown>,
    ) =>
      call.request.month === INVOICE.month
        ? done(null, { invoice: INVOICE })
        : done(grpcError(grpc.status.NOT_FOUND, `no invoice for ${call.request.month}`) as grpc.ServiceError),
    getInvoiceDocument: (
      call: grpc.ServerUnaryCall<billingV1.GetInvoiceDocumentRequest, unknown>,
      done: grpc.sendUnaryData<unknown>,
    ) =>
      call.request.kind === billingV1.DocumentKind.DOCUMENT_KIND_PDF
        ? done(null, {
            fileName: 'SB-2026-11-0001.pdf',
            contentType: 'application/pdf',
            content: Buffer.from('%PDF-1.7 x'),
          })
        : done(null, {
            fileName: 'SB-2026-11-0001.xml',
            contentType: 'application/xml',
            content: Buffer.from('<Invoice/>'),
          }),
    exportRatedLegs: (call: grpc.ServerWritableStream<billingV1.ExportRatedLegsRequest, unknown>) => {
      for (const one of LEGS) call.write({ leg: one });
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  closers.push(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

const agent = (agentId: string, departmentId: string, state: presenceV1.AgentState): presenceV1.Agent =>
  presenceV1.Agent.fromPartial({
    tenantId: 't-kropp',
    agentId,
    displayName: agentId.toUpperCase(),
    departments: [{ departmentId, wrapUpSeconds: 0 }],
    state,
  });

let aggregateOnly = false;

beforeAll(async () => {
  mongo = await startMongo();
  const rating = await startFakeService(ratingServiceV1.RatingServiceService, {
    getUsage: (request: ratingServiceV1.GetUsageRequest) => ({
      tenantId: request.tenantId,
      month: request.month,
      ratingVersion: 1,
      packages: 2,
      pools: [
        {
          pool: 'de-fixed',
          capacitySeconds: '120000',
          usedSeconds: '126000',
          remainingSeconds: '0',
          overageSeconds: '6000',
          overageAmount: '123450',
          forecastUsedSeconds: '500000',
          forecastOverageSeconds: '380000',
          forecastOverageAmount: '7812345',
        },
        {
          pool: 'de-mobile',
          capacitySeconds: '84000',
          usedSeconds: '600',
          remainingSeconds: '83400',
          overageSeconds: '0',
          overageAmount: '0',
          forecastUsedSeconds: '6000',
          forecastOverageSeconds: '0',
          forecastOverageAmount: '0',
        },
      ],
      classes: [
        {
          destinationClass: 'de-fixed',
          legs: '40',
          billedSeconds: '126000',
          bundleSeconds: '120000',
          overageSeconds: '6000',
          amount: '123450',
        },
      ],
      amount: '123450',
      forecastAmount: '7812345',
      asOf: new Date('2026-12-03T09:00:00Z'),
    }),
  });
  const directory = await startFakeService(directoryServiceV1.DirectoryServiceService, {
    listDepartments: () => ({
      departments: [
        directoryV1.Department.fromPartial({ departmentId: 'bauamt', name: 'Bauamt' }),
        directoryV1.Department.fromPartial({ departmentId: 'zentrale', name: 'Zentrale' }),
      ],
    }),
    getDepartment: (request: directoryServiceV1.GetDepartmentRequest) => ({
      department: directoryV1.Department.fromPartial({
        departmentId: request.departmentId,
        name: request.departmentId === 'bauamt' ? 'Bauamt' : 'Zentrale',
      }),
    }),
  });
  const presence = await startFakeService(presenceV1.PresenceServiceService, {
    listAgents: (request: presenceV1.ListAgentsRequest) => {
      const hidden = presenceV1.AgentState.AGENT_STATE_UNSPECIFIED;
      const all = [
        agent('s-1', 'bauamt', aggregateOnly ? hidden : presenceV1.AgentState.AGENT_STATE_ON_CALL),
        agent('s-2', 'bauamt', presenceV1.AgentState.AGENT_STATE_AWAY),
        agent('s-3', 'zentrale', aggregateOnly ? hidden : presenceV1.AgentState.AGENT_STATE_AVAILABLE),
      ];
      return {
        agents: all.filter((a) => !request.departmentId || a.departments[0]!.departmentId === request.departmentId),
      };
    },
  });
  const routing = await startFakeService(routingV1.RoutingServiceService, {
    getQueue: (request: routingV1.GetQueueRequest) => ({
      entries:
        request.departmentId === 'bauamt'
          ? [
              { callId: 'c-9', position: 1, enqueuedAt: new Date('2026-12-03T08:59:30Z'), ringing: true },
              { callId: 'c-10', position: 2, enqueuedAt: new Date('2026-12-03T08:59:50Z'), ringing: false },
            ]
          : [],
    }),
    // Nobody's wait ended today yet (the live page's own test covers the figures).
    getServiceLevel: (request: routingV1.GetServiceLevelRequest) => ({
      departments: request.departmentIds.map((departmentId) =>
        routingV1.DepartmentServiceLevel.fromPartial({ departmentId, thresholdSeconds: 30, day: '2026-12-03' }),
      ),
    }),
  });
  closers.push(rating.close, directory.close, presence.close, routing.close);
  portal = await startTestPortal({
    mongoUrl: mongo.url,
    dbName: 'portal-usage',
    signingKey: generateSigningKey(),
    addresses: {
      rating: rating.address,
      billing: await startBilling(),
      directory: directory.address,
      presence: presence.address,
      routing: routing.address,
    },
  });
  await portal.accounts([
    { tenantId: 't-kropp', username: 'anna', role: 'admin', departments: [], subject: 'anna' },
    { tenantId: 't-kropp', username: 'sue', role: 'supervisor', departments: ['bauamt'], subject: 'sue' },
    { tenantId: 't-kropp', username: 'fritz', role: 'finance', departments: [], subject: 'fritz' },
  ]);
});

afterAll(async () => {
  for (const close of closers) close();
  await portal?.stop();
  await mongo?.stop();
});

async function signedIn(username: string): Promise<TestBrowser> {
  const browser = portal.browser();
  expect((await browser.signIn('t-kropp', username)).status).toBe(303);
  return browser;
}

describe('usage and cost', () => {
  it('shows minutes against each bundle as a chart with its figures as a table, and the overage so far', async () => {
    const html = await (await (await signedIn('anna')).request('/verbrauch')).text();
    expect(html).toContain('<svg class="usage-chart"');
    expect(html).toMatch(/role="img" aria-labelledby="verbrauch-grafik-titel verbrauch-grafik-text"/);
    // 126,000 s = 2,100 of 2,000 minutes; 100 minutes over; 12.345 € rounds to 12.35 €.
    expect(html).toContain('Festnetz: 2.100 von 2.000 Minuten verbraucht, Prognose zum Monatsende 8.333 Minuten');
    expect(html).toContain(
      '<th scope="row">Festnetz</th><td>2.000</td><td>2.100</td><td>0</td><td>8.333</td><td>100</td><td>12,35\u00a0€</td><td>781,23\u00a0€</td>',
    );
    expect(html).toContain('Bisher: 12,35\u00a0€. Prognose zum Monatsende: 781,23\u00a0€.');
    expect(html).toContain('Gebuchte Sprachpakete: 2');
  });

  it('lets finance see it, not a department lead; refuses a month that is not YYYY-MM', async () => {
    expect((await (await signedIn('fritz')).request('/verbrauch?monat=2026-11')).status).toBe(200);
    expect((await (await signedIn('sue')).request('/verbrauch')).status).toBe(403);
    expect((await (await signedIn('sue')).request('/api/usage')).status).toBe(403);
    const refused = await (await signedIn('anna')).request('/verbrauch?monat=2026-13');
    expect(refused.status).toBe(400);
  });

  it('exports the month as CSV: every rated leg, amounts in euro with four places, fields quoted where needed', async () => {
    const response = await (await signedIn('fritz')).request('/verbrauch/einzelverbindungen.csv?monat=2026-12');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(
      'attachment; filename="einzelverbindungen-t-kropp-2026-12.csv"',
    );
    const lines = (await response.text()).split('\r\n');
    expect(lines[0]).toBe(
      'call_id,leg_id,site_id,started_at,billing_month,destination,destination_class,duration_seconds,billed_seconds,pool,bundle_seconds,overage_seconds,connection_fee_eur,amount_eur,tariff_id,tariff_version,rating_version',
    );
    expect(lines[1]).toBe(
      'c-1,l-1,amt-kropp,2026-12-02T08:00:00.000Z,2026-12,+4940123456,de-fixed,61,61,de-fixed,61,0,0.0000,0.0000,standard,1,1',
    );
    expect(lines[2]).toBe(
      'c-1,l-2,amt-kropp,2026-12-02T08:00:00.000Z,2026-12,"Haus ""A"", Flur",de-fixed,61,61,de-fixed,61,0,0.0150,12.3456,standard,1,1',
    );
    expect(lines.slice(3)).toEqual(['']);
  });
});

describe('invoices', () => {
  it("lists the last twelve months' invoices with their documents and shows the allocation per site", async () => {
    const browser = await signedIn('fritz');
    const list = await (await browser.request('/rechnungen')).text();
    expect(list).toContain('<th scope="row">November 2026</th><td>SB-2026-11-0001</td>');
    expect(list).toContain('href="/rechnungen/2026-11/pdf" aria-label="PDF der Rechnung SB-2026-11-0001"');
    const detail = await (await browser.request('/rechnungen/2026-11')).text();
    expect(detail).toContain(
      '<th scope="row">Gemeindebüro Kropp</th><td>25,00\u00a0€</td><td>4,75\u00a0€</td><td>29,75\u00a0€</td>',
    );
    const api = (await (await browser.request('/api/invoices')).json()) as { invoices: { invoiceNumber: string }[] };
    expect(api.invoices.map((invoice) => invoice.invoiceNumber)).toEqual(['SB-2026-11-0001']);
  });

  it('hands out the PDF and the XRechnung as downloads; a lead gets neither', async () => {
    const browser = await signedIn('anna');
    const pdf = await browser.request('/rechnungen/2026-11/pdf');
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(pdf.headers.get('content-disposition')).toBe('attachment; filename="SB-2026-11-0001.pdf"');
    expect(await pdf.text()).toBe('%PDF-1.7 x');
    const xml = await browser.request('/rechnungen/2026-11/xrechnung');
    expect(await xml.text()).toBe('<Invoice/>');
    expect((await (await signedIn('sue')).request('/rechnungen/2026-11/pdf')).status).toBe(403);
    expect((await browser.request('/rechnungen/2026-10')).status).toBe(404);
  });
});

describe('live view', () => {
  it("shows every department's waiting callers and agents to an admin", async () => {
    aggregateOnly = false;
    const html = await (await (await signedIn('anna')).request('/live')).text();
    expect(html).toContain('2 Anrufende warten, 1 Mitarbeitende frei.');
    expect(html).toContain('<caption>Wartende Anrufe der Abteilung Bauamt</caption>');
    expect(html).toContain('<td>1</td><td>09:59:30</td><td>wird verbunden</td>');
    expect(html).toContain('<td>S-1</td><td><span class="agent-state agent-state-4">im Gespräch</span>');
    expect(html).toContain('<h2 id="abteilung-zentrale">Zentrale</h2>');
  });

  it('shows a department lead only their own department', async () => {
    const sue = await signedIn('sue');
    const html = await (await sue.request('/live')).text();
    expect(html).toContain('<h2 id="abteilung-bauamt">Bauamt</h2>');
    expect(html).not.toContain('Zentrale');
    const api = (await (await sue.request('/api/live')).json()) as {
      departments: { departmentId: string; waiting: unknown[] }[];
    };
    expect(api.departments.map((department) => [department.departmentId, department.waiting.length])).toEqual([
      ['bauamt', 2],
    ]);
    expect((await (await signedIn('fritz')).request('/live')).status).toBe(403);
  });

  it('says so when presence hides who is on a call (aggregate-only statistics)', async () => {
    aggregateOnly = true;
    const html = await (await (await signedIn('anna')).request('/live')).text();
    expect(html).toContain('nur zusammengefasste Statistik');
    expect(html).toContain('2 Anrufende warten.');
    expect(html).not.toContain('im Gespräch');
  });
});
