import * as grpc from '@grpc/grpc-js';
import { loadProtoPackageDefinition } from '@switchboard/proto';
import { ROLES, type Role } from '@switchboard/service-kit';
import { startStack, type ServiceName, type Stack } from '@switchboard/stack';
import { fuzzGrpcService, type FuzzedCall } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DECLARED } from '../../../scripts/policy-table.js';
import { protoFileDeclaring } from './protos.js';

// Every gRPC method of every service, on the whole system as it runs (the embedded stack on the
// emulator), gets seeded random and malformed requests from a role its policy lets in: no answer
// may be INTERNAL or UNKNOWN, and every service is still ready afterwards. Volume is modest on
// purpose (CI's two cores); FUZZ_RUNS and FUZZ_SEED widen or vary a local run.

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 12);
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261203);

/** A role the method's policy admits at tenant level, so the request reaches the handler. */
function roleFor(allow: Partial<Record<Role, unknown>>): Role {
  const preferred: Role[] = ['operator', 'admin', 'service', 'finance', 'supervisor', 'agent'];
  const role = preferred.find((candidate) => allow[candidate] !== undefined);
  if (!role) throw new Error(`a policy admits none of ${ROLES.join(', ')}`);
  return role;
}

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ alwaysOpen: true, handleSignals: false });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
});

describe('bad input on every gRPC method', () => {
  it.each(DECLARED.map((entry) => [entry.folder, entry] as const))(
    '%s answers every generated request with a clear status and stays ready',
    async (folder, { definition, policy }) => {
      const [, qualified = ''] = /^\/([^/]+)\//.exec(Object.values(definition)[0]!.path) ?? [];
      const serviceName = qualified.split('.').at(-1)!;
      const codes = new Map<string, number>();
      const tokens = new Map<Role, Promise<string>>();
      await fuzzGrpcService({
        address: stack.grpcAddress(folder as ServiceName),
        definition: loadProtoPackageDefinition([protoFileDeclaring(`service ${serviceName} {`)]),
        service: qualified,
        token: (method) => {
          const key = method.charAt(0).toLowerCase() + method.slice(1);
          const role = roleFor((policy[key] as { allow: Partial<Record<Role, unknown>> }).allow);
          if (!tokens.has(role)) {
            tokens.set(
              role,
              stack.token({ role, tenantId: role === 'operator' || role === 'service' ? 'provider' : stack.tenantId }),
            );
          }
          return tokens.get(role)!;
        },
        hints: { tenantId: stack.tenantId, strings: ['+4946241230', '+491701234567', 'buergerbuero', '2026-03'] },
        seed: SEED,
        runs: RUNS,
        timeoutMs: 15_000,
        onCall: (call: FuzzedCall) => {
          const key = grpc.status[call.code]!;
          codes.set(key, (codes.get(key) ?? 0) + 1);
        },
      });
      expect([...codes.values()].reduce((sum, count) => sum + count, 0)).toBeGreaterThan(RUNS);
      // Raw bytes that are no message at all must be refused as such, not reach a handler.
      expect(codes.get('INVALID_ARGUMENT') ?? 0).toBeGreaterThan(0);
      const http = stack.services.find((service) => service.name === folder)!.httpPort;
      expect((await fetch(`http://127.0.0.1:${http}/readyz`)).status).toBe(200);
    },
    240_000,
  );
});
