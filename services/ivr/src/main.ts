import { runService } from '@switchboard/service-kit';
import { ivrService } from './service.js';

await runService(ivrService);
