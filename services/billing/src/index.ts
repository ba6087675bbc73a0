export { billingService, SERVICE_NAME } from './service.js';
export { closeMonth, CloseRefusedError } from './month-close.js';
export { largestRemainder } from './largest-remainder.js';
