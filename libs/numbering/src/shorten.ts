import { normalizeNumber } from './normalize.js';

/** What retention and erase leave of a number: its last three digits replaced by this. */
export const SHORTENED_SUFFIX = 'xxx';

/**
 * A citizen's number as data protection keeps it after retention or an erase: the last three
 * digits replaced by `xxx` (`+494621234567` → `+494621234xxx`, `110` → `xxx`). Separators stay
 * where they were. Idempotent: a number that already ends in `xxx` is returned as it is, so a
 * sweep or an erase run twice changes nothing the second time. Empty stays empty.
 */
export function shortenNumber(number: string): string {
  if (number === '' || isShortened(number)) return number;
  const characters = [...number];
  let hidden = 0;
  for (let index = characters.length - 1; index >= 0 && hidden < 3; index -= 1) {
    if (/\d/.test(characters[index] ?? '')) {
      characters[index] = 'x';
      hidden += 1;
    }
  }
  return characters.join('');
}

/** Whether a number was shortened already (it ends in `xxx`, separators aside). */
export function isShortened(number: string): boolean {
  return number
    .replace(/[^\dx]/gi, '')
    .toLowerCase()
    .endsWith(SHORTENED_SUFFIX);
}

/**
 * Whether a stored number is the citizen's `e164` number, in whatever form it was stored (E.164,
 * national `0…`, international `00…`, with separators): what an erase looks for.
 */
export function sameNumber(stored: string, e164: string): boolean {
  if (stored === e164) return true;
  const normalized = normalizeNumber(stored);
  return normalized.kind === 'e164' && normalized.number === e164;
}
