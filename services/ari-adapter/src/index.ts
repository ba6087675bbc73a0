export { ariAdapter } from './adapter.js';
export { adapterConfigSchema, numberPlanSchema, type AdapterConfig, type NumberPlan } from './config.js';
