import { runService } from '@switchboard/service-kit';
import { presenceService } from './server.js';

await runService(presenceService);
