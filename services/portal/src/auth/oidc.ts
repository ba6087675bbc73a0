import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Collection, Db } from 'mongodb';
import * as oidc from 'openid-client';
import { parse } from 'yaml';
import { z } from 'zod';
import type { IndexDeclaration } from '@switchboard/service-kit';
import type { PortalRole } from '../roles.js';
import type { SessionUser } from './sessions.js';
import { normaliseUsername } from './accounts.js';

/** The roles a tenant's identity provider may grant; never `operator` or `service`. */
const TENANT_GRANTABLE = ['admin', 'supervisor', 'finance', 'agent'] as const satisfies readonly PortalRole[];

const providerSchema = z
  .object({
    tenant: z.string().min(1),
    /** The provider's issuer URL (its discovery document is `<issuer>/.well-known/openid-configuration`). */
    issuer: z.url(),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1).optional(),
    clientSecretFile: z.string().min(1).optional(),
    /** Dot path of the claim with the person's groups or roles, e.g. `realm_access.roles`. */
    roleClaim: z.string().min(1).default('roles'),
    /** The provider's role or group names → the platform's roles (admin, supervisor, finance, agent). */
    roleMap: z.record(z.string(), z.enum(TENANT_GRANTABLE)),
    /** Dot path of the claim listing a department lead's department ids. */
    departmentsClaim: z.string().min(1).default('depts'),
    /** The claim that names the person (an agent's must be their staff id in the directory). */
    subjectClaim: z.string().min(1).default('preferred_username'),
    /** Plain-http issuer, for a provider on the same machine (tests, local development) only. */
    insecureHttp: z.boolean().default(false),
  })
  .strict()
  .refine((provider) => !!provider.clientSecret !== !!provider.clientSecretFile, {
    message: 'give clientSecret or clientSecretFile (one of them)',
  });

type ProviderSettings = z.infer<typeof providerSchema>;

/** PORTAL_OIDC_FILE: one identity provider per tenant at most; every problem named at start. */
export async function readOidcFile(file: string): Promise<ProviderSettings[]> {
  let document: unknown;
  try {
    document = parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`PORTAL_OIDC_FILE ${file} cannot be read: ${(error as Error).message}`);
  }
  const result = z
    .object({ providers: z.array(providerSchema) })
    .strict()
    .safeParse(document);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`);
    throw new Error(`PORTAL_OIDC_FILE ${file} is not valid:\n  - ${problems.join('\n  - ')}`);
  }
  const tenants = new Set<string>();
  for (const provider of result.data.providers) {
    if (tenants.has(provider.tenant))
      throw new Error(`PORTAL_OIDC_FILE ${file}: tenant ${provider.tenant} has two providers`);
    tenants.add(provider.tenant);
  }
  return result.data.providers;
}

/** A sign-in on its way through the provider: what the callback checks (PKCE, state, nonce). */
interface Flow {
  _id: string;
  tenantId: string;
  codeVerifier: string;
  state: string;
  nonce: string;
  next: string;
  expiresAt: Date;
}

const FLOWS = 'oidc_flows';
const FLOW_MS = 10 * 60_000;

export const OIDC_INDEXES: readonly IndexDeclaration[] = [
  { collection: FLOWS, key: { expiresAt: 1 }, options: { name: 'expires_at' } },
];

export class OidcError extends Error {}

const claimAt = (claims: Record<string, unknown>, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined),
      claims,
    );

const strings = (value: unknown): string[] =>
  Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : typeof value === 'string'
      ? value.split(/[\s,]+/).filter(Boolean)
      : [];

/**
 * The tenants' identity providers: authorization code flow with PKCE (openid-client), the
 * provider's claims mapped to the platform's role, departments and subject. The tenant is the
 * provider's: a person signed in through tenant A's provider acts only for tenant A.
 */
export class OidcProviders {
  private readonly flows: Collection<Flow>;
  private readonly configurations = new Map<string, Promise<oidc.Configuration>>();

  constructor(
    db: Db,
    private readonly providers: readonly ProviderSettings[],
  ) {
    this.flows = db.collection<Flow>(FLOWS);
  }

  has(tenantId: string): boolean {
    return this.providers.some((provider) => provider.tenant === tenantId);
  }

  get tenants(): string[] {
    return this.providers.map((provider) => provider.tenant);
  }

  private settings(tenantId: string): ProviderSettings {
    const settings = this.providers.find((provider) => provider.tenant === tenantId);
    if (!settings) throw new OidcError(`tenant ${tenantId} has no identity provider`);
    return settings;
  }

  /** The provider's metadata, discovered once (a failed discovery is tried again next time). */
  private configuration(settings: ProviderSettings): Promise<oidc.Configuration> {
    let configuration = this.configurations.get(settings.tenant);
    if (!configuration) {
      configuration = (async () => {
        const secret = settings.clientSecret ?? (await readFile(settings.clientSecretFile!, 'utf8')).trim();
        return oidc.discovery(new URL(settings.issuer), settings.clientId, secret, undefined, {
          execute: settings.insecureHttp ? [oidc.allowInsecureRequests] : [],
        });
      })();
      configuration.catch(() => this.configurations.delete(settings.tenant));
      this.configurations.set(settings.tenant, configuration);
    }
    return configuration;
  }

  /** Starts a sign-in: the flow's id (for a cookie) and the provider's authorization URL. */
  async start(tenantId: string, redirectUri: string, next: string, now: Date): Promise<{ flowId: string; url: URL }> {
    const settings = this.settings(tenantId);
    const configuration = await this.configuration(settings);
    const flow: Flow = {
      _id: randomBytes(32).toString('base64url'),
      tenantId,
      codeVerifier: oidc.randomPKCECodeVerifier(),
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      next,
      expiresAt: new Date(now.getTime() + FLOW_MS),
    };
    await this.flows.insertOne(flow);
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope: 'openid profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    return { flowId: flow._id, url };
  }

  /**
   * Finishes a sign-in at the callback: the code exchanged (PKCE verifier, state and nonce
   * checked by openid-client), the ID token's and userinfo's claims mapped to the person. A flow is
   * used once.
   */
  async finish(flowId: string, callbackUrl: URL, now: Date): Promise<{ user: SessionUser; next: string }> {
    const flow = await this.flows.findOneAndDelete({ _id: flowId });
    if (!flow || flow.expiresAt <= now)
      throw new OidcError('the sign-in took too long or was already used; start again');
    const settings = this.settings(flow.tenantId);
    const configuration = await this.configuration(settings);
    const tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
      pkceCodeVerifier: flow.codeVerifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    const idClaims = tokens.claims() as Record<string, unknown> | undefined;
    if (!idClaims) throw new OidcError('the provider returned no ID token');
    const userInfo = await oidc.fetchUserInfo(configuration, tokens.access_token, String(idClaims['sub']));
    return { user: mapClaims(settings, { ...userInfo, ...idClaims }), next: flow.next };
  }

  async sweep(now: Date): Promise<void> {
    await this.flows.deleteMany({ expiresAt: { $lte: now } });
  }
}

/** The provider's claims as a portal user; a person whose claims map to no role is refused. */
export function mapClaims(settings: ProviderSettings, claims: Record<string, unknown>): SessionUser {
  const granted = strings(claimAt(claims, settings.roleClaim)).flatMap((name) => settings.roleMap[name] ?? []);
  // The most a person is granted wins: admin, then department lead, finance, agent.
  const role = TENANT_GRANTABLE.find((candidate) => granted.includes(candidate));
  if (!role)
    throw new OidcError(`no role: ${settings.roleClaim} holds none of ${Object.keys(settings.roleMap).join(', ')}`);
  const departments = role === 'supervisor' ? strings(claimAt(claims, settings.departmentsClaim)) : [];
  if (role === 'supervisor' && departments.length === 0) {
    throw new OidcError(`a department lead needs departments in ${settings.departmentsClaim}`);
  }
  const name = claimAt(claims, settings.subjectClaim) ?? claims['sub'];
  if (typeof name !== 'string' || !name) throw new OidcError(`the claim ${settings.subjectClaim} is missing`);
  return {
    tenantId: settings.tenant,
    username: normaliseUsername(name),
    role,
    departments,
    subject: role === 'agent' ? name : normaliseUsername(name),
    via: 'oidc',
  };
}
