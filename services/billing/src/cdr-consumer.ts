import { RatingEvents } from '@switchboard/events';
import type { ratingV1 } from '@switchboard/proto';
import { PoisonMessageError, type DeliveredMessage } from '@switchboard/service-kit';
import { isMonth } from './months.js';
import type { RatedLegStore, StoredLeg } from './rated-legs.js';

export const CDR_CONSUMER = 'billing-cdr-rated';

function integer(field: string, value: string | number): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number))
    throw new PoisonMessageError(`rated leg field ${field} "${value}" is not an integer`);
  return number;
}

/** Checks a rated leg from the wire and turns it into the stored shape; bad input is poison. */
export function toStoredLeg(leg: ratingV1.RatedLeg | undefined, tenantId: string, receivedAt: Date): StoredLeg {
  if (!leg) throw new PoisonMessageError('cdr.rated event carries no leg');
  const problems: string[] = [];
  if (leg.tenantId !== tenantId) problems.push(`leg tenant "${leg.tenantId}" is not the event's "${tenantId}"`);
  if (!leg.callId) problems.push('call_id is empty');
  if (!leg.legId) problems.push('leg_id is empty');
  if (!leg.siteId) problems.push('site_id is empty');
  if (!leg.destinationClass) problems.push('destination_class is empty');
  if (!isMonth(leg.billingMonth)) problems.push(`billing_month "${leg.billingMonth}" is not YYYY-MM`);
  if (!leg.startedAt) problems.push('started_at is missing');
  if (leg.ratingVersion < 1) problems.push('rating_version must be at least 1');
  if (leg.billedSeconds < 0 || leg.bundleSeconds < 0 || leg.overageSeconds < 0) problems.push('negative seconds');
  for (const [index, charge] of leg.charges.entries()) {
    if (charge.seconds < 0) problems.push(`charges.${index}.seconds is negative`);
  }
  const charged = leg.charges.reduce((sum, charge) => sum + Number(charge.amount), 0);
  if (leg.charges.length > 0 && charged !== Number(leg.amount) - Number(leg.connectionFee)) {
    problems.push(`charges add up to ${charged}, not amount - connection_fee (${leg.amount} - ${leg.connectionFee})`);
  }
  if (problems.length > 0) {
    throw new PoisonMessageError(`rated leg ${leg.callId}/${leg.legId}: ${problems.join('; ')}`);
  }
  return {
    tenantId,
    callId: leg.callId,
    legId: leg.legId,
    ratingVersion: leg.ratingVersion,
    siteId: leg.siteId,
    startedAt: leg.startedAt as Date,
    billingMonth: leg.billingMonth,
    destination: leg.destination,
    destinationClass: leg.destinationClass,
    durationSeconds: leg.durationSeconds,
    billedSeconds: leg.billedSeconds,
    pool: leg.pool,
    bundleSeconds: leg.bundleSeconds,
    overageSeconds: leg.overageSeconds,
    connectionFee: integer('connection_fee', leg.connectionFee),
    amount: integer('amount', leg.amount),
    tariffId: leg.tariffId,
    tariffVersion: leg.tariffVersion,
    ...(leg.charges.length > 0
      ? {
          charges: leg.charges.map((charge, index) => ({
            pricePerMinute: integer(`charges.${index}.price_per_minute`, charge.pricePerMinute),
            seconds: charge.seconds,
            amount: integer(`charges.${index}.amount`, charge.amount),
          })),
        }
      : {}),
    traceparent: leg.traceparent,
    receivedAt,
  };
}

/**
 * Groups the legs of messages handled at once into one bulk write: a message is acked only after
 * the write that holds its leg succeeded, and a failed write fails (and so retries) each of them.
 */
export class LegBatcher {
  private waiting: Array<{ leg: StoredLeg; done: (error?: unknown) => void }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: RatedLegStore,
    private readonly maxBatch = 64,
    private readonly maxDelayMs = 5,
  ) {}

  write(leg: StoredLeg): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ leg, done: (error) => (error === undefined ? resolve() : reject(error)) });
      if (this.waiting.length >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    // The store orders batches itself (and stores one while the one before finishes).
    this.store.record(batch.map((entry) => entry.leg)).then(
      () => batch.forEach((entry) => entry.done()),
      (error: unknown) => batch.forEach((entry) => entry.done(error ?? new Error('write failed'))),
    );
  }
}

/** Stores each rated leg version once; redeliveries and duplicates change nothing. */
export function cdrRatedHandler(batcher: LegBatcher, clock: () => Date = () => new Date()) {
  return async (message: DeliveredMessage): Promise<void> => {
    const event = message.decode(RatingEvents.cdrRated);
    await batcher.write(toStoredLeg(event.leg, event.meta?.tenantId ?? '', clock()));
  };
}
