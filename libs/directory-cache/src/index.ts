export { DirectoryCache, type DirectoryExporter } from './directory-cache.js';
export { isOpen, resolveNumber } from './lookups.js';
export { DirectoryModel, openingHoursOf, scheduleOf, type Hours, type Resolution } from './model.js';
export {
  SNAPSHOT_RPC_DEFINITION,
  SnapshotMirror,
  openSnapshotBucket,
  snapshotRpcClient,
  type SnapshotMirrorOptions,
  type SnapshotSource,
} from './snapshot-mirror.js';
