import { evaluateStep, type CompiledMenuSet, type MenuMirror } from '@switchboard/ivr-menus';
import type { ivrServiceV1 } from '@switchboard/proto';
import type { Logger, RpcClient } from '@switchboard/service-kit';

/** What the call flow asks about menus (`FlowClients.ivr`): ivr's EvaluateStep. */
export type MenuStepClient = RpcClient<{ evaluateStep: typeof ivrServiceV1.IvrServiceService.evaluateStep }>;

const NO_MENUS: CompiledMenuSet = { revision: 0, menus: new Map() };

/**
 * Menu steps answered in this process from the menus mirrored out of ivr's snapshots, with the
 * evaluator ivr uses: no request per key press. A tenant without a snapshot (ivr has not written
 * it yet) or a menu the mirrored revision lacks (saved a moment ago) goes to ivr's EvaluateStep
 * once — ivr re-reads MongoDB for a menu it lacks, so a menu that exists is never refused; without
 * `fallback` the answer is the NOT_FOUND ivr would give for a menu it does not know.
 */
export function mirroredMenuSteps(
  menus: Pick<MenuMirror, 'get'>,
  fallback: MenuStepClient | undefined,
  logger: Logger,
): MenuStepClient {
  return {
    evaluateStep: async (request) => {
      const mirrored = menus.get(request.tenantId);
      if (mirrored?.set.menus.has(request.menuId)) return evaluateStep(mirrored.set, request);
      if (fallback) {
        logger.warn(
          { tenantId: request.tenantId, menuId: request.menuId, mirroredRevision: mirrored?.set.revision ?? 0 },
          'menu not mirrored; asking ivr',
        );
        return fallback.evaluateStep(request);
      }
      return evaluateStep(mirrored?.set ?? NO_MENUS, request);
    },
  };
}
