import * as grpc from '@grpc/grpc-js';
import { type ivrServiceV1 } from '@switchboard/proto';
import { GrpcStatusError, type RpcHandlers } from '@switchboard/service-kit';
import { evaluateStep } from '@switchboard/ivr-menus';
import type { MenuCache } from './menu-cache.js';
import type { MenuCatalog } from './menu-catalog.js';
import { reasonLabel, type IvrMetrics } from './metrics.js';

export type IvrHandlers = RpcHandlers<typeof ivrServiceV1.IvrServiceService>;

function requireMenu(menu: ivrServiceV1.Menu | undefined): ivrServiceV1.Menu {
  if (!menu) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'menu is required');
  return menu;
}

/**
 * The IVR API. The handlers are transport-neutral: the kit serves them over gRPC (the caller's
 * role and tenant checked against policy.ts first) and EvaluateStep also over NATS (subject tenant
 * checked). Menus of another tenant are simply not found: every lookup is by the request's tenant.
 */
export function createIvrHandlers(catalog: MenuCatalog, cache: MenuCache, metrics: IvrMetrics): IvrHandlers {
  return {
    createMenu: async ({ tenantId, menu }) => {
      const saved = await catalog.save(tenantId, { upserts: [requireMenu(menu)], deletes: [], mustExist: false });
      return { menu: saved.menus[0] };
    },
    getMenu: async ({ tenantId, menuId }) => ({ menu: await catalog.get(tenantId, menuId) }),
    listMenus: async ({ tenantId }) => {
      const { revision, menus } = await catalog.list(tenantId);
      return { menus: [...menus], revision: String(revision) };
    },
    updateMenu: async ({ tenantId, menu }) => {
      const saved = await catalog.save(tenantId, { upserts: [requireMenu(menu)], deletes: [], mustExist: true });
      return { menu: saved.menus[0] };
    },
    deleteMenu: async ({ tenantId, menuId }) => {
      await catalog.save(tenantId, { upserts: [], deletes: [menuId] });
      return {};
    },
    saveMenus: async ({ tenantId, menus, deleteMenuIds, expectedRevision }) => {
      const expected = Number(expectedRevision);
      const saved = await catalog.save(tenantId, {
        upserts: menus,
        deletes: deleteMenuIds,
        ...(expected > 0 ? { expectedRevision: expected } : {}),
      });
      return { menus: saved.menus, revision: String(saved.revision) };
    },
    evaluateStep: async (request) => {
      try {
        const response = evaluateStep(await cache.withMenu(request.tenantId, request.menuId), request);
        metrics.steps.add(1, { reason: reasonLabel(response.reason) });
        return response;
      } catch (error) {
        const code = error instanceof GrpcStatusError ? grpc.status[error.code] : 'INTERNAL';
        metrics.failedSteps.add(1, { status: code });
        throw error;
      }
    },
  };
}
