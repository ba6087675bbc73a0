/**
 * Thrown by a handler (or by decoding) when a message can never be processed, e.g. a malformed
 * payload: the message is parked on the dead-letter subject at once instead of being retried.
 */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
}
