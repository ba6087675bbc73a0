export { routingService } from './server.js';
export { routingConfigSchema, type RoutingConfig } from './config.js';
export { PROMPTS } from './prompts.js';
