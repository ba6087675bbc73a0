import { classifyNumber, serviceNumber, type DestinationClass } from '@switchboard/numbering';

// The tenant policy for calls from a device to the public network. Emergency and service short
// codes come from the shared list directory also checks extensions against; every other number is
// classified by the classifier rating bills with (both @switchboard/numbering), so billing and
// barring agree on what a number is.

/** Premium (0900), mass traffic (0137) and directory services (118xy) are barred, as is nonsense. */
const BARRED: ReadonlySet<DestinationClass> = new Set(['premium', 'mass-traffic', 'directory', 'invalid']);

export type OutboundDecision =
  | { result: 'emergency'; number: string; destinationClass: DestinationClass }
  | { result: 'allowed'; number: string; destinationClass: DestinationClass }
  | { result: 'barred'; number: string; destinationClass: DestinationClass };

export function decideOutbound(dialed: string): OutboundDecision {
  const service = serviceNumber(dialed);
  // 110/112 always go through, whatever else the policy says.
  if (service?.kind === 'emergency') {
    return { result: 'emergency', number: service.number, destinationClass: 'emergency' };
  }
  const { normalized, destinationClass } = service
    ? { normalized: service.number, destinationClass: service.kind }
    : classifyNumber(dialed);
  if (BARRED.has(destinationClass)) return { result: 'barred', number: normalized || dialed, destinationClass };
  return { result: 'allowed', number: normalized, destinationClass };
}
