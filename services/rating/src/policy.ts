import { ratingServiceV1 } from '@switchboard/proto';
import { definePolicy } from '@switchboard/service-kit';

/** Who may call what on the rating API (the table in services/README.md is generated from this). */
export const ratingPolicy = definePolicy(ratingServiceV1.RatingServiceService, {
  getUsage: {
    description: "A billing month's usage per pool, overage and forecast.",
    audit: false,
    // Billing asks for the month's voice packages at close (over NATS, libs/rpc-clients).
    allow: { admin: 'tenant', finance: 'tenant', operator: 'any-tenant', service: 'any-tenant' },
  },
  classifyNumbers: {
    description: 'Classes of dialled numbers (`sb classify`); names no tenant.',
    audit: false,
    allow: { admin: 'tenant', finance: 'tenant', operator: 'any-tenant' },
  },
  rerateMonth: {
    description: "Rates a month's legs again under the tariffs now in force.",
    audit: true,
    allow: { admin: 'tenant', operator: 'any-tenant' },
  },
  setTariff: {
    description: 'Adds a tariff version valid from a date.',
    audit: true,
    allow: { admin: 'tenant', operator: 'any-tenant' },
  },
  listTariffs: {
    description: "The tenant's tariff versions.",
    audit: false,
    allow: { admin: 'tenant', finance: 'tenant', operator: 'any-tenant' },
  },
});
