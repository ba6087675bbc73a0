export {
  DEFAULT_MENUS_FILE,
  DEFAULT_TENANT_FILE,
  startStack,
  type ServiceRestartOptions,
  type Stack,
  type StackOptions,
  type StackService,
} from './stack.js';
export { SERVICE_NAMES, type ServiceName } from './services.js';
export { type PortalAccount, type StackPortal } from './portal.js';
export { spawnService, type ServiceProcess, type SpawnServiceOptions } from './child.js';
export {
  listAgents,
  readTenant,
  rotateDevicePassword,
  setAgentStates,
  type LoadedTenant,
  type TenantDocument,
} from './tenant.js';
export { followEvents, type EventLog } from './event-log.js';
