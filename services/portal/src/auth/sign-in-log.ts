import type { Collection, Db } from 'mongodb';
import type { IndexDeclaration, Logger } from '@switchboard/service-kit';

export type SignInOutcome =
  'ok' | 'bad-password' | 'unknown-account' | 'locked' | 'throttled' | 'signed-out' | 'provider-refused';

export interface SignInEvent {
  at: Date;
  tenantId: string;
  username: string;
  /** The client's address (the socket's; the portal trusts no forwarding header). */
  address: string;
  outcome: SignInOutcome;
  /** Set when this attempt locked the account. */
  lockedUntil?: Date;
  via: 'local' | 'oidc';
}

const COLLECTION = 'sign_ins';
/** Sign-in records are kept as long as the platform's audit log (30 days). */
export const SIGN_IN_RETENTION_MS = 30 * 86_400_000;

export const SIGN_IN_LOG_INDEXES: readonly IndexDeclaration[] = [
  { collection: COLLECTION, key: { tenantId: 1, at: -1 }, options: { name: 'tenant_at' } },
];

/** Every sign-in attempt, sign-out and lock-out: stored per tenant and logged. */
export class SignInLog {
  private readonly events: Collection<SignInEvent>;

  constructor(
    db: Db,
    private readonly logger: Logger,
  ) {
    this.events = db.collection<SignInEvent>(COLLECTION);
  }

  async record(event: SignInEvent): Promise<void> {
    const level = event.outcome === 'ok' || event.outcome === 'signed-out' ? 'info' : 'warn';
    this.logger[level]({ signIn: event }, `sign-in ${event.outcome}`);
    await this.events.insertOne({ ...event });
  }

  /** The tenant's latest events, newest first (operators: tenant '' for the provider's own). */
  list(tenantId: string, limit: number): Promise<SignInEvent[]> {
    return this.events.find({ tenantId }, { projection: { _id: 0 }, sort: { at: -1 }, limit }).toArray();
  }

  async sweep(now: Date): Promise<number> {
    const result = await this.events.deleteMany({ at: { $lt: new Date(now.getTime() - SIGN_IN_RETENTION_MS) } });
    return result.deletedCount;
  }
}
