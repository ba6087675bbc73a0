import * as grpc from '@grpc/grpc-js';
import type { JetStreamManager } from '@nats-io/jetstream';
import { directoryRpcClient, type DirectoryRpcClient } from '@switchboard/rpc-clients';
import { DIRECTORY_STREAM, DirectoryEvents, allTenantsSubject, tenantOfSubject } from '@switchboard/events';
import { type presenceV1, type directoryEventsV1, type directoryV1 } from '@switchboard/proto';
import {
  GrpcStatusError,
  KeyedCoalescer,
  PoisonMessageError,
  type ConsumerOptions,
  type DeliveredMessage,
  type Logger,
  type NatsHandle,
} from '@switchboard/service-kit';
import type { AgentStore } from './agent-store.js';
import { newAgent, updateProfile } from './transitions.js';

type Agent = presenceV1.Agent;
type TenantChanged = directoryEventsV1.TenantChanged;
type Profile = presenceV1.UpsertAgentRequest & { homeOffice: boolean };

export const DIRECTORY_SYNC_DURABLE = 'presence-directory-sync';

/** What presence keeps of a staff member: the profile the directory defines, not the live state. */
export function profilesOf(
  tenantId: string,
  staff: readonly directoryV1.Staff[],
  departments: readonly directoryV1.Department[],
): Profile[] {
  return staff.map((person) => ({
    tenantId,
    agentId: person.staffId,
    displayName: person.displayName,
    departments: departments.flatMap((department) => {
      const member = department.members.find((candidate) => candidate.staffId === person.staffId);
      if (!member) return [];
      return [
        {
          departmentId: department.departmentId,
          wrapUpSeconds: department.wrapUpSeconds,
          priority: member.priority,
          tierDelaySeconds: department.tierDelaySeconds,
        },
      ];
    }),
    // The directory ranks members per department (the tiers above), not skills: a skill is named
    // only, so every skill is a first choice.
    skills: person.skills.map((name) => ({ name, priority: 1 })),
    // The directory names PJSIP endpoints; presence hands out dialable resources.
    devices: person.devices.map((device) => (device.includes('/') ? device : `PJSIP/${device}`)),
    homeOfficeNumber: person.homeOfficeNumber,
    homeOffice: person.homeOffice,
  }));
}

type Membership = presenceV1.DepartmentMembership;
type Skill = presenceV1.Skill;

function sameList<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): boolean {
  return a.length === b.length && a.every((item, index) => same(item, b[index]!));
}

const sameMembership = (a: Membership, b: Membership) =>
  a.departmentId === b.departmentId &&
  a.wrapUpSeconds === b.wrapUpSeconds &&
  a.priority === b.priority &&
  a.tierDelaySeconds === b.tierDelaySeconds;
const sameSkill = (a: Skill, b: Skill) => a.name === b.name && a.priority === b.priority;

/** Whether the agent already has the profile: every field updateProfile sets, compared directly. */
export function sameProfile(agent: Agent, profile: Profile): boolean {
  return (
    agent.displayName === profile.displayName &&
    agent.homeOfficeNumber === profile.homeOfficeNumber &&
    sameList(agent.devices, profile.devices, (a, b) => a === b) &&
    sameList(agent.departments, profile.departments, sameMembership) &&
    sameList(agent.skills, profile.skills, sameSkill)
  );
}

/**
 * Keeps presence's agents equal to the directory's staff: a tenant is always reloaded whole
 * (staff and departments over the directory's NATS request/reply) and reconciled, so applying
 * the same change twice, or out of order, converges on the same agents. Only profiles change;
 * state, reservations and calls stay as they are. The home-office flag is taken from the
 * directory when the agent is created; after that it is the agent's own (SetHomeOffice).
 */
export class DirectorySync {
  private readonly reloads = new KeyedCoalescer<number>();
  private readonly directory: DirectoryRpcClient;
  /**
   * Told each tenant change — the tenant, or undefined when deleted or when the event may be stale
   * (redelivered): forget the tenant's settings. Presence's privacy settings follow it.
   */
  onTenantChanged?: (tenantId: string, tenant: directoryV1.Tenant | undefined) => void;

  constructor(
    nats: NatsHandle,
    private readonly store: AgentStore,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.directory = directoryRpcClient(nats, 10_000);
  }

  /**
   * Reloads one tenant; resolves to the number of agents written or removed. One reload of a
   * tenant runs at a time, and requests made while the next one waits share it: it starts after
   * them, so it reads their changes too. A tenant's import (an event per staff member) then costs
   * a few reloads instead of one per event.
   */
  syncTenant(tenantId: string): Promise<number> {
    return this.reloads.run(tenantId, () => this.reconcile(tenantId));
  }

  private async reconcile(tenantId: string): Promise<number> {
    let profiles: Profile[];
    try {
      const [{ staff }, { departments }] = await Promise.all([
        this.directory.listStaff({ tenantId }),
        this.directory.listDepartments({ tenantId }),
      ]);
      profiles = profilesOf(tenantId, staff, departments);
    } catch (error) {
      // The directory reads its store: NOT_FOUND means the tenant is gone, so are its agents.
      if (!(error instanceof GrpcStatusError && error.code === grpc.status.NOT_FOUND)) throw error;
      profiles = [];
    }
    let changes = 0;
    const wanted = new Set(profiles.map((profile) => profile.agentId));
    for (const profile of profiles) {
      const cached = this.store.get(tenantId, profile.agentId);
      if (cached && sameProfile(cached.agent, profile)) continue;
      const { changed } = await this.store.mutate(tenantId, profile.agentId, (current) => {
        if (!current) return { ...newAgent(profile, this.now()), homeOffice: profile.homeOffice };
        if (sameProfile(current, profile)) return undefined;
        const next = updateProfile(current, profile);
        // Without a number there is nowhere to forward to.
        return next.homeOfficeNumber ? next : { ...next, homeOffice: false };
      });
      if (changed) changes++;
    }
    for (const agent of this.store.list(tenantId)) {
      if (wanted.has(agent.agentId)) continue;
      await this.store.remove(tenantId, agent.agentId);
      changes++;
    }
    if (changes > 0) this.logger.info({ tenantId, changes, agents: profiles.length }, 'agents synced from directory');
    return changes;
  }

  /**
   * Tenants to load at start: those presence has agents of, and those the directory has
   * published changes for (the DIRECTORY stream's subjects), so missed events converge.
   */
  async knownTenants(jsm: JetStreamManager): Promise<string[]> {
    const tenants = new Set(this.store.tenants());
    const info = await jsm.streams.info(DIRECTORY_STREAM.name, {
      subjects_filter: allTenantsSubject('directory', 'tenant_changed'),
    });
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const tenantId = tenantOfSubject(subject);
      if (tenantId) tenants.add(tenantId);
    }
    return [...tenants].sort();
  }

  /** Durable consumer of the directory's changes: each reloads its tenant (idempotent). */
  consumer(): ConsumerOptions {
    const decoders: Record<string, (message: DeliveredMessage) => unknown> = {
      tenant_changed: (message) => message.decode(DirectoryEvents.tenantChanged),
      department_changed: (message) => message.decode(DirectoryEvents.departmentChanged),
      staff_changed: (message) => message.decode(DirectoryEvents.staffChanged),
    };
    return {
      stream: DIRECTORY_STREAM,
      durable: DIRECTORY_SYNC_DURABLE,
      filterSubjects: Object.keys(decoders).map((event) => allTenantsSubject('directory', event)),
      // Several events in hand at once, so a burst of one tenant's changes shares its reloads.
      concurrency: 32,
      // A reload reads the whole tenant, so a repeat changes nothing: no round trip per ack.
      ack: 'fire-and-forget',
      handler: async (message) => {
        const tenantId = tenantOfSubject(message.subject);
        const event = message.subject.split('.').at(-1) ?? '';
        const decode = decoders[event];
        if (!tenantId || !decode) throw new PoisonMessageError(`unexpected directory event on ${message.subject}`);
        // A payload that does not decode is parked; the reload itself needs nothing from it.
        const payload = decode(message);
        // Handlers start in delivery order, so first deliveries apply in the stream's order; a
        // redelivery may be older than a change already applied: it only makes the setting be
        // asked of the directory again.
        if (event === 'tenant_changed') {
          this.onTenantChanged?.(tenantId, message.deliveryCount === 1 ? (payload as TenantChanged).tenant : undefined);
        }
        await this.syncTenant(tenantId);
      },
    };
  }
}
