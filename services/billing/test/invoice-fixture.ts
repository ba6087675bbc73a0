import type { Seller } from '../src/config.js';
import { buildInvoice, type UsageRow } from '../src/invoice.js';
import { invoiceNumber, type InvoiceRecord } from '../src/invoices.js';
import type { StoredLeg } from '../src/rated-legs.js';
import { usageRowsOf } from '../src/sums.js';
import { storyMonth, storyProfile } from './story-month.js';

export const SELLER: Seller = {
  name: 'Nordtel Kommunal GmbH',
  street: 'Hafenstraße 1',
  postalCode: '24937',
  city: 'Flensburg',
  countryCode: 'DE',
  vatId: 'DE123456789',
  contactName: 'Rechnungsteam',
  contactPhone: '+49 461 1234567',
  contactEmail: 'billing@nordtel.example',
  iban: 'DE02120300000000202051',
  bic: 'BYLADEM1001',
  paymentTermsDays: 14,
};

export const SELLER_ENV: Record<string, string> = {
  SELLER_NAME: SELLER.name,
  SELLER_STREET: SELLER.street,
  SELLER_POSTAL_CODE: SELLER.postalCode,
  SELLER_CITY: SELLER.city,
  SELLER_COUNTRY_CODE: SELLER.countryCode,
  SELLER_VAT_ID: SELLER.vatId,
  SELLER_CONTACT_NAME: SELLER.contactName,
  SELLER_CONTACT_PHONE: SELLER.contactPhone,
  SELLER_CONTACT_EMAIL: SELLER.contactEmail,
  SELLER_IBAN: SELLER.iban,
  SELLER_BIC: SELLER.bic,
};

/** Sums legs the way month close does (one version each). */
export function usageRows(legs: readonly StoredLeg[]): UsageRow[] {
  return usageRowsOf(legs);
}

/** A closed March of the story tenant, as month close would store it. */
export function storyInvoice(tenantId = 't-kropp'): InvoiceRecord {
  const profile = storyProfile(tenantId);
  const legs = storyMonth(tenantId, '2026-03', 11);
  const issuedAt = new Date('2026-04-01T06:00:00Z');
  return {
    ...buildInvoice(profile, '2026-03', usageRows(legs), []),
    tenantId,
    month: '2026-03',
    invoiceNumber: invoiceNumber(tenantId, '2026-03'),
    issuedAt,
    periodStart: '2026-03-01',
    periodEnd: '2026-03-31',
    dueDate: '2026-04-15',
    legCount: legs.length,
    cutoff: issuedAt,
    buyer: profile.buyer,
    seller: SELLER,
  };
}
