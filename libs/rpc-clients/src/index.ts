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
  hotPathMethods,
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
