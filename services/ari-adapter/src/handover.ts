import type { KV } from '@nats-io/kv';
import { callV1 } from '@switchboard/proto';
import type { Logger } from '@switchboard/service-kit';
import { z } from 'zod';
import { legMessage, type CallRecord } from './calls.js';

// A stop (SIGTERM) leaves the live calls to the next process, which rebuilds them from what Asterisk
// kept (call-memory.ts). A call whose channels all go while no process listens — both parties hang
// up during the restart — leaves nothing there: its call.ended would never be published and it would
// never be billed. So the stopping process writes each live call, with every leg as call.ended would
// carry it so far, into the KV bucket `adapter-handover` (one entry per call, key `<adapter>.<call>`),
// and the next process ends those it does not find in Asterisk, then deletes the entries. Cost: one
// KV write per live call at a stop and one read and delete at the next start; nothing per call.

const entry = z.object({
  callId: z.string().min(1),
  tenantId: z.string().min(1),
  direction: z.number().int(),
  dialedNumber: z.string(),
  callerName: z.string(),
  startedAt: z.iso.datetime(),
  /** Every leg, the caller's first, as `callV1.Leg` JSON. */
  legs: z.array(z.unknown()).min(1),
});

/** A call a stopped process handed over, with its legs as they were then. */
export interface HandedOverCall {
  callId: string;
  tenantId: string;
  direction: callV1.CallDirection;
  dialedNumber: string;
  callerName: string;
  startedAt: Date;
  legs: callV1.Leg[];
}

export class CallHandover {
  constructor(
    private readonly kv: KV,
    private readonly adapterId: string,
    private readonly logger: Logger,
  ) {}

  /** Writes the calls this process leaves to the next one. */
  async leave(calls: readonly CallRecord[]): Promise<void> {
    await Promise.all(
      calls.map((call) =>
        this.kv.put(
          this.key(call.callId),
          JSON.stringify({
            callId: call.callId,
            tenantId: call.tenantId,
            direction: call.direction,
            dialedNumber: call.dialedNumber,
            callerName: call.callerName,
            startedAt: call.startedAt.toISOString(),
            legs: [...call.legs.values()].map((leg) => callV1.Leg.toJSON(legMessage(leg))),
          }),
        ),
      ),
    );
  }

  /** The calls the last process left (an entry that cannot be read is logged and left out). */
  async take(): Promise<HandedOverCall[]> {
    const calls: HandedOverCall[] = [];
    for await (const key of await this.kv.keys(`${this.adapterId}.>`)) {
      const stored = await this.kv.get(key);
      if (!stored || stored.operation !== 'PUT') continue;
      const parsed = entry.safeParse(safeJson(stored.string()));
      if (!parsed.success) {
        this.logger.error({ key, issues: parsed.error.issues }, 'unreadable handed-over call left out');
        continue;
      }
      const { legs, startedAt, ...fields } = parsed.data;
      calls.push({ ...fields, startedAt: new Date(startedAt), legs: legs.map((leg) => callV1.Leg.fromJSON(leg)) });
    }
    return calls;
  }

  /** Deletes what `take` returned: it was handled. */
  async forget(calls: readonly HandedOverCall[]): Promise<void> {
    await Promise.all(calls.map((call) => this.kv.delete(this.key(call.callId))));
  }

  private key(callId: string): string {
    return `${this.adapterId}.${callId}`;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
