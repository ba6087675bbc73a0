// Public surface for other packages (the sb CLI): offline classification, no service started.
export { classifyNumber, type Classification } from './classify/classify.js';
export { DESTINATION_CLASSES, type DestinationClass } from './classify/classes.js';
export { normalizeNumber, type NormalizeOptions } from './classify/normalize.js';
