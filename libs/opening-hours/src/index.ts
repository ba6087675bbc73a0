export {
  WEEKDAYS,
  closesAt,
  closingDayOn,
  nextOpening,
  openState,
  type ClosingDay,
  type OpenAnswer,
  type OpenState,
  type OpeningInterval,
  type Schedule,
  type Weekday,
} from './hours.js';
