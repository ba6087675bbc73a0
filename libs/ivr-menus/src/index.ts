export { compileMenuSet, evaluateStep, type CompiledMenu, type CompiledMenuSet } from './evaluate.js';
export { MenuMirror, type MenuMirrorOptions, type MirroredMenus } from './menu-mirror.js';
export {
  MENU_BUCKET_CONFIG,
  decodeMenuSnapshot,
  encodeMenuSnapshot,
  openMenuBucket,
  snapshotKey,
  type MenuSnapshot,
} from './snapshot.js';
