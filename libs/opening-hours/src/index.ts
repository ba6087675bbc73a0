export {
  closesAt,
  localClock,
  nextOpening,
  openState,
  type ClosingDay,
  type OpenAnswer,
  type OpenState,
  type OpeningInterval,
  type Schedule,
} from './hours.js';
