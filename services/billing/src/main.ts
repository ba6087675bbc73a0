import { runService } from '@switchboard/service-kit';
import { billingService } from './service.js';

await runService(billingService);
