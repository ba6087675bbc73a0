import type { Language } from '../../i18n.js';

const locale = (language: Language) => (language === 'de' ? 'de-DE' : 'en-GB');

/** Euro from cents, e.g. `1.234,56 €` in German. */
export function formatCents(cents: bigint | string | number, language: Language): string {
  return new Intl.NumberFormat(locale(language), { style: 'currency', currency: 'EUR' }).format(Number(cents) / 100);
}

/** Rated amounts are 1/10,000 EUR: shown in cents, rounded half away from zero as invoices round. */
export function formatTenThousandths(amount: bigint | string, language: Language): string {
  const value = BigInt(amount);
  const magnitude = value < 0n ? -value : value;
  const cents = (magnitude + 50n) / 100n;
  return formatCents(value < 0n ? -cents : cents, language);
}

/** Whole minutes from seconds (what a bundle counts in), with thousands separators. */
export function formatMinutes(seconds: bigint | string | number, language: Language): string {
  return new Intl.NumberFormat(locale(language), { maximumFractionDigits: 0 }).format(Math.floor(Number(seconds) / 60));
}

/** `YYYY-MM` of an instant in Europe/Berlin (billing months are Berlin months). */
export function berlinMonth(at: Date): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit' })
    .formatToParts(at)
    .reduce<Record<string, string>>((all, part) => ({ ...all, [part.type]: part.value }), {});
  return `${parts['year']}-${parts['month']}`;
}

/** The `count` months up to and including `month`, newest first. */
export function monthsBack(month: string, count: number): string[] {
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  return Array.from({ length: count }, (_, index) => {
    const total = year * 12 + (monthNumber - 1) - index;
    return `${Math.floor(total / 12)}-${String((total % 12) + 1).padStart(2, '0')}`;
  });
}

export const MONTH_PATTERN = /^\d{4}-(0[1-9]|1[0-2])$/;

/** `Dezember 2026` / `December 2026`. */
export function monthName(month: string, language: Language): string {
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  return new Intl.DateTimeFormat(locale(language), { timeZone: 'UTC', month: 'long', year: 'numeric' }).format(
    new Date(Date.UTC(year, monthNumber - 1, 15)),
  );
}
