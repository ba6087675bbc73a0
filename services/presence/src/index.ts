export { presenceRpcClient, type PresenceRpcClient } from './client.js';
export { hotPathMethods } from './presence.js';
export { presenceService } from './server.js';
export { PRESENCE_QUEUE, presenceRpcServeSubject, presenceRpcSubject } from './subjects.js';
