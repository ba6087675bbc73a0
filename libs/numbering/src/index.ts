export {
  SERVICE_NUMBER_RANGES,
  serviceNumber,
  type ServiceNumber,
  type ServiceNumberKind,
  type ServiceNumberRange,
} from './service-numbers.js';
