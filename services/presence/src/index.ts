export { presenceService } from './server.js';
