/** Rated amounts are 1/10,000 EUR; invoices are in cents. Both stay integers. */
export const TEN_THOUSANDTHS_PER_CENT = 100;

/** Rounds 1/10,000 EUR to cents once, half away from zero (the usual commercial rounding). */
export function toCents(amount: number): number {
  const cents = Math.floor((Math.abs(amount) + TEN_THOUSANDTHS_PER_CENT / 2) / TEN_THOUSANDTHS_PER_CENT);
  return amount < 0 ? -cents : cents;
}

/** VAT on a net amount in cents at a whole-percent rate, rounded half away from zero. */
export function vatCents(netCents: number, ratePercent: number): number {
  const vat = Math.floor((Math.abs(netCents) * ratePercent + 50) / 100);
  return netCents < 0 ? -vat : vat;
}

/** `1234` cents → `12.34`; `-5` → `-0.05`. */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** Whole units with three decimals (quantities kept in thousandths): `12500` → `12.5`. */
export function formatMilli(milli: number): string {
  const sign = milli < 0 ? '-' : '';
  const abs = Math.abs(milli);
  const fraction = String(abs % 1000)
    .padStart(3, '0')
    .replace(/0+$/, '');
  return `${sign}${Math.floor(abs / 1000)}${fraction ? `.${fraction}` : ''}`;
}
