import { billingV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { formatInvoice } from './billing.js';

describe('sb invoice (text)', () => {
  it('prints each line with quantity, unit and contract unit price beside its net amount', () => {
    const invoice = billingV1.Invoice.fromPartial({
      invoiceNumber: 'SB-202604-T-KROPP',
      tenantId: 't-kropp',
      month: '2026-04',
      lines: [
        {
          description: 'Minuten über Paket – Festnetz Deutschland',
          quantityMilli: '340667',
          unitCode: 'MIN',
          unitPrice: '150',
          netCents: '511',
        },
        {
          description: 'Korrektur März 2026, Mobilfunk Deutschland',
          quantityMilli: '-24133',
          unitCode: 'MIN',
          unitPrice: '900',
          netCents: '-217',
        },
        { description: 'Sprachpaket', quantityMilli: '2000', unitCode: 'C62', unitPrice: '299000', netCents: '5980' },
      ],
      netCents: '6274',
      vatRatePercent: 19,
      vatCents: '1192',
      grossCents: '7466',
    });
    const lines = formatInvoice(invoice).split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/Festnetz Deutschland\s+340\.667 MIN × {4}0\.015 +5\.11 EUR$/));
    expect(lines).toContainEqual(expect.stringMatching(/Mobilfunk Deutschland\s+-24\.133 MIN × {5}0\.09 +-2\.17 EUR$/));
    expect(lines).toContainEqual(expect.stringMatching(/Sprachpaket\s+2 C62 × {4}29\.90 +59\.80 EUR$/));
    expect(lines).toContain(`  Total ${'74.66'.padStart(12)} EUR`);
  });
});
