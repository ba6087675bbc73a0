import { runService } from '@switchboard/service-kit';
import { ratingService } from './service.js';

await runService(ratingService);
