export { presenceService } from './service.js';
