import { runService } from '@switchboard/service-kit';
import { faxService } from './service.js';

await runService(faxService);
