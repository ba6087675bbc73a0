import { rpcServeSubject, rpcSubject } from '@switchboard/events';

/** IVR requests over NATS: `sb.<tenantId>.ivr.rpc.<Method>`. */
export const ivrRpcSubject = (tenantId: string, method: string): string => rpcSubject('ivr', tenantId, method);

/** What the ivr service serves: every tenant's requests for one method. */
export const ivrRpcServeSubject = (method: string): string => rpcServeSubject('ivr', method);
