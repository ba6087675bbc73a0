import { classifyNumber, type DestinationClass } from '@switchboard/rating';

// The tenant policy for calls from a device to the public network, decided with rating's number
// classifier so billing and barring agree on what a number is.

/** Premium (0900), mass traffic (0137) and directory services (118xy) are barred, as is nonsense. */
const BARRED: ReadonlySet<DestinationClass> = new Set(['premium', 'mass-traffic', 'directory', 'invalid']);

export type OutboundDecision =
  | { result: 'emergency'; number: string; destinationClass: DestinationClass }
  | { result: 'allowed'; number: string; destinationClass: DestinationClass }
  | { result: 'barred'; number: string; destinationClass: DestinationClass };

export function decideOutbound(dialed: string): OutboundDecision {
  const { normalized, destinationClass } = classifyNumber(dialed);
  // 110/112 always go through, whatever else the policy says.
  if (destinationClass === 'emergency') return { result: 'emergency', number: normalized, destinationClass };
  if (BARRED.has(destinationClass)) return { result: 'barred', number: normalized || dialed, destinationClass };
  return { result: 'allowed', number: normalized, destinationClass };
}
