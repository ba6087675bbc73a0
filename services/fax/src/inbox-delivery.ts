import type { Counter } from '@opentelemetry/api';
import type { Logger } from '@switchboard/service-kit';
import type { UpdateFilter } from 'mongodb';
import type { Mailer, OutgoingMail } from './fax-mail.js';
import type { ObjectInbox } from './inbox-object.js';
import type { InboxRecord, InboxRecords } from './inbox-records.js';
import type { MailboxResolver } from './mailbox-resolver.js';

/** A delivery that failed and will be tried again: the consumer naks the event with back-off. */
export class DeliveryDeferredError extends Error {
  override readonly name = 'DeliveryDeferredError';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What an intake works with; the store and the metrics are its inbox's. */
export interface IntakeDependencies<S, M extends { deliveryAttempts: Counter }> {
  store: S;
  mailboxes: MailboxResolver;
  inbox: ObjectInbox;
  mailer: Mailer;
  metrics: M;
  logger: Logger;
  mailFrom: string;
}

export interface InboxDeliveryOptions<R extends InboxRecord> {
  /** What a record is called in the log ("fax", "voicemail"). */
  noun: string;
  statuses: Record<'pending' | 'noMailbox' | 'delivered' | 'deliveryFailed', R['status']>;
  /** The log fields that name a record. */
  logFields(record: R): Record<string, unknown>;
  /** Counts and logs a delivery that gave up (the inbox's `delivery` failure). */
  deliveryFailed(record: R, detail: string): void;
}

/** The delivery bookkeeping of an intake: attempts, reasons, back-off by redelivery, the final status. */
export class InboxDelivery<R extends InboxRecord> {
  constructor(
    private readonly deps: IntakeDependencies<
      Pick<InboxRecords<R>, 'update' | 'transition' | 'staleClaims' | 'reclaim'>,
      { deliveryAttempts: Counter }
    >,
    private readonly options: InboxDeliveryOptions<R>,
  ) {}

  /**
   * Delivers again a record that had no mailbox or whose delivery gave up, once. It claims the
   * record by moving it to DELIVERY_PENDING first, so two retries never both send it; the claim's
   * time lets `resumeStaleRetries` finish a retry whose process died.
   */
  async retry(
    tenantId: string,
    id: string,
    deliver: (claimed: R, options: { lastAttempt: boolean }) => Promise<R>,
  ): Promise<R | null> {
    const { noMailbox, deliveryFailed, pending } = this.options.statuses;
    const claimed = await this.deps.store.transition(tenantId, id, [noMailbox, deliveryFailed], pending, new Date());
    if (!claimed) return null;
    return deliver(claimed, { lastAttempt: true });
  }

  /**
   * Retries by API whose claim is older than `leaseMs` and still pending: their process died
   * (no JetStream message brings them back). Each is claimed again and delivered; returns how many.
   */
  async resumeStaleRetries(
    leaseMs: number,
    deliver: (claimed: R, options: { lastAttempt: boolean }) => Promise<R>,
  ): Promise<number> {
    const now = new Date();
    const stale = await this.deps.store.staleClaims(
      this.options.statuses.pending,
      new Date(now.getTime() - leaseMs),
      100,
    );
    let resumed = 0;
    for (const record of stale) {
      const claimed = await this.deps.store.reclaim(record, now);
      if (!claimed) continue;
      this.deps.logger.warn(
        { ...this.options.logFields(claimed), claimedAt: record.retryClaimedAt },
        `resuming a ${this.options.noun} retry whose process stopped`,
      );
      await deliver(claimed, { lastAttempt: true });
      resumed += 1;
    }
    return resumed;
  }

  /** Mails a routed record; a failed send is deferred or, on the last attempt, DELIVERY_FAILED. */
  async send(record: R, mail: OutgoingMail, { lastAttempt }: { lastAttempt: boolean }): Promise<R> {
    const { mailer, metrics, logger, store } = this.deps;
    try {
      await mailer.send(mail);
    } catch (error) {
      metrics.deliveryAttempts.add(1, { outcome: 'failed' });
      const detail = `delivery to ${mail.to} failed: ${errorMessage(error)}`;
      return this.deferOrFail(record, detail, error, { lastAttempt, mailAttempted: true });
    }
    metrics.deliveryAttempts.add(1, { outcome: 'sent' });
    logger.info({ ...this.options.logFields(record), mailbox: mail.to }, `${this.options.noun} delivered`);
    return store.update(
      record._id,
      updateOf<R>({
        $set: { status: this.options.statuses.delivered, deliveredAt: new Date(), messageId: mail.messageId },
        $inc: { deliveryAttempts: 1 },
      }),
    );
  }

  /** A failed step is retried by redelivery (with back-off); on the last attempt it becomes DELIVERY_FAILED. */
  async deferOrFail(
    record: R,
    detail: string,
    cause: unknown,
    { lastAttempt, mailAttempted = false }: { lastAttempt: boolean; mailAttempted?: boolean },
  ): Promise<R> {
    const attempts = { deliveryAttempts: mailAttempted ? 1 : 0 };
    if (lastAttempt) {
      this.options.deliveryFailed(record, detail);
      return this.deps.store.update(
        record._id,
        updateOf<R>({
          $set: { status: this.options.statuses.deliveryFailed },
          $inc: attempts,
          $push: { reasons: detail },
        }),
      );
    }
    await this.deps.store.update(record._id, updateOf<R>({ $inc: attempts, $push: { reasons: detail } }));
    throw new DeliveryDeferredError(detail, { cause });
  }
}

/** The driver cannot check an update against a generic record type; these name only InboxRecord fields. */
function updateOf<R extends InboxRecord>(update: UpdateFilter<InboxRecord>): UpdateFilter<R> {
  return update as UpdateFilter<R>;
}
