export { routingService } from './service.js';
export { routingConfigSchema, type RoutingConfig } from './config.js';
export { PROMPTS } from './prompts.js';
