import { z } from 'zod';
import { ISSUE_POINTS } from './month-close.js';

/** Billing's own variables: the seller (the provider issuing the invoices) and close timing. */
export const billingConfigSchema = z.object({
  /** The Billing API's port; `sb invoice` and `sb cdr export` look for it at 127.0.0.1:50052 (SB_BILLING_ADDR). */
  GRPC_PORT: z.coerce.number().int().min(0).max(65_535).default(50_052),
  SELLER_NAME: z.string().min(1),
  SELLER_STREET: z.string().min(1),
  SELLER_POSTAL_CODE: z.string().min(1),
  SELLER_CITY: z.string().min(1),
  SELLER_COUNTRY_CODE: z.string().regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2, e.g. DE'),
  SELLER_VAT_ID: z.string().regex(/^[A-Z]{2}[A-Za-z0-9]{2,13}$/, 'a VAT id such as DE123456789'),
  SELLER_CONTACT_NAME: z.string().min(1),
  SELLER_CONTACT_PHONE: z.string().min(3),
  SELLER_CONTACT_EMAIL: z.email(),
  SELLER_IBAN: z
    .string()
    .transform((value) => value.replace(/\s+/g, '').toUpperCase())
    .pipe(z.string().regex(/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/, 'an IBAN')),
  SELLER_BIC: z.string().regex(/^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$/, 'a BIC'),
  PAYMENT_TERMS_DAYS: z.coerce.number().int().min(0).max(120).default(14),
  /**
   * Legs stored in the last moments before a close go to the next invoice as corrections, so a
   * write still in flight when the close starts is never lost between two invoices.
   */
  CLOSE_SETTLE_MS: z.coerce.number().int().min(0).default(5_000),
  /** How often stored legs past their tenant's retention days get their numbers shortened (ms). */
  PRIVACY_SWEEP_INTERVAL_MS: z.coerce.number().int().min(1_000).default(3_600_000),
  /** How long billing waits for the directory (a tenant's privacy settings) over NATS (ms). */
  BILLING_DIRECTORY_TIMEOUT_MS: z.coerce.number().int().min(100).default(2_000),
  /**
   * Fault injection for the crash tests, never set in a deployment: the process kills itself
   * (SIGKILL) when a close reaches this step of issuing an invoice (README, Crash safety).
   */
  BILLING_CRASH_AT: z.enum(ISSUE_POINTS).optional(),
});

export type BillingConfig = z.infer<typeof billingConfigSchema>;

export interface Seller {
  name: string;
  street: string;
  postalCode: string;
  city: string;
  countryCode: string;
  vatId: string;
  contactName: string;
  contactPhone: string;
  contactEmail: string;
  iban: string;
  bic: string;
  paymentTermsDays: number;
}

export function sellerFrom(config: BillingConfig): Seller {
  return {
    name: config.SELLER_NAME,
    street: config.SELLER_STREET,
    postalCode: config.SELLER_POSTAL_CODE,
    city: config.SELLER_CITY,
    countryCode: config.SELLER_COUNTRY_CODE,
    vatId: config.SELLER_VAT_ID,
    contactName: config.SELLER_CONTACT_NAME,
    contactPhone: config.SELLER_CONTACT_PHONE,
    contactEmail: config.SELLER_CONTACT_EMAIL,
    iban: config.SELLER_IBAN,
    bic: config.SELLER_BIC,
    paymentTermsDays: config.PAYMENT_TERMS_DAYS,
  };
}
