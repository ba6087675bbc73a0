import { runService } from '@switchboard/service-kit';
import { ariAdapter } from './adapter.js';

await runService(ariAdapter);
