import { hostname } from 'node:os';
import { ConfigError } from '@switchboard/service-kit';
import { z } from 'zod';

/** One number plan entry: which tenant owns which dialled numbers and which devices. */
const tenantNumbers = z.object({
  tenantId: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a subject token (letters, digits, "-", "_")'),
  /** E.164 prefixes of the tenant's numbers, e.g. `+49462480` for a direct-dial range. */
  numberPrefixes: z.array(z.string().regex(/^\+\d{1,15}$/, 'must be an E.164 prefix like +49462480')).default([]),
  /** Prefixes of the tenant's PJSIP endpoint names, e.g. `kropp-` for `PJSIP/kropp-1001`. */
  endpointPrefixes: z.array(z.string().min(1)).default([]),
});

const tenantId = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a subject token (letters, digits, "-", "_")');

export const numberPlanSchema = z.object({
  tenants: z.array(tenantNumbers).default([]),
  /** Calls no entry claims go to this tenant, so they still get a path (an announcement). */
  fallbackTenant: tenantId,
});

export type NumberPlan = z.infer<typeof numberPlanSchema>;

const jsonNumberPlan = z.string().transform((text, context) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    context.addIssue({ code: 'custom', message: `is not JSON: ${(error as Error).message}` });
    return z.NEVER;
  }
  const result = numberPlanSchema.safeParse(parsed);
  if (!result.success) {
    for (const issue of result.error.issues) {
      context.addIssue({ code: 'custom', message: `${issue.path.join('.')}: ${issue.message}` });
    }
    return z.NEVER;
  }
  return result.data;
});

export const adapterConfigSchema = z.object({
  /** Asterisk's HTTP server, e.g. `http://asterisk:8088` (no trailing `/ari`). */
  ARI_URL: z.url(),
  ARI_USERNAME: z.string().min(1),
  ARI_PASSWORD: z.string().min(1),
  /** The Stasis application the dialplan sends calls into. */
  ARI_APP: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('switchboard'),
  /** Identity of this adapter (one per Asterisk); call-control requests are addressed to it. */
  ADAPTER_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default(hostname().replace(/[^A-Za-z0-9_-]/g, '-')),
  /** Which numbers and devices belong to which tenant, for setups without a directory only. */
  NUMBER_PLAN: jsonNumberPlan.optional(),
  /** With the directory: the tenant that gets calls to numbers no tenant has (NUMBER_PLAN's fallbackTenant). */
  FALLBACK_TENANT: tenantId.optional(),
  /** Dial string for external numbers; `{number}` is replaced by the E.164 number. */
  TRUNK_ENDPOINT: z.string().includes('{number}').default('PJSIP/{number}@trunk'),
  /** Dialplan location that runs ReceiveFAX and hands the channel back (docker/asterisk/extensions.conf). */
  FAX_CONTEXT: z.string().min(1).default('switchboard-fax'),
  FAX_EXTENSION: z.string().min(1).default('receive'),
  /** How long the result of a completed command id is remembered (failures are not). */
  COMMAND_ID_TTL_MS: z.coerce.number().int().positive().default(600_000),
  /** How often tracked calls are compared with Asterisk's channel list (each run lists every channel). */
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100, 'must be at least 100 ms').default(30_000),
  /** How long a created leg may take to enter Stasis; Asterisk refuses commands on it until then. */
  STASIS_START_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  /**
   * The directory's gRPC address (`host:port`): the number plan comes from it and the adapter
   * provisions the tenants' devices from it. Unset: NUMBER_PLAN is the number plan and no device
   * is provisioned, they must be configured in Asterisk otherwise (pjsip.conf).
   */
  DIRECTORY_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d+$/, 'must be host:port, e.g. directory:50051')
    .optional(),
  /** How long a request to the directory may take. */
  DIRECTORY_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  /** How often the number plan is re-read and the devices pushed again, in case a change event was missed. */
  DIRECTORY_REFRESH_INTERVAL_MS: z.coerce.number().int().min(1_000, 'must be at least 1000 ms').default(300_000),
  /** An ARI request without an answer by then failed (and is retried if that is safe). */
  ARI_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
});

export type AdapterConfig = z.infer<typeof adapterConfigSchema>;

/** Where the number plan comes from: one source only, so no stale copy can silently win. */
export type TenantSource =
  { kind: 'static'; plan: NumberPlan } | { kind: 'directory'; address: string; fallbackTenant: string };

/** Checks what one variable's schema cannot: which of the plan's variables go together. */
export function tenantSource(config: AdapterConfig): TenantSource {
  const { DIRECTORY_ADDRESS: address, NUMBER_PLAN: plan, FALLBACK_TENANT: fallbackTenant } = config;
  const problems: string[] = [];
  if (address) {
    if (plan)
      problems.push('NUMBER_PLAN: must not be set with DIRECTORY_ADDRESS; the number plan comes from the directory');
    if (!fallbackTenant)
      problems.push('FALLBACK_TENANT: is required with DIRECTORY_ADDRESS (the tenant of unclaimed calls)');
    if (problems.length === 0) return { kind: 'directory', address, fallbackTenant: fallbackTenant! };
  } else {
    if (!plan) problems.push('NUMBER_PLAN: is required without DIRECTORY_ADDRESS');
    if (fallbackTenant) {
      problems.push(
        "FALLBACK_TENANT: is only read with DIRECTORY_ADDRESS; without it, NUMBER_PLAN's fallbackTenant is used",
      );
    }
    if (problems.length === 0) return { kind: 'static', plan: plan! };
  }
  throw new ConfigError(problems);
}
