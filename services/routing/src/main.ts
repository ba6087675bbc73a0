import { runService } from '@switchboard/service-kit';
import { routingService } from './service.js';

await runService(routingService);
