import { billingV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { CDR_COLUMNS, cdrRow, eurosFromTenThousandths, formatInvoice } from './billing.js';

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

describe('sb cdr export rows', () => {
  it('write money as EUR with four decimals, exactly', () => {
    expect(eurosFromTenThousandths('0')).toBe('0.0000');
    expect(eurosFromTenThousandths('500')).toBe('0.0500');
    expect(eurosFromTenThousandths('-12345')).toBe('-1.2345');
    expect(eurosFromTenThousandths('90071992547409930')).toBe('9007199254740.9930');
  });

  it('have one cell per column', () => {
    const row = cdrRow({
      tenantId: 't',
      callId: 'c',
      legId: 'l',
      siteId: 's',
      startedAt: new Date('2026-03-02T08:00:00Z'),
      billingMonth: '2026-03',
      destination: '+4930123456',
      destinationClass: 'de-fixed',
      durationSeconds: 61,
      billedSeconds: 61,
      pool: 'de-fixed',
      bundleSeconds: 0,
      overageSeconds: 61,
      connectionFee: '0',
      amount: '153',
      tariffId: 'kommunal',
      tariffVersion: 2,
      ratingVersion: 1,
      traceparent: '',
      charges: [],
    });
    expect(Object.fromEntries(CDR_COLUMNS.map((column, index) => [column, row[index]]))).toEqual({
      call_id: 'c',
      leg_id: 'l',
      started_at_utc: '2026-03-02T08:00:00.000Z',
      billing_month: '2026-03',
      destination: '+4930123xxx',
      destination_class: 'de-fixed',
      duration_seconds: 61,
      billed_seconds: 61,
      pool: 'de-fixed',
      bundle_seconds: 0,
      overage_seconds: 61,
      connection_fee_eur: '0.0000',
      amount_eur: '0.0153',
      tariff_id: 'kommunal',
      tariff_version: 2,
      rating_version: 1,
      site_id: 's',
    });
  });
});
