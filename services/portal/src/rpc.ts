import * as grpc from '@grpc/grpc-js';
import {
  billingV1,
  directoryServiceV1,
  faxServiceV1,
  ivrServiceV1,
  presenceV1,
  ratingServiceV1,
  routingV1,
} from '@switchboard/proto';
import { ANY_TENANT, type TokenIssuer } from '@switchboard/tokens';
import type { Session } from './auth/sessions.js';
import { fromGrpc, PortalError } from './errors.js';

/** The service APIs the portal calls, by the name used in config (`<NAME>_ADDRESS`) and messages. */
const CLIENTS = {
  directory: directoryServiceV1.DirectoryServiceClient,
  presence: presenceV1.PresenceServiceClient,
  ivr: ivrServiceV1.IvrServiceClient,
  rating: ratingServiceV1.RatingServiceClient,
  billing: billingV1.BillingServiceClient,
  fax: faxServiceV1.FaxServiceClient,
  routing: routingV1.RoutingServiceClient,
} as const;

export type ServiceName = keyof typeof CLIENTS;
export type ClientOf<N extends ServiceName> = InstanceType<(typeof CLIENTS)[N]>;

/** ts-proto's last overload of a unary method: (request, metadata, options, callback). */
type UnaryOf<M> = M extends (
  request: infer Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: infer Res) => void,
) => grpc.ClientUnaryCall
  ? (request: Req) => Promise<Res>
  : never;

/** A service's unary methods as promises, each call carrying the signed-in user's token. */
export type Api<N extends ServiceName> = {
  [K in keyof ClientOf<N> as UnaryOf<ClientOf<N>[K]> extends never ? never : K]: UnaryOf<ClientOf<N>[K]>;
};

/** Up to 64 MiB answers: a tenant export or an invoice PDF is one message. */
const CHANNEL_OPTIONS = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };

/** One long-lived channel per configured service (grpc-js reconnects on its own). */
export class ServiceClients {
  private readonly clients = new Map<ServiceName, grpc.Client>();

  constructor(
    private readonly addresses: Partial<Record<ServiceName, string>>,
    readonly timeoutMs: number,
  ) {}

  client<N extends ServiceName>(name: N): ClientOf<N> {
    let client = this.clients.get(name);
    if (!client) {
      const address = this.addresses[name];
      if (!address) {
        throw new PortalError(503, 'error.unavailable', { service: name }, `${name.toUpperCase()}_ADDRESS is not set`);
      }
      client = new CLIENTS[name](address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
      this.clients.set(name, client);
    }
    return client as ClientOf<N>;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

/**
 * Mints the signed-in user's short-lived token (libs/tokens' issuer), one per session, reused
 * until a minute before it expires. The token stays in this process: the browser only holds the
 * session cookie.
 */
export class UserTokens {
  private readonly cache = new Map<string, { token: string; renewAt: number }>();

  constructor(
    private readonly issuer: TokenIssuer,
    private readonly ttlSeconds: number,
    private readonly now: () => Date,
  ) {}

  async token(session: Session): Promise<string> {
    const cached = this.cache.get(session.id);
    const now = this.now().getTime();
    if (cached && cached.renewAt > now) return cached.token;
    const { user } = session;
    const token = await this.issuer.issue(
      {
        subject: user.subject,
        tenantId: user.role === 'operator' ? ANY_TENANT : user.tenantId,
        role: user.role,
        departments: user.departments,
      },
      this.ttlSeconds,
    );
    this.cache.set(session.id, { token, renewAt: now + (this.ttlSeconds - 60) * 1_000 });
    if (this.cache.size > 10_000) this.forgetExpired(now);
    return token;
  }

  forget(sessionId: string): void {
    this.cache.delete(sessionId);
  }

  private forgetExpired(now: number): void {
    for (const [id, entry] of this.cache) if (entry.renewAt <= now) this.cache.delete(id);
  }
}

/** The metadata of a call made for `session` (for streaming calls, which `api` does not wrap). */
export async function userMetadata(tokens: UserTokens, session: Session): Promise<grpc.Metadata> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${await tokens.token(session)}`);
  return metadata;
}

/** `api(clients, tokens, session).directory.listSites({ tenantId })`: unary calls as promises. */
export function userApi(
  clients: ServiceClients,
  tokens: UserTokens,
  session: Session,
): { readonly [N in ServiceName]: Api<N> } {
  const apis = new Map<ServiceName, unknown>();
  const apiOf = (name: ServiceName) =>
    new Proxy(
      {},
      {
        get: (_target, method) => {
          if (typeof method !== 'string') return undefined;
          return async (request: unknown) => {
            const client = clients.client(name) as unknown as Record<string, grpc.Client[keyof grpc.Client]>;
            const unary = client[method] as unknown;
            if (typeof unary !== 'function') throw new Error(`${name} has no method ${method}`);
            const metadata = await userMetadata(tokens, session);
            const deadline = Date.now() + clients.timeoutMs;
            return new Promise((resolve, reject) =>
              (unary as (...args: unknown[]) => unknown).call(
                client,
                request,
                metadata,
                { deadline },
                (error: grpc.ServiceError | null, response: unknown) =>
                  error ? reject(fromGrpc(error, name)) : resolve(response),
              ),
            );
          };
        },
      },
    );
  return new Proxy({} as { readonly [N in ServiceName]: Api<N> }, {
    get: (_target, name) => {
      if (typeof name !== 'string' || !(name in CLIENTS)) return undefined;
      const key = name as ServiceName;
      if (!apis.has(key)) apis.set(key, apiOf(key));
      return apis.get(key);
    },
  });
}
