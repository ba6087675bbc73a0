export { ivrService } from './service.js';
export { ivrRpcServeSubject, ivrRpcSubject } from './subjects.js';
