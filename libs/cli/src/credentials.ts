import { ROLES, crossTenant, type Role } from '@switchboard/service-kit';
import { ANY_TENANT, issuerFromEnv } from '@switchboard/tokens';

export interface CredentialOptions {
  /** The token's tenant; a cross-tenant role (operator, service) without one gets `*`. */
  tenant?: string;
  role?: string;
  /** Default: `$USER` (a person); a service token names its service. */
  subject?: string;
  /** A supervisor's departments. */
  departments?: readonly string[];
  /** Default by role: 15 minutes for people, 90 days for services. */
  ttlSeconds?: number;
}

type Env = Record<string, string | undefined>;

const isRole = (role: string): role is Role => (ROLES as readonly string[]).includes(role);

/**
 * The bearer token the CLI sends: `SB_TOKEN` when set (a token someone issued to you), otherwise
 * one it mints, which needs the signing key (`AUTH_SIGNING_KEY_FILE`: operators who run the issuer).
 */
export async function bearerToken(options: CredentialOptions, env: Env = process.env): Promise<string> {
  const given = env['SB_TOKEN'];
  if (given) return given;
  if (!env['AUTH_SIGNING_KEY'] && !env['AUTH_SIGNING_KEY_FILE']) {
    throw new Error(
      'set SB_TOKEN to a token issued to you, or AUTH_SIGNING_KEY_FILE (or AUTH_SIGNING_KEY) to the private key ' +
        'from `sb keys generate` to mint one',
    );
  }
  return mintToken(options, env);
}

/** A signed token for `sb token` and the commands without SB_TOKEN; refuses claims that make no sense. */
export async function mintToken(
  { tenant, role = 'operator', subject, departments = [], ttlSeconds }: CredentialOptions,
  env: Env = process.env,
): Promise<string> {
  if (!isRole(role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
  if (!tenant && !crossTenant(role)) throw new Error(`a token of role ${role} is for one tenant: give --tenant`);
  if (role === 'supervisor' && departments.length === 0) {
    throw new Error('a supervisor token names the departments they lead: give --departments');
  }
  if (role !== 'supervisor' && departments.length > 0) throw new Error('only a supervisor token carries --departments');
  if (role === 'service' && !subject)
    throw new Error('a service token names its service: give --subject (e.g. ari-adapter)');
  return issuerFromEnv(env).issue(
    { subject: subject ?? env['USER'] ?? 'sb-cli', tenantId: tenant || ANY_TENANT, role, departments },
    ttlSeconds,
  );
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** `900`, `900s`, `15m`, `12h`, `90d` → seconds. */
export function parseTtl(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match || Number(match[1]) === 0) throw new Error(`--ttl "${text}" is not a duration like 900, 15m, 12h or 90d`);
  return Number(match[1]) * UNITS[match[2] || 's']!;
}
