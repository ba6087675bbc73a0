import { createAuthenticator, ROLES, type Role } from '@switchboard/service-kit';

export interface CredentialOptions {
  tenant: string;
  role?: string;
}

/**
 * The bearer token the CLI sends: `SB_TOKEN` when set (a token someone issued to you), otherwise
 * one minted from `AUTH_JWT_SECRET` (operators with access to the platform secret).
 */
export async function bearerToken(
  { tenant, role = 'operator' }: CredentialOptions,
  env = process.env,
): Promise<string> {
  const given = env['SB_TOKEN'];
  if (given) return given;
  const secret = env['AUTH_JWT_SECRET'];
  if (!secret) throw new Error('set SB_TOKEN, or AUTH_JWT_SECRET to mint a token');
  if (!(ROLES as readonly string[]).includes(role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
  return createAuthenticator({
    secret,
    issuer: env['AUTH_JWT_ISSUER'] ?? 'switchboard',
    audience: env['AUTH_JWT_AUDIENCE'] ?? 'switchboard',
  }).issue({ subject: env['USER'] ?? 'sb-cli', tenantId: tenant, role: role as Role });
}
