import { eventsDeclarationModels, resourceModels } from './models.js';
import { operations, resourceDescriptions } from './operations.js';

const API_VERSION = '2.0.0';

/** `/ari/api-docs/resources.json`. Asterisk says 1.1 here, so ari-client uses its 1.1 parser. */
export function resourceListing(basePath: string) {
  return {
    apiVersion: API_VERSION,
    swaggerVersion: '1.1',
    basePath,
    apis: Object.entries(resourceDescriptions).map(([name, description]) => ({
      path: `/api-docs/${name}.{format}`,
      description,
    })),
  };
}

/** `/ari/api-docs/<resource>.json`, or undefined for a resource the emulator does not serve. */
export function apiDeclaration(resource: string, basePath: string) {
  if (!(resource in resourceDescriptions)) return undefined;
  const byPath = new Map<string, typeof operations>();
  for (const operation of operations.filter((o) => o.resource === resource)) {
    byPath.set(operation.path, [...(byPath.get(operation.path) ?? []), operation]);
  }
  return {
    apiVersion: API_VERSION,
    swaggerVersion: '1.1',
    basePath,
    resourcePath: `/api-docs/${resource}.{format}`,
    apis: [...byPath].map(([path, ops]) => ({
      path,
      description: resourceDescriptions[resource],
      operations: ops.map((o) => ({
        httpMethod: o.httpMethod,
        summary: o.summary,
        nickname: o.nickname,
        responseClass: o.responseClass,
        ...(resource === 'events' ? { upgrade: 'websocket', websocketProtocol: 'ari' } : {}),
        parameters: o.parameters.map((p) => ({
          name: p.name,
          description: p.description,
          paramType: p.paramType,
          required: p.required,
          allowMultiple: p.allowMultiple,
          dataType: p.dataType,
          ...(p.defaultValue !== undefined ? { defaultValue: p.defaultValue } : {}),
          ...(p.allowableValues ? { allowableValues: { valueType: 'LIST', values: p.allowableValues } } : {}),
        })),
        errorResponses: o.errorResponses,
      })),
    })),
    models: resource === 'events' ? { ...resourceModels, ...eventsDeclarationModels } : resourceModels,
  };
}
