import { decodeJwt } from 'jose';
import { secretFile } from './secret-file.js';

export interface ServiceTokenSettings {
  service: string;
  /** AUTH_SERVICE_TOKEN */
  inline?: string | undefined;
  /** AUTH_SERVICE_TOKEN_FILE: re-read when it changes, so a renewed Secret needs no restart. */
  file?: string | undefined;
}

/** Why a token cannot serve as this service's own, or undefined when it can. */
function problem(token: string, what: string, service: string): string | undefined {
  let claims;
  try {
    claims = decodeJwt(token);
  } catch {
    return `${what} is not a JWT`;
  }
  if (claims['role'] !== 'service') return `${what} has role "${String(claims['role'])}", not "service"`;
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now()) {
    return `${what} expired at ${new Date(claims.exp * 1000).toISOString()}; renew it with \`sb token --role service --subject ${service}\``;
  }
  return undefined;
}

/**
 * The token this service sends when it calls another service's API. It is issued to the service
 * (`sb token --role service`); the service cannot mint one, having no signing key.
 */
export function serviceTokenSource({ service, inline, file }: ServiceTokenSettings): () => Promise<string> {
  if (inline) {
    return async () => {
      const wrong = problem(inline, 'AUTH_SERVICE_TOKEN', service);
      if (wrong) throw new Error(wrong);
      return inline;
    };
  }
  if (file) {
    const source = secretFile(file);
    return async () => {
      const token = (await source.read()).text.trim();
      const wrong = problem(token, `the service token in ${file}`, service);
      if (wrong) throw new Error(wrong);
      return token;
    };
  }
  return async () => {
    throw new Error(
      `${service} has no token of its own to call other services: set AUTH_SERVICE_TOKEN_FILE (or AUTH_SERVICE_TOKEN) ` +
        `to one from \`sb token --role service --subject ${service}\``,
    );
  };
}
