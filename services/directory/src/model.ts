import { serviceNumber } from '@switchboard/numbering';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { z } from 'zod';

// The directory of one tenant as plain data: the shape of the import/export document, of the
// in-memory cache and (per entity) of what MongoDB stores. The gRPC messages convert to and from it.

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export const FEDERAL_STATES = [
  'BB',
  'BE',
  'BW',
  'BY',
  'HB',
  'HE',
  'HH',
  'MV',
  'NI',
  'NW',
  'RP',
  'SH',
  'SL',
  'SN',
  'ST',
  'TH',
] as const;
export const NUMBER_KINDS = ['main', 'direct-dial-range', 'fax'] as const;
export const ENTRY_POINT_KINDS = ['ivr-menu', 'department', 'extension', 'fax-department'] as const;
export const STRATEGIES = ['longest-idle', 'round-robin', 'ring-all', 'skills'] as const;
export const OVERFLOW_KINDS = ['none', 'department', 'voicemail', 'callback'] as const;

export function isE164(value: string): boolean {
  if (!/^\+[1-9]\d{4,14}$/.test(value)) return false;
  return parsePhoneNumberFromString(value)?.isValid() ?? false;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const idSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1–63 lowercase letters, digits, "-" or "_", starting alphanumeric');
const optionalId = z.union([z.literal(''), idSchema]).default('');
const text = z.string().trim().min(1, 'is required').max(200, 'must be at most 200 characters');
const e164 = z.string().refine(isE164, 'must be a valid E.164 number such as +494624720');
const hhmm = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'must be HH:MM between 00:00 and 24:00');

const openingInterval = z
  .object({ day: z.enum(WEEKDAYS), from: hhmm, to: hhmm })
  .refine((interval) => interval.from < interval.to, { message: 'must be after from', path: ['to'] });
const closingDay = z
  .object({
    date: z.iso.date('must be a date YYYY-MM-DD'),
    reason: z.string().max(200).default(''),
    yearly: z.boolean().default(false),
    until: z.union([z.literal(''), z.iso.date('must be a date YYYY-MM-DD')]).default(''),
  })
  .refine((day) => !day.until || day.until >= day.date, { message: 'must not be before date', path: ['until'] })
  .refine((day) => !day.yearly || !day.until || day.until.slice(0, 4) === day.date.slice(0, 4), {
    message: 'a yearly range must end in the year it starts (ranges over New Year: two entries)',
    path: ['until'],
  });
const dialKey = z.union([z.literal(''), z.string().regex(/^[0-9*#]$/, 'must be one key: 0–9, * or #')]).default('');

/**
 * Barring for outside calls (`checkOutbound` of `@switchboard/numbering` applies it). Every field
 * left out takes the safe default: premium, mass traffic and directory enquiries barred,
 * international allowed.
 */
export const outboundPolicySchema = z.object({
  allowPremium: z.boolean().default(false),
  allowMassTraffic: z.boolean().default(false),
  allowDirectoryEnquiries: z.boolean().default(false),
  barInternational: z.boolean().default(false),
});

/** Data protection settings; kept and carried here, applied by the services that store citizens' numbers. */
export const privacySchema = z.object({
  retentionDays: z.number().int('must be a whole number').min(1, 'must be at least 1').max(3_650).default(90),
  aggregateOnlyStatistics: z.boolean().default(false),
});

export const tenantSchema = z.object({
  tenantId: idSchema,
  name: text,
  federalState: z.enum(FEDERAL_STATES, 'must be a German federal state code such as SH'),
  timeZone: z
    .string()
    .default('Europe/Berlin')
    .transform((zone) => zone || 'Europe/Berlin')
    .refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin'),
  closingDays: z.array(closingDay).default([]),
  outboundPolicy: outboundPolicySchema.prefault({}),
  privacy: privacySchema.prefault({}),
});

export const siteSchema = z.object({
  siteId: idSchema,
  name: text,
  kind: z.string().max(50).default(''),
  municipality: z.string().max(100).default(''),
  address: z.object({
    street: text,
    postalCode: z.string().regex(/^\d{5}$/, 'must be a five-digit German postal code'),
    city: text,
  }),
  headcount: z.number().int('must be a whole number').min(0, 'must not be negative').max(100_000),
  openingHours: z.array(openingInterval).default([]),
  closingDays: z.array(closingDay).default([]),
  /** Replaces the tenant's policy for this site's staff and devices; absent: the tenant's applies. */
  outboundOverride: outboundPolicySchema.optional(),
});

export const numberSchema = z
  .object({
    number: z.string().regex(/^\+[1-9]\d{3,14}$/, 'must be E.164: "+" and digits'),
    kind: z.enum(NUMBER_KINDS),
    rangeDigits: z.number().int().min(0).max(5).default(0),
    siteId: optionalId,
    entryPoint: z.object({ kind: z.enum(ENTRY_POINT_KINDS), target: z.string().min(1, 'is required') }),
  })
  .superRefine((number, context) => {
    const range = number.kind === 'direct-dial-range';
    if (range && number.rangeDigits === 0) {
      context.addIssue({ code: 'custom', path: ['rangeDigits'], message: 'must be 1–5 for a direct-dial range' });
    }
    if (!range && number.rangeDigits !== 0) {
      context.addIssue({ code: 'custom', path: ['rangeDigits'], message: 'is only allowed for a direct-dial range' });
    }
    // A range prefix is not a number by itself; its first extension must be one.
    if (!isE164(number.number + '0'.repeat(range ? number.rangeDigits : 0))) {
      context.addIssue({
        code: 'custom',
        path: ['number'],
        message: range
          ? 'with rangeDigits more digits must form valid E.164 numbers'
          : 'must be a valid E.164 number such as +494624720',
      });
    }
    if ((number.kind === 'fax') !== (number.entryPoint.kind === 'fax-department')) {
      context.addIssue({
        code: 'custom',
        path: ['entryPoint', 'kind'],
        message: 'must be fax-department exactly for fax numbers',
      });
    }
  });

export const departmentSchema = z
  .object({
    departmentId: idSchema,
    name: text,
    siteId: optionalId,
    members: z
      .array(z.object({ staffId: idSchema, priority: z.number().int().min(0).max(100).default(0) }))
      .default([]),
    strategy: z.enum(STRATEGIES).default('longest-idle'),
    requiredSkills: z.array(idSchema).default([]),
    ringTimeoutSeconds: z.number().int().min(5).max(600).default(20),
    wrapUpSeconds: z.number().int().min(0).max(3_600).default(0),
    maxWaitSeconds: z.number().int().min(0).max(7_200).default(300),
    overflow: z
      .object({ kind: z.enum(OVERFLOW_KINDS), target: z.string().default('') })
      .default({ kind: 'none', target: '' }),
    openingHours: z.array(openingInterval).default([]),
    faxMailbox: z.union([z.literal(''), z.email('must be an e-mail address')]).default(''),
    closingDays: z.array(closingDay).default([]),
    closedTarget: z
      .object({ kind: z.enum(OVERFLOW_KINDS), target: z.string().default('') })
      .default({ kind: 'none', target: '' }),
    tierDelaySeconds: z.number().int().min(0).max(3_600).default(0),
    callbackKey: dialKey,
  })
  .superRefine((department, context) => {
    for (const field of ['overflow', 'closedTarget'] as const) {
      const { kind, target } = department[field];
      if ((kind === 'department' || kind === 'voicemail') && !target) {
        context.addIssue({ code: 'custom', path: [field, 'target'], message: `is required for ${kind}` });
      }
    }
    if (department.strategy === 'skills' && department.requiredSkills.length === 0) {
      context.addIssue({
        code: 'custom',
        path: ['requiredSkills'],
        message: 'must name a skill for the skills strategy',
      });
    }
  });

export const staffSchema = z
  .object({
    staffId: idSchema,
    displayName: text,
    extension: z.string().regex(/^\d{2,6}$/, 'must be 2–6 digits'),
    devices: z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a PJSIP endpoint name')).default([]),
    skills: z.array(idSchema).default([]),
    siteId: optionalId,
    homeOffice: z.boolean().default(false),
    homeOfficeNumber: z.union([z.literal(''), e164]).default(''),
  })
  .superRefine((staff, context) => {
    if (staff.homeOffice && !staff.homeOfficeNumber) {
      context.addIssue({ code: 'custom', path: ['homeOfficeNumber'], message: 'is required when homeOffice is set' });
    }
    // Routing sends these out before it looks for an extension (see README, "Extensions").
    const service = serviceNumber(staff.extension);
    if (service) {
      context.addIssue({
        code: 'custom',
        path: ['extension'],
        message:
          `${staff.displayName} (${staff.staffId}) cannot have extension ${staff.extension}: it is ${service.reaches}, ` +
          'which every phone dials instead of a colleague; choose a free extension',
      });
    }
  });

export const documentSchema = z.object({
  tenant: tenantSchema,
  sites: z.array(siteSchema).default([]),
  numbers: z.array(numberSchema).default([]),
  departments: z.array(departmentSchema).default([]),
  staff: z.array(staffSchema).default([]),
});

export type Tenant = z.infer<typeof tenantSchema>;
export type Site = z.infer<typeof siteSchema>;
export type PhoneNumber = z.infer<typeof numberSchema>;
export type Department = z.infer<typeof departmentSchema>;
export type Staff = z.infer<typeof staffSchema>;
export type DirectoryDocument = z.infer<typeof documentSchema>;

/**
 * A tenant as stored: rows written before the outbound policy and privacy settings existed get
 * their safe defaults.
 */
export function storedTenant(tenant: Omit<Tenant, 'outboundPolicy' | 'privacy'> & Partial<Tenant>): Tenant {
  return {
    ...tenant,
    outboundPolicy: outboundPolicySchema.parse(tenant.outboundPolicy ?? {}),
    privacy: privacySchema.parse(tenant.privacy ?? {}),
  };
}

/** Bad input; `problems` name each field, e.g. `staff[s-1].extension: must be 2–6 digits`. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

function formatPath(path: readonly PropertyKey[], prefix: string): string {
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : `${text}.${String(part)}`),
    prefix,
  );
}

/** Parses with a schema; every problem becomes one `<prefix>.<field>: <message>` line. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(result.error.issues.map((issue) => `${formatPath(issue.path, prefix)}: ${issue.message}`));
}
