import { runService } from '@switchboard/service-kit';
import { directoryService } from './service.js';

await runService(directoryService);
