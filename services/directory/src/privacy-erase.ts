import * as grpc from '@grpc/grpc-js';
import { normalizeNumber, shortenNumber } from '@switchboard/numbering';
import type { directoryServiceV1 } from '@switchboard/proto';
import { PRIVACY_SERVICES, privacyEraseClient, type PrivacyService } from '@switchboard/rpc-clients';
import { GrpcStatusError, type NatsHandle } from '@switchboard/service-kit';

export type NumberEraser = (tenantId: string, number: string) => Promise<directoryServiceV1.EraseNumberResponse>;

/**
 * EraseNumber's fan-out: every service that stores citizens' numbers shortens this one for the
 * tenant and says what it changed. All are asked at once; any that does not answer fails the call
 * (UNAVAILABLE, naming it) — the others have shortened it already, and a retry repeats nothing.
 */
export function numberEraser(
  nats: NatsHandle,
  timeoutMs: number,
  services: readonly PrivacyService[] = PRIVACY_SERVICES,
): NumberEraser {
  const clients = services.map((service) => ({ service, client: privacyEraseClient(nats, service, timeoutMs) }));
  return async (tenantId, input) => {
    const normalized = normalizeNumber(input);
    if (normalized.kind !== 'e164') {
      throw new GrpcStatusError(
        grpc.status.INVALID_ARGUMENT,
        `number "${input}" is no citizen's number: give it as +49… (or 0… for a German number)`,
      );
    }
    const number = normalized.number;
    const answers = await Promise.allSettled(clients.map(({ client }) => client.eraseNumber({ tenantId, number })));
    const failed = answers.flatMap((answer, index) =>
      answer.status === 'rejected'
        ? [`${clients[index]!.service} (${(answer.reason as Error).message ?? String(answer.reason)})`]
        : [],
    );
    if (failed.length > 0) {
      throw new GrpcStatusError(
        grpc.status.UNAVAILABLE,
        `erase incomplete, no answer from ${failed.join(', ')}; the others have shortened the number — ` +
          'try again (erasing twice changes nothing)',
      );
    }
    const changes = answers
      .flatMap((answer) => (answer.status === 'fulfilled' ? answer.value.changes : []))
      .sort((a, b) => a.service.localeCompare(b.service) || a.kind.localeCompare(b.kind));
    return { number, shortened: shortenNumber(number), changes };
  };
}
