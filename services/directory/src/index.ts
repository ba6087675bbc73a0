export { directoryService } from './service.js';
export { DIRECTORY_RPC_DEFINITION, directoryRpcClient, directoryRpcSubject, type DirectoryRpcClient } from './rpc.js';
