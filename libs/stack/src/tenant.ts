import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import type { AriSim, EndpointBehavior } from '@switchboard/ari-sim';
import { directoryServiceV1, type directoryV1, ivrServiceV1, presenceV1 } from '@switchboard/proto';
import { parse } from 'yaml';

/** What the stack reads from a directory import document (the rest is the directory's business). */
export interface TenantDocument {
  tenant: { tenantId: string; closingDays?: unknown[] };
  sites: { siteId: string; openingHours?: unknown[]; closingDays?: unknown[] }[];
  numbers: { number: string; kind: string; entryPoint?: { kind: string; target: string } }[];
  departments: {
    departmentId: string;
    name: string;
    members: { staffId: string }[];
    openingHours?: unknown[];
    closingDays?: unknown[];
  }[];
  staff: {
    staffId: string;
    displayName: string;
    extension: string;
    devices: string[];
    homeOffice?: boolean;
    homeOfficeNumber?: string;
  }[];
}

export interface LoadedTenant {
  readonly tenantId: string;
  readonly document: TenantDocument;
  /** The text sent to the directory (the file, or the always-open variant of it). */
  readonly text: string;
}

const WEEK = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/**
 * Reads a tenant document. `alwaysOpen` replaces every site's and department's hours by the whole
 * week and drops the local closing days, so a demo at night or on a Sunday does not take the
 * closed branch (public holidays of the federal state still apply).
 */
export async function readTenant(file: string, alwaysOpen: boolean): Promise<LoadedTenant> {
  const text = await readFile(file, 'utf8');
  const document = parse(text) as TenantDocument;
  if (!document?.tenant?.tenantId) throw new Error(`${file} is not a tenant document (no tenant.tenantId)`);
  if (!alwaysOpen) return { tenantId: document.tenant.tenantId, document, text };
  const allWeek = WEEK.map((day) => ({ day, from: '00:00', to: '24:00' }));
  const open: TenantDocument = {
    ...document,
    tenant: { ...document.tenant, closingDays: [] },
    sites: document.sites.map((site) => ({ ...site, openingHours: allWeek, closingDays: [] })),
    departments: document.departments.map((department) => ({ ...department, openingHours: [], closingDays: [] })),
  };
  return { tenantId: document.tenant.tenantId, document: open, text: JSON.stringify(open) };
}

/**
 * The ari-adapter's NUMBER_PLAN for a stack without the directory (with it, the adapter reads the
 * plan there): the tenant's numbers (a direct-dial range is its prefix) and devices.
 */
export function numberPlan(tenant: LoadedTenant): string {
  const { document, tenantId } = tenant;
  return JSON.stringify({
    fallbackTenant: tenantId,
    tenants: [
      {
        tenantId,
        numberPrefixes: document.numbers.map((number) => number.number),
        endpointPrefixes: document.staff.flatMap((person) => person.devices),
      },
    ],
  });
}

/** Every staff phone as an ari-sim endpoint, and every home-office number as a trunk number. */
export function configurePhones(sim: AriSim, document: TenantDocument, behavior: EndpointBehavior): void {
  for (const person of document.staff) {
    for (const device of person.devices) sim.setEndpoint(`PJSIP/${device}`, behavior);
    if (person.homeOfficeNumber) sim.setEndpoint(`PJSIP/${person.homeOfficeNumber}@trunk`, behavior);
  }
}

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => unknown;

function unary<Req, Res>(client: grpc.Client, method: unknown, request: Req, token: string): Promise<Res> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) =>
    (method as Unary<Req, Res>).call(client, request, metadata, (error, response) =>
      error ? reject(error) : resolve(response),
    ),
  );
}

const address = (port: number) => `127.0.0.1:${port}`;
const insecure = grpc.credentials.createInsecure();

export async function importTenant(port: number, token: string, tenant: LoadedTenant): Promise<void> {
  const client = new directoryServiceV1.DirectoryServiceClient(address(port), insecure);
  try {
    await unary(client, client.importTenant, { tenantId: tenant.tenantId, document: tenant.text }, token);
  } finally {
    client.close();
  }
}

/**
 * The number pool the demo tenant gets, so the portal's pool page has free numbers: inside Amt
 * Kropp's own direct-dial range +49462472 (which the directory allows) and clear of its other numbers.
 */
export const DEMO_POOL: directoryV1.NumberPool = {
  poolId: 'kropp-selbstbedienung',
  name: 'Selbstbedienung Kropp',
  blocks: [{ first: '+49462472010', last: '+49462472099' }],
};

/** Assigns the tenant a number pool (AssignNumberPool is the provider's: `token` is an operator's). */
export async function assignPool(
  port: number,
  token: string,
  tenantId: string,
  pool: directoryV1.NumberPool,
): Promise<void> {
  const client = new directoryServiceV1.DirectoryServiceClient(address(port), insecure);
  try {
    await unary(client, client.assignNumberPool, { tenantId, pool }, token);
  } finally {
    client.close();
  }
}

/** Saves the menus of a file (`menus:` as proto JSON of `switchboard.ivr.v1.Menu`) for the tenant. */
export async function saveMenus(port: number, token: string, tenantId: string, file: string): Promise<number> {
  const parsed = parse(await readFile(file, 'utf8')) as { menus?: unknown[] };
  if (!Array.isArray(parsed?.menus)) throw new Error(`${file} has no menus list`);
  const menus = parsed.menus.map((menu) => ({ ...ivrServiceV1.Menu.fromJSON(menu), tenantId }));
  const client = new ivrServiceV1.IvrServiceClient(address(port), insecure);
  try {
    await unary(client, client.saveMenus, ivrServiceV1.SaveMenusRequest.fromPartial({ tenantId, menus }), token);
    return menus.length;
  } finally {
    client.close();
  }
}

/**
 * Waits until presence has an agent for every staff member (it learns them from the directory's
 * change events) and, with `available`, signs every agent in as a shift start would.
 */
export async function awaitAgents(
  port: number,
  token: string,
  tenant: LoadedTenant,
  available: boolean,
  timeoutMs: number,
): Promise<void> {
  const client = new presenceV1.PresenceServiceClient(address(port), insecure);
  const expected = tenant.document.staff.length;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const { agents } = await unary<presenceV1.ListAgentsRequest, presenceV1.ListAgentsResponse>(
        client,
        client.listAgents,
        { tenantId: tenant.tenantId, departmentId: '' },
        token,
      );
      if (agents.length >= expected) break;
      if (Date.now() > deadline) {
        throw new Error(`presence knows ${agents.length} of ${expected} staff after ${timeoutMs} ms (directory sync)`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!available) return;
    await Promise.all(
      tenant.document.staff.map((person) =>
        unary(
          client,
          client.setState,
          {
            tenantId: tenant.tenantId,
            agentId: person.staffId,
            state: presenceV1.AgentState.AGENT_STATE_AVAILABLE,
          },
          token,
        ),
      ),
    );
  } finally {
    client.close();
  }
}

/** Sets agents' own state (available, away, offline) as they would from their phone or the portal. */
export async function setAgentStates(
  port: number,
  token: string,
  tenantId: string,
  agentIds: readonly string[],
  state: presenceV1.AgentState,
): Promise<void> {
  const client = new presenceV1.PresenceServiceClient(address(port), insecure);
  try {
    await Promise.all(agentIds.map((agentId) => unary(client, client.setState, { tenantId, agentId, state }, token)));
  } finally {
    client.close();
  }
}

/** The agents presence knows for a department (every agent of the tenant for `''`). */
export async function listAgents(
  port: number,
  token: string,
  tenantId: string,
  departmentId: string,
): Promise<presenceV1.Agent[]> {
  const client = new presenceV1.PresenceServiceClient(address(port), insecure);
  try {
    const response = await unary<presenceV1.ListAgentsRequest, presenceV1.ListAgentsResponse>(
      client,
      client.listAgents,
      { tenantId, departmentId },
      token,
    );
    return response.agents;
  } finally {
    client.close();
  }
}

/** A device's new SIP password, as an administrator gets it once to set up the phone. */
export async function rotateDevicePassword(
  port: number,
  token: string,
  tenantId: string,
  deviceId: string,
): Promise<directoryServiceV1.RotateDevicePasswordResponse> {
  const client = new directoryServiceV1.DirectoryServiceClient(address(port), insecure);
  try {
    return await unary<directoryServiceV1.RotateDevicePasswordRequest, directoryServiceV1.RotateDevicePasswordResponse>(
      client,
      client.rotateDevicePassword,
      { tenantId, deviceId },
      token,
    );
  } finally {
    client.close();
  }
}
