export {
  DIRECTORY_RPC_DEFINITION,
  directoryRpcClient,
  directoryRpcServeSubject,
  directoryRpcSubject,
  type DirectoryRpcClient,
} from './directory.js';
export { ivrRpcServeSubject, ivrRpcSubject } from './ivr.js';
export {
  PRESENCE_QUEUE,
  PRESENCE_RESERVATION_DEFINITION,
  presenceRpcClient,
  presenceRpcServeSubject,
  presenceRpcSubject,
  type PresenceRpcClient,
} from './presence.js';
export {
  RATING_RPC_DEFINITION,
  ratingRpcClient,
  ratingRpcServeSubject,
  ratingRpcSubject,
  type RatingRpcClient,
} from './rating.js';
export {
  DEFAULT_RETENTION_DAYS,
  PRIVACY_ERASE_DEFINITION,
  PRIVACY_SERVICES,
  PRIVACY_SHORTENED_METRIC,
  privacyEraseClient,
  privacyOf,
  retentionCutoff,
  startPrivacySweep,
  tenantPrivacy,
  tenantRetentionCutoff,
  privacyEraseServeSubject,
  privacyEraseSubject,
  servePrivacyErase,
  type ErasedCount,
  type PrivacyEraseClient,
  type PrivacyService,
  type PrivacySettings,
  type PrivacySweepOptions,
  type ServePrivacyEraseOptions,
} from './privacy.js';
