import { runService } from '@switchboard/service-kit';
import { ariAdapter } from './service.js';

await runService(ariAdapter);
