import { NATS_IDENTITIES, natsPermissions, type NatsIdentity, type NatsPermissions } from './permissions.js';

/** The account every Switchboard identity is a user of; it has JetStream. */
export const NATS_ACCOUNT = 'SWITCHBOARD';

/** One user of the generated configuration: an identity (or a test's own user) and its public nkey. */
export interface NatsUser {
  readonly identity: string;
  /** The public nkey (`U…`); the seed stays with whoever connects as this user. */
  readonly publicKey: string;
  /** Defaults to the identity's declared permissions; a test's own user passes its own. */
  readonly permissions?: NatsPermissions;
}

const PUBLIC_USER_KEY = /^U[A-Z2-7]{55}$/;

function isIdentity(name: string): name is NatsIdentity {
  return (NATS_IDENTITIES as readonly string[]).includes(name);
}

/** The permissions a user gets: its own, or its identity's declared ones. */
export function permissionsOf(user: NatsUser): NatsPermissions {
  if (user.permissions) return user.permissions;
  if (!isIdentity(user.identity)) throw new Error(`"${user.identity}" is not a declared NATS identity`);
  return natsPermissions(user.identity);
}

/**
 * The `accounts` block for nats-server (its config format accepts JSON values): one account with
 * JetStream, one user per nkey with its permissions. A connection without a known nkey is refused
 * (no `no_auth_user`).
 */
export function natsAuthConfig(users: readonly NatsUser[]): string {
  const seen = new Set<string>();
  const entries = users.map((user) => {
    if (!PUBLIC_USER_KEY.test(user.publicKey)) {
      throw new Error(`the nkey of ${user.identity} is not a public user key (U…, 56 characters)`);
    }
    if (seen.has(user.publicKey)) throw new Error(`the nkey of ${user.identity} is used twice`);
    seen.add(user.publicKey);
    return `      # ${user.identity}\n      { nkey: ${user.publicKey}, permissions: ${JSON.stringify(permissionsOf(user))} }`;
  });
  return [
    '# Generated from libs/events/src/permissions.ts; do not edit.',
    'accounts {',
    `  ${NATS_ACCOUNT}: {`,
    '    jetstream: enabled',
    '    users: [',
    entries.join(',\n'),
    '    ]',
    '  }',
    '}',
    '',
  ].join('\n');
}
