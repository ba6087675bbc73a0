import { AriError, badRequest } from './errors.js';
import { type AriRequest } from './ari-handlers.js';
import { type OperationSpec, operations } from './operations.js';

interface Route {
  operation: OperationSpec;
  pattern: RegExp;
  pathParams: string[];
}

// Literal paths first so `/channels/create` wins over `/channels/{channelId}`.
const routes: Route[] = operations
  .filter((o) => o.resource !== 'events')
  .map((operation) => {
    const pathParams: string[] = [];
    const source = operation.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
      pathParams.push(name);
      return '([^/]+)';
    });
    return { operation, pattern: new RegExp(`^${source}$`), pathParams };
  })
  .sort((a, b) => a.pathParams.length - b.pathParams.length);

export interface Matched {
  key: string;
  request: AriRequest;
}

/**
 * Find the operation for `METHOD /path` (path below `/ari`) and parse its parameters the way
 * Asterisk does: everything from the query string, POSTs included; a JSON body's `variables`
 * kept as the body, its other keys read as query parameters; allowMultiple values comma-split.
 */
export function match(method: string, path: string, query: URLSearchParams, body: unknown): Matched {
  const onPath = routes.filter((r) => r.pattern.test(path));
  if (!onPath.length) throw new AriError(404, { message: 'Resource not found' });
  const route = onPath.find((r) => r.operation.httpMethod === method);
  if (!route) throw new AriError(405, { message: 'Invalid method' });
  const { operation } = route;
  const bodyObject =
    body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  const params: AriRequest['params'] = {};
  const values = route.pattern.exec(path)?.slice(1) ?? [];
  route.pathParams.forEach((name, i) => {
    params[name] = decodeURIComponent(values[i] ?? '');
  });
  for (const spec of operation.parameters) {
    if (spec.paramType !== 'query') continue;
    const raw = query.get(spec.name) ?? bodyValue(bodyObject, spec.name);
    if (raw === undefined) continue;
    if (spec.allowMultiple) {
      params[spec.name] = raw.split(',').filter((v) => v !== '');
    } else if (spec.dataType === 'int' || spec.dataType === 'long') {
      const value = Number.parseInt(raw, 10);
      if (Number.isNaN(value)) throw badRequest(`Invalid value for parameter ${spec.name}: '${raw}'`);
      params[spec.name] = value;
    } else if (spec.dataType === 'boolean') {
      params[spec.name] = raw === 'true' || raw === '1' || raw === 'yes';
    } else {
      params[spec.name] = raw;
    }
  }
  return { key: `${operation.resource}.${operation.nickname}`, request: { params, body: bodyObject } };
}

function bodyValue(body: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = body?.[name];
  if (value === undefined || value === null || typeof value === 'object') return undefined;
  return String(value);
}
