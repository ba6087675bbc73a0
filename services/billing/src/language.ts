import { DateTime } from 'luxon';
import { BILLING_ZONE } from './months.js';

/** The languages invoices are written in: the buyer's (profile `language`). */
export const LANGUAGES = ['de', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

/** German for buyers in Germany, English for everyone else, unless the profile says otherwise. */
export function defaultLanguage(countryCode: string): Language {
  return countryCode === 'DE' ? 'de' : 'en';
}

const CLASS_NAMES: Record<string, Record<Language, string>> = {
  internal: { de: 'Interne Gespräche', en: 'Internal calls' },
  inbound: { de: 'Eingehende Gespräche', en: 'Inbound calls' },
  'forwarded-home-office': { de: 'Weiterleitung ins Homeoffice', en: 'Forwarding to home office' },
  emergency: { de: 'Notrufe', en: 'Emergency calls' },
  'public-service': { de: 'Behördennummern', en: 'Public service numbers' },
  directory: { de: 'Auskunftsdienste', en: 'Directory enquiries' },
  'de-fixed': { de: 'Festnetz Deutschland', en: 'German landlines' },
  'de-mobile': { de: 'Mobilfunk Deutschland', en: 'German mobile networks' },
  'de-pager': { de: 'Funkruf Deutschland', en: 'German paging' },
  free: { de: 'Entgeltfreie Rufnummern', en: 'Freephone numbers' },
  'shared-cost': { de: 'Service-Rufnummern (0180)', en: 'Shared-cost numbers (0180)' },
  personal: { de: 'Persönliche Rufnummern (0700)', en: 'Personal numbers (0700)' },
  premium: { de: 'Premium-Dienste (0900)', en: 'Premium-rate numbers (0900)' },
  'mass-traffic': { de: 'Massenverkehrsdienste (0137)', en: 'Mass-traffic numbers (0137)' },
  'national-subscriber': { de: 'Nationale Teilnehmerrufnummern (032)', en: 'National subscriber numbers (032)' },
  'international-eu': { de: 'Ausland EU', en: 'International, EU' },
  'international-world': { de: 'Ausland weltweit', en: 'International, rest of the world' },
  invalid: { de: 'Nicht zuordenbare Ziele', en: 'Unclassified destinations' },
};

/** A destination class as the buyer reads it; an unknown class keeps its id. */
export function className(destinationClass: string, language: Language): string {
  return CLASS_NAMES[destinationClass]?.[language] ?? destinationClass;
}

const MONTH_NAMES: Record<Language, readonly string[]> = {
  de: [
    'Januar',
    'Februar',
    'März',
    'April',
    'Mai',
    'Juni',
    'Juli',
    'August',
    'September',
    'Oktober',
    'November',
    'Dezember',
  ],
  en: [
    'January',
    'February',
    'March',
    'April',
    'May',
    'June',
    'July',
    'August',
    'September',
    'October',
    'November',
    'December',
  ],
};

/** `2026-03` → `März 2026` / `March 2026`. */
export function monthName(month: string, language: Language): string {
  const [year = '', number = '1'] = month.split('-');
  return `${MONTH_NAMES[language][Number(number) - 1] ?? number} ${year}`;
}

/** A calendar date `YYYY-MM-DD` as the reader writes it: `TT.MM.JJJJ` in German. */
export function formatDate(isoDate: string, language: Language): string {
  const [year, month, day] = isoDate.split('-');
  return language === 'de' ? `${day}.${month}.${year}` : isoDate;
}

/** An instant's Europe/Berlin calendar date, as the reader writes it. */
export function formatInstant(instant: Date, language: Language): string {
  return formatDate(DateTime.fromJSDate(instant, { zone: BILLING_ZONE }).toISODate() ?? '', language);
}

/**
 * A decimal number given as an integer of `10^decimals` parts, grouped as the reader writes it:
 * `123456, 2` → `1.234,56` (de) or `1,234.56` (en). At least `minDecimals` decimals are shown.
 */
export function formatNumber(parts: number, decimals: number, language: Language, minDecimals = decimals): string {
  const scale = 10 ** decimals;
  const abs = Math.abs(parts);
  const whole = String(Math.floor(abs / scale)).replace(/\B(?=(\d{3})+(?!\d))/g, language === 'de' ? '.' : ',');
  let fraction = String(abs % scale).padStart(decimals, '0');
  while (fraction.length > minDecimals && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  const separator = language === 'de' ? ',' : '.';
  return `${parts < 0 ? '-' : ''}${whole}${fraction ? `${separator}${fraction}` : ''}`;
}

/** Cents as euros: `123456` → `1.234,56 €` (de) or `EUR 1,234.56` (en). */
export function formatEuros(cents: number, language: Language): string {
  const amount = formatNumber(cents, 2, language);
  return language === 'de' ? `${amount} €` : `EUR ${amount}`;
}
