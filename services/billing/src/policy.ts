import { billingV1 } from '@switchboard/proto';
import { definePolicy } from '@switchboard/service-kit';

/** Who may call what on the billing API (the table in services/README.md is generated from this). */
export const billingPolicy = definePolicy(billingV1.BillingServiceService, {
  setBillingProfile: {
    description: "Stores the tenant's billing profile (sites, buyer, contract, allocation).",
    audit: true,
    allow: { admin: 'tenant', operator: 'any-tenant' },
  },
  getBillingProfile: {
    description: "The tenant's billing profile.",
    audit: false,
    allow: { admin: 'tenant', finance: 'tenant', operator: 'any-tenant' },
  },
  closeMonth: {
    description: 'Closes a month into an invoice.',
    audit: true,
    allow: { admin: 'tenant', operator: 'any-tenant' },
  },
  getInvoice: {
    description: "A month's invoice.",
    audit: false,
    allow: { admin: 'tenant', finance: 'tenant', operator: 'any-tenant' },
  },
  getInvoiceDocument: {
    description: "An invoice's PDF or XRechnung.",
    audit: false,
    allow: { admin: 'tenant', finance: 'tenant', operator: 'any-tenant' },
  },
  exportRatedLegs: {
    description: 'Every rated leg of a month (the CDR export).',
    audit: false,
    allow: { admin: 'tenant', finance: 'tenant', operator: 'any-tenant' },
  },
});
