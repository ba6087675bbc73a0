export { ariAdapter } from './service.js';
export { adapterConfigSchema, numberPlanSchema, type AdapterConfig, type NumberPlan } from './config.js';
