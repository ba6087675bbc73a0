import { runService } from '@switchboard/service-kit';
import { portalService } from './service.js';

await runService(portalService);
