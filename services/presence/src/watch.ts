import * as grpc from '@grpc/grpc-js';
import { KvWatchInclude } from '@nats-io/kv';
import { presenceV1 } from '@switchboard/proto';
import { currentPrincipal, type Logger, type Principal } from '@switchboard/service-kit';
import { checkId, type AgentStore } from './agent-store.js';
import type { AgentView } from './privacy.js';
import { isMember } from './strategies.js';

/**
 * WatchAgents: a KV watch on the tenant's keys, so the stream shows every state change any
 * replica wrote, in order, starting with each agent's current state — each as the caller may see
 * it (`viewFor`, aggregate-only statistics); a change that does not show in that view is not sent,
 * so the stream's timing tells no more than its content.
 */
export function watchAgents(
  store: AgentStore,
  logger: Logger,
  viewFor: (tenantId: string, principal: Principal) => Promise<AgentView>,
) {
  const open = new Set<() => void>();
  const handler = (call: grpc.ServerWritableStream<presenceV1.WatchAgentsRequest, presenceV1.WatchAgentsResponse>) => {
    const { tenantId, departmentId } = call.request;
    let key: string;
    try {
      key = `${checkId('tenant_id', tenantId)}.*`;
      if (departmentId) checkId('department_id', departmentId);
    } catch (error) {
      call.emit('error', error);
      return;
    }
    const principal = currentPrincipal();
    void (async () => {
      const view = await viewFor(tenantId, principal);
      const sent = new Map<string, string>();
      const watch = await store.kv.watch({ key, include: KvWatchInclude.LastValue, ignoreDeletes: true });
      const end = () => {
        open.delete(end);
        watch.stop();
      };
      open.add(end);
      call.on('cancelled', end);
      call.on('close', end);
      for await (const entry of watch) {
        if (call.cancelled) break;
        const agent = presenceV1.Agent.decode(entry.value);
        if (departmentId && !isMember(agent, departmentId)) continue;
        const shown = view(agent);
        const text = JSON.stringify(presenceV1.Agent.toJSON(shown));
        if (sent.get(shown.agentId) === text) continue;
        sent.set(shown.agentId, text);
        call.write({ agent: shown });
      }
      if (!call.cancelled) call.end();
    })().catch((error: unknown) => {
      logger.warn({ err: error, tenantId }, 'agent watch ended');
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'agent watch ended; reconnect' });
    });
  };
  /** Ends every open stream (shutdown): clients reconnect to another replica. */
  const closeAll = () => {
    for (const end of [...open]) end();
  };
  return { handler, closeAll };
}
