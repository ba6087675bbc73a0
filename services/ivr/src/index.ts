export { ivrService } from './service.js';
