import { z } from 'zod';
import { defaultLanguage, LANGUAGES, type Language } from './language.js';
import { isMonth } from './months.js';

export const LINE_CATEGORIES = ['packages', 'overage', 'fees', 'one-off', 'correction'] as const;
export type LineCategory = (typeof LINE_CATEGORIES)[number];
export const ALLOCATION_METHODS = ['usage', 'headcount', 'fixed-percentages', 'equal'] as const;
export type AllocationMethod = (typeof ALLOCATION_METHODS)[number];

const text = (max: number) => z.string().trim().min(1, 'is required').max(max);
const money = z.number().int().min(0).max(1e12);
const quantity = z.number().int().min(1, 'must be at least 1').max(1_000_000);

const siteSchema = z.object({
  id: text(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "-" and "_" only'),
  name: text(200),
  headcount: z.number().int().min(0).max(100_000),
  fixedShareBasisPoints: z.number().int().min(0).max(10_000),
});

/** A tenant's billing data: what the directory service will own and feed through events later. */
export const billingProfileSchema = z
  .object({
    tenantId: text(64),
    buyer: z.object({
      name: text(200),
      address: z.object({
        street: text(200),
        postalCode: text(16),
        city: text(100),
        countryCode: z.string().regex(/^[A-Z]{2}$/, 'is an ISO 3166-1 alpha-2 code such as DE'),
      }),
      // Leitweg-ID: coarse address, optional fine address, check digits (KoSIT format).
      leitwegId: z
        .string()
        .regex(/^\d{2,12}(-[A-Za-z0-9]{1,30})?-\d{2}$/, 'is not a Leitweg-ID (e.g. 04011000-1234512345-06)'),
      email: z.email('is not an e-mail address'),
      vatId: z.union([z.literal(''), z.string().regex(/^[A-Z]{2}[A-Za-z0-9]{2,13}$/, 'is not a VAT id')]),
    }),
    sites: z.array(siteSchema).min(1, 'needs at least one site').max(10_000),
    /** Per voice package; how many a month has is the rating tariff's (`packages`). */
    voicePackagePrice: money,
    recurringFees: z.array(z.object({ code: text(32), description: text(200), quantity, unitPrice: money })).max(100),
    oneOffItems: z
      .array(
        z.object({
          month: z.string().refine(isMonth, 'is not YYYY-MM'),
          description: text(200),
          quantity,
          unitPrice: money,
        }),
      )
      .max(1000),
    allocation: z.object({
      method: z.enum(ALLOCATION_METHODS),
      overrides: z.array(z.object({ category: z.enum(LINE_CATEGORIES), method: z.enum(ALLOCATION_METHODS) })),
    }),
    /** The language of item names and the PDF; absent: German for buyers in DE, else English. */
    language: z.enum(LANGUAGES, `is one of ${LANGUAGES.join(', ')}`).optional(),
    /** A negative total as a credit note (UBL CreditNote, type 381) instead of a negative invoice (380). */
    creditNoteForNegativeTotal: z.boolean().optional(),
  })
  .superRefine((profile, context) => {
    const seen = new Set<string>();
    profile.sites.forEach((site, index) => {
      if (seen.has(site.id))
        context.addIssue({ code: 'custom', path: ['sites', index, 'id'], message: 'is used twice' });
      seen.add(site.id);
    });
    const methods = [profile.allocation.method, ...profile.allocation.overrides.map((o) => o.method)];
    if (methods.includes('fixed-percentages')) {
      const total = profile.sites.reduce((sum, site) => sum + site.fixedShareBasisPoints, 0);
      if (total !== 10_000) {
        context.addIssue({
          code: 'custom',
          path: ['sites'],
          message: `fixed shares add up to ${total} basis points, not 10000`,
        });
      }
    }
    const categories = profile.allocation.overrides.map((o) => o.category);
    categories.forEach((category, index) => {
      if (categories.indexOf(category) !== index) {
        context.addIssue({
          code: 'custom',
          path: ['allocation', 'overrides', index],
          message: `${category} is overridden twice`,
        });
      }
    });
  });

export type BillingProfile = z.infer<typeof billingProfileSchema>;

export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid billing profile: ${problems.join('; ')}`);
  }
}

/** Validates a profile; every problem is named by its field path. */
export function parseProfile(input: unknown): BillingProfile {
  const result = billingProfileSchema.safeParse(input);
  if (result.success) return result.data;
  throw new ProfileError(result.error.issues.map((issue) => `${issue.path.join('.') || 'profile'}: ${issue.message}`));
}

export function allocationMethodFor(profile: BillingProfile, category: LineCategory): AllocationMethod {
  return profile.allocation.overrides.find((o) => o.category === category)?.method ?? profile.allocation.method;
}

/** The language the buyer's invoices are written in. */
export function languageOf(profile: Pick<BillingProfile, 'language' | 'buyer'>): Language {
  return profile.language ?? defaultLanguage(profile.buyer.address.countryCode);
}
