/**
 * A block of consecutive numbers as people write it: `+494624720-10..99` (a prefix, then the first
 * and last digits of equal length), `+49462472010..+49462472099`, or one number. The CLI, the
 * portal and the stack read and show pool blocks through this one module.
 */
export interface NumberBlock {
  first: string;
  last: string;
}

export const NUMBER_BLOCK_FORMS = '+494624720-10..99, +49462472010..+49462472099 or one number';

/** Thrown for a malformed block; the message names the text and what is wrong with it. */
export class NumberBlockError extends Error {
  constructor(
    readonly text: string,
    readonly problem: string,
  ) {
    super(`${text}: ${problem}`);
    this.name = 'NumberBlockError';
  }
}

const E164 = /^\+\d+$/;

/**
 * Reads a block. Only the notation is checked here (E.164 digits, same length, first ≤ last);
 * whether the numbers may be the tenant's is the directory's decision.
 */
export function parseNumberBlock(input: string): NumberBlock {
  const text = input.trim();
  const short = /^(\+\d+)-(\d+)\.\.(\d+)$/.exec(text);
  let block: NumberBlock;
  if (short) {
    const [, prefix, first, last] = short as unknown as [string, string, string, string];
    if (first.length !== last.length) {
      throw new NumberBlockError(text, `"${first}" and "${last}" must have as many digits`);
    }
    block = { first: prefix + first, last: prefix + last };
  } else if (text.includes('..')) {
    const [first = '', last = '', ...rest] = text.split('..');
    if (rest.length > 0 || !E164.test(first) || !E164.test(last)) {
      throw new NumberBlockError(text, `not a block (e.g. ${NUMBER_BLOCK_FORMS})`);
    }
    if (first.length !== last.length) {
      throw new NumberBlockError(text, `${first} and ${last} must have as many digits`);
    }
    block = { first, last };
  } else if (E164.test(text)) {
    block = { first: text, last: text };
  } else {
    throw new NumberBlockError(text, `not a block (e.g. ${NUMBER_BLOCK_FORMS})`);
  }
  // Same length, so comparing the strings compares the numbers.
  if (block.first > block.last) {
    throw new NumberBlockError(text, `${block.first} comes after ${block.last}`);
  }
  return block;
}

/**
 * Writes a block in the shortest form `parseNumberBlock` reads back: one number, or the common
 * prefix with the differing digits (`+494624720-10..99`).
 */
export function formatNumberBlock(block: NumberBlock): string {
  if (block.first === block.last) return block.first;
  if (block.first.length !== block.last.length) return `${block.first}..${block.last}`;
  let common = 0;
  while (common < block.first.length - 1 && block.first[common] === block.last[common]) common++;
  const prefix = block.first.slice(0, common);
  // The prefix must be `+` and at least one digit for the short form.
  if (prefix.length < 2) return `${block.first}..${block.last}`;
  return `${prefix}-${block.first.slice(common)}..${block.last.slice(common)}`;
}
