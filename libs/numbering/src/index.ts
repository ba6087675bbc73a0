export {
  SERVICE_NUMBER_RANGES,
  serviceNumber,
  type ServiceNumber,
  type ServiceNumberKind,
  type ServiceNumberRange,
} from './service-numbers.js';
export { classifyNumber, type Classification } from './classify.js';
export { DESTINATION_CLASSES, type DestinationClass } from './destination-classes.js';
export { normalizeNumber, type NormalizeOptions } from './normalize.js';
export { SHORTENED_SUFFIX, isShortened, sameNumber, shortenNumber } from './shorten.js';
export {
  DEFAULT_OUTBOUND_POLICY,
  OUTBOUND_DENIAL_CATEGORIES,
  checkOutbound,
  type OutboundDecision,
  type OutboundDenialCategory,
  type OutboundPolicy,
} from './outbound.js';
export {
  NUMBER_BLOCK_FORMS,
  NumberBlockError,
  formatNumberBlock,
  parseNumberBlock,
  type NumberBlock,
} from './blocks.js';
