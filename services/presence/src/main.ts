import { runService } from '@switchboard/service-kit';
import { presenceService } from './service.js';

await runService(presenceService);
