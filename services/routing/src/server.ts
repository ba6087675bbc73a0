import * as grpc from '@grpc/grpc-js';
import { type routingV1 } from '@switchboard/proto';
import { GrpcStatusError, type RpcHandlers } from '@switchboard/service-kit';
import type { CallStateStore } from './call-state.js';
import type { DepartmentQueues } from './department-queue.js';
import { SERVICE_LEVEL_THRESHOLD_MS, type ServiceLevels } from './service-level.js';

/** ListCalls and GetQueue: read-only views of the call state and queue buckets; GetServiceLevel from memory. */
export function routingApi(
  states: CallStateStore,
  queues: DepartmentQueues,
  serviceLevels: ServiceLevels,
): RpcHandlers<typeof routingV1.RoutingServiceService> {
  const required = (field: string, value: string) => {
    if (!value) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, `${field} is required`);
    return value;
  };
  return {
    listCalls: async (request) => {
      const tenantId = required('tenant_id', request.tenantId);
      const live = (await states.list(tenantId)).filter(
        (state) => state.step !== 'ended' && (!request.departmentId || state.departmentId === request.departmentId),
      );
      live.sort((a, b) => a.startedAt - b.startedAt);
      return {
        calls: live.map((state) => {
          const waiting = state.step === 'queued' || state.step === 'ringing';
          const position =
            waiting && state.departmentId && state.queueKey
              ? (queues.position(tenantId, state.departmentId, state.queueKey)?.position ?? 0)
              : 0;
          return {
            callId: state.callId,
            step: state.step,
            departmentId: state.departmentId ?? '',
            agentId: state.agentId ?? '',
            queuePosition: position,
            startedAt: new Date(state.startedAt),
            enqueuedAt: waiting && state.enqueuedAt ? new Date(state.enqueuedAt) : undefined,
            owner: state.owner,
            caller: state.caller,
            dialedNumber: state.dialedNumber,
          };
        }),
      };
    },
    getQueue: async (request) => {
      const tenantId = required('tenant_id', request.tenantId);
      const departmentId = required('department_id', request.departmentId);
      return {
        entries: queues.entries(tenantId, departmentId).map((entry, index) => ({
          callId: entry.callId,
          position: index + 1,
          enqueuedAt: new Date(entry.enqueuedAt),
          ringing: entry.ringing,
        })),
      };
    },
    getServiceLevel: async (request) => {
      const tenantId = required('tenant_id', request.tenantId);
      const departmentIds = request.departmentIds.length
        ? [...new Set(request.departmentIds)]
        : serviceLevels.departments(tenantId).sort();
      return {
        departments: departmentIds.map((departmentId) => {
          const { day, counts } = serviceLevels.today(tenantId, departmentId);
          return {
            departmentId,
            offered: counts.answered + counts.abandoned + counts.leftUnanswered,
            answered: counts.answered,
            answeredWithinThreshold: counts.answeredWithinThreshold,
            abandoned: counts.abandoned,
            leftUnanswered: counts.leftUnanswered,
            thresholdSeconds: SERVICE_LEVEL_THRESHOLD_MS / 1000,
            day,
          };
        }),
      };
    },
  };
}
