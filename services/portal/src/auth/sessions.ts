import { createHash, randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import type { IndexDeclaration } from '@switchboard/service-kit';
import type { PortalRole } from '../roles.js';

/** Who is signed in, as the pages and the token minting see it. */
export interface SessionUser {
  /** The account's tenant; empty for an operator. */
  tenantId: string;
  username: string;
  role: PortalRole;
  departments: string[];
  subject: string;
  /** `local` or the tenant's identity provider. */
  via: 'local' | 'oidc';
}

export interface Session {
  /** sha256 of the cookie's value: a leaked database holds no usable session. */
  id: string;
  user: SessionUser;
  /** The tenant an operator chose to act for; a tenant role's is always its own. */
  actingTenant: string | null;
  /** Sent back with every form post and API change (see csrf.ts). */
  csrfToken: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
}

type SessionDocument = Omit<Session, 'id'> & { _id: string };

const COLLECTION = 'sessions';

export const SESSION_INDEXES: readonly IndexDeclaration[] = [
  { collection: COLLECTION, key: { expiresAt: 1 }, options: { name: 'expires_at' } },
  { collection: COLLECTION, key: { 'user.tenantId': 1, 'user.username': 1 }, options: { name: 'user' } },
];

export interface SessionLifetimes {
  idleMs: number;
  maxMs: number;
}

const hash = (value: string) => createHash('sha256').update(value).digest('hex');
/** 256 random bits, base64url: the cookie's value. */
const newSecret = () => randomBytes(32).toString('base64url');

/** A lastSeenAt younger than this is not rewritten on every request. */
const TOUCH_EVERY_MS = 60_000;

export class SessionStore {
  private readonly sessions: Collection<SessionDocument>;

  constructor(
    db: Db,
    private readonly lifetimes: SessionLifetimes,
  ) {
    this.sessions = db.collection<SessionDocument>(COLLECTION);
  }

  /** A new session; returns the cookie value (only ever given to the browser) and the session. */
  async create(user: SessionUser, now: Date): Promise<{ cookie: string; session: Session }> {
    const cookie = newSecret();
    const session: Session = {
      id: hash(cookie),
      user,
      actingTenant: user.role === 'operator' ? null : user.tenantId,
      csrfToken: newSecret(),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.lifetimes.maxMs),
    };
    const { id, ...rest } = session;
    await this.sessions.insertOne({ _id: id, ...rest });
    return { cookie, session };
  }

  /** The live session for a cookie value; an idle or expired one is deleted and not returned. */
  async find(cookie: string, now: Date): Promise<Session | null> {
    const id = hash(cookie);
    const document = await this.sessions.findOne({ _id: id });
    if (!document) return null;
    if (document.expiresAt <= now || document.lastSeenAt.getTime() + this.lifetimes.idleMs <= now.getTime()) {
      await this.sessions.deleteOne({ _id: id });
      return null;
    }
    if (now.getTime() - document.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
      await this.sessions.updateOne({ _id: id }, { $set: { lastSeenAt: now } });
      document.lastSeenAt = now;
    }
    const { _id, ...rest } = document;
    return { id: _id, ...rest };
  }

  /** When the session ends unless the user does something: its idle end, or its absolute end if sooner. */
  endsAt(session: Pick<Session, 'lastSeenAt' | 'expiresAt'>): Date {
    const idleEnd = session.lastSeenAt.getTime() + this.lifetimes.idleMs;
    return new Date(Math.min(idleEnd, session.expiresAt.getTime()));
  }

  /**
   * The user asked for more time (the session warning's button): the idle end starts again from
   * now, however recently the session was touched. The absolute end stays. Returns the new end.
   */
  async extend(session: Session, now: Date): Promise<Date> {
    await this.sessions.updateOne({ _id: session.id }, { $set: { lastSeenAt: now } });
    return this.endsAt({ lastSeenAt: now, expiresAt: session.expiresAt });
  }

  async setActingTenant(sessionId: string, tenantId: string): Promise<void> {
    await this.sessions.updateOne({ _id: sessionId }, { $set: { actingTenant: tenantId } });
  }

  async delete(sessionId: string): Promise<void> {
    await this.sessions.deleteOne({ _id: sessionId });
  }

  /** Ends every session of an account (removed from the accounts file). */
  async deleteForUser(tenantId: string, username: string): Promise<number> {
    const result = await this.sessions.deleteMany({ 'user.tenantId': tenantId, 'user.username': username });
    return result.deletedCount;
  }

  /** Removes sessions past their absolute or idle end (FerretDB has no TTL indexes). */
  async sweep(now: Date): Promise<number> {
    const result = await this.sessions.deleteMany({
      $or: [{ expiresAt: { $lte: now } }, { lastSeenAt: { $lte: new Date(now.getTime() - this.lifetimes.idleMs) } }],
    });
    return result.deletedCount;
  }
}
