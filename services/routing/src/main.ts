import { runService } from '@switchboard/service-kit';
import { routingService } from './server.js';

await runService(routingService);
