import type { presenceV1 } from '@switchboard/proto';

type Agent = presenceV1.Agent;

/** The lines an agent answers on: their devices and, prefixed, their home-office number. */
function linesOf(agent: Agent | undefined): string[] {
  if (!agent) return [];
  const lines = [...agent.devices];
  if (agent.homeOfficeNumber) lines.push(homeOfficeLine(agent.homeOfficeNumber));
  return lines;
}

export function homeOfficeLine(number: string): string {
  return `home:${number}`;
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((line, index) => line === b[index]);
}

/**
 * Which agent a device or home-office number belongs to, per tenant, kept up to date from the
 * store's copy: a state change leaves the lines alone and costs one comparison. A line two
 * agents share (a shared desk phone) belongs to nobody: presence cannot tell who is on it.
 */
export class LineIndex {
  private readonly owners = new Map<string, Map<string, Set<string>>>();

  update(tenantId: string, agentId: string, before: Agent | undefined, after: Agent | undefined): void {
    const old = linesOf(before);
    const next = linesOf(after);
    if (sameLines(old, next)) return;
    let tenant = this.owners.get(tenantId);
    if (!tenant) this.owners.set(tenantId, (tenant = new Map()));
    for (const line of old) {
      const agents = tenant.get(line);
      agents?.delete(agentId);
      if (agents?.size === 0) tenant.delete(line);
    }
    for (const line of next) {
      let agents = tenant.get(line);
      if (!agents) tenant.set(line, (agents = new Set()));
      agents.add(agentId);
    }
  }

  /** The one agent answering on `line`, if exactly one does. */
  ownerOf(tenantId: string, line: string): string | undefined {
    const agents = this.owners.get(tenantId)?.get(line);
    if (!agents || agents.size !== 1) return undefined;
    return agents.values().next().value;
  }
}
