/**
 * Splits an integer total into integer shares proportional to integer weights so that the shares
 * add up to the total exactly (Hamilton's largest-remainder method). Each share is the floor of
 * its exact quota; the units left over go to the largest fractional remainders, ties to the
 * lower index, so the result is deterministic. Weights may be negative (a site with a credit);
 * when they add up to zero the total is split equally.
 */
export function largestRemainder(total: number, weights: readonly number[]): number[] {
  if (weights.length === 0) {
    if (total !== 0) throw new Error(`cannot split ${total} over nobody`);
    return [];
  }
  let big = weights.map(BigInt);
  let sum = big.reduce((a, b) => a + b, 0n);
  if (sum === 0n) {
    big = weights.map(() => 1n);
    sum = BigInt(weights.length);
  }
  if (sum < 0n) {
    big = big.map((w) => -w);
    sum = -sum;
  }
  const totalBig = BigInt(total);
  const floors: bigint[] = [];
  const remainders: bigint[] = [];
  for (const weight of big) {
    const numerator = totalBig * weight;
    // Floor division for either sign; the remainder is then in [0, sum).
    let quotient = numerator / sum;
    let remainder = numerator % sum;
    if (remainder < 0n) {
      quotient -= 1n;
      remainder += sum;
    }
    floors.push(quotient);
    remainders.push(remainder);
  }
  let left = totalBig - floors.reduce((a, b) => a + b, 0n);
  const order = remainders
    .map((remainder, index) => ({ remainder, index }))
    .sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of order) {
    if (left === 0n) break;
    floors[index] = (floors[index] ?? 0n) + 1n;
    left -= 1n;
  }
  return floors.map(Number);
}
