import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type * as grpc from '@grpc/grpc-js';
import { shortenNumber } from '@switchboard/numbering';
import { billingV1, type ratingV1 } from '@switchboard/proto';
import { stringify } from 'csv-stringify';
import { Option, type Command } from 'commander';
import { withApi, type ApiTarget } from '../api-connection.js';

const DEFAULT_ADDRESS = '127.0.0.1:50052';

interface TenantMonth {
  tenant: string;
  month: string;
}

function billingApi(tenant: string, env: NodeJS.ProcessEnv): ApiTarget<billingV1.BillingServiceClient> {
  return {
    address: env['SB_BILLING_ADDR'] ?? DEFAULT_ADDRESS,
    tenant,
    env,
    create: (address, credentials) => new billingV1.BillingServiceClient(address, credentials),
  };
}

function unary<Res>(
  call: (callback: (error: grpc.ServiceError | null, response: Res) => void) => unknown,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    call((error, response) => (error ? reject(new Error(error.details || error.message)) : resolve(response))),
  );
}

const euros = (cents: string) => {
  const value = BigInt(cents);
  const abs = value < 0n ? -value : value;
  return `${value < 0n ? '-' : ''}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
};

/** An integer of `10^decimals` parts as a decimal with at least `minDecimals` places. */
const decimal = (parts: string, decimals: number, minDecimals: number) => {
  const value = BigInt(parts);
  const abs = value < 0n ? -value : value;
  const scale = 10n ** BigInt(decimals);
  let fraction = String(abs % scale).padStart(decimals, '0');
  while (fraction.length > minDecimals && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return `${value < 0n ? '-' : ''}${abs / scale}${fraction ? `.${fraction}` : ''}`;
};

/** The invoice as text: lines with quantity and contract unit price, totals, each site's share. */
export function formatInvoice(invoice: billingV1.Invoice): string {
  const out = [
    `Invoice ${invoice.invoiceNumber}  tenant ${invoice.tenantId}  month ${invoice.month}  (${invoice.periodStart} – ${invoice.periodEnd}, due ${invoice.dueDate})`,
    '',
    'Lines',
    ...invoice.lines.map(
      (line, index) =>
        `  ${String(index + 1).padStart(2)}  ${line.description.padEnd(64)} ${decimal(line.quantityMilli, 3, 0).padStart(10)} ${line.unitCode.padEnd(3)} × ${decimal(line.unitPrice, 4, 2).padStart(8)} ${euros(line.netCents).padStart(12)} EUR`,
    ),
    '',
    `  Net   ${euros(invoice.netCents).padStart(12)} EUR`,
    `  VAT ${invoice.vatRatePercent} % ${euros(invoice.vatCents).padStart(10)} EUR`,
    `  Total ${euros(invoice.grossCents).padStart(12)} EUR`,
    '',
    'Allocation per site (net / VAT / gross, EUR)',
    ...invoice.allocation.map(
      (share) =>
        `  ${share.siteId.padEnd(12)} ${share.siteName.padEnd(32)} ${euros(share.netCents).padStart(12)} ${euros(share.vatCents).padStart(10)} ${euros(share.grossCents).padStart(12)}`,
    ),
  ];
  return `${out.join('\n')}\n`;
}

/**
 * One row per rated leg (its current rating version), enough for a controller to recompute every
 * amount from the tariff: duration → billed seconds by the increments, bundle/overage split per
 * pool, amount = overage (or billed) seconds × price per minute / 60, rounded to 1/10,000 EUR, plus
 * the connection fee. Money in EUR with four decimals (the rating precision), as the headers say.
 */
export const CDR_COLUMNS = [
  'call_id',
  'leg_id',
  'started_at_utc',
  'billing_month',
  'destination',
  'destination_class',
  'duration_seconds',
  'billed_seconds',
  'pool',
  'bundle_seconds',
  'overage_seconds',
  'connection_fee_eur',
  'amount_eur',
  'tariff_id',
  'tariff_version',
  'rating_version',
  'site_id',
] as const;

/** 1/10,000 EUR (int64 as a string) → EUR with four decimals: `-12345` → `-1.2345`. */
export function eurosFromTenThousandths(amount: string): string {
  const value = BigInt(amount);
  const abs = value < 0n ? -value : value;
  return `${value < 0n ? '-' : ''}${abs / 10_000n}.${String(abs % 10_000n).padStart(4, '0')}`;
}

/** A rated leg as a CSV row, in `CDR_COLUMNS` order. */
export function cdrRow(leg: ratingV1.RatedLeg): Array<string | number> {
  return [
    leg.callId,
    leg.legId,
    leg.startedAt?.toISOString() ?? '',
    leg.billingMonth,
    // Data protection: the export never shows a whole number, also before retention shortened it.
    shortenNumber(leg.destination),
    leg.destinationClass,
    leg.durationSeconds,
    leg.billedSeconds,
    leg.pool,
    leg.bundleSeconds,
    leg.overageSeconds,
    eurosFromTenThousandths(leg.connectionFee),
    eurosFromTenThousandths(leg.amount),
    leg.tariffId,
    leg.tariffVersion,
    leg.ratingVersion,
    leg.siteId,
  ];
}

/**
 * `sb invoice [show] --tenant T --month M [--json]`, `sb invoice get --tenant T --month M
 * --format pdf|xrechnung --out FILE` and `sb cdr export --tenant T --month M --csv FILE`, over
 * gRPC to billing at SB_BILLING_ADDR (default 127.0.0.1:50052).
 */
export function registerBillingCommands(program: Command, env: NodeJS.ProcessEnv = process.env): void {
  const invoice = program
    .command('invoice')
    .description("a tenant's monthly invoice: print it (default) or download its documents");
  invoice
    .command('show', { isDefault: true })
    .description("print a tenant's invoice for a month: lines, totals, allocation per site")
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--month <YYYY-MM>', 'billing month (Europe/Berlin)')
    .option('--close', 'close the month first when it has no invoice yet')
    .option('--json', 'print the invoice as JSON')
    .action(async (options: TenantMonth & { json?: boolean; close?: boolean }) => {
      await withApi(billingApi(options.tenant, env), async ({ client: billing, metadata }) => {
        const request = { tenantId: options.tenant, month: options.month };
        const { invoice } = options.close
          ? await unary<billingV1.CloseMonthResponse>((done) => billing.closeMonth(request, metadata, done))
          : await unary<billingV1.GetInvoiceResponse>((done) => billing.getInvoice(request, metadata, done));
        if (!invoice) throw new Error('billing answered without an invoice');
        process.stdout.write(
          options.json
            ? `${JSON.stringify(billingV1.Invoice.toJSON(billingV1.Invoice.fromPartial(invoice)), null, 2)}\n`
            : formatInvoice(invoice),
        );
      });
    });

  invoice
    .command('get')
    .description('download an invoice document: the PDF (with the site annex) or the XRechnung XML')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--month <YYYY-MM>', 'billing month (Europe/Berlin)')
    .addOption(new Option('--format <format>', 'document').choices(['pdf', 'xrechnung']).makeOptionMandatory())
    .requiredOption('--out <file>', 'file to write; an existing file is left alone')
    .action(async (options: TenantMonth & { format: 'pdf' | 'xrechnung'; out: string }) => {
      await withApi(billingApi(options.tenant, env), async ({ client: billing, metadata }) => {
        const kind =
          options.format === 'pdf'
            ? billingV1.DocumentKind.DOCUMENT_KIND_PDF
            : billingV1.DocumentKind.DOCUMENT_KIND_XRECHNUNG;
        const document = await unary<billingV1.GetInvoiceDocumentResponse>((done) =>
          billing.getInvoiceDocument({ tenantId: options.tenant, month: options.month, kind }, metadata, done),
        );
        try {
          await writeFile(options.out, document.content, { flag: 'wx' });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
            throw new Error(`${options.out} exists already; choose another --out or remove it`);
          }
          throw error;
        }
        process.stderr.write(
          `${document.fileName} (${document.contentType}, ${document.content.length} bytes) written to ${options.out}\n`,
        );
      });
    });

  program
    .command('cdr')
    .description('rated call records')
    .command('export')
    .description(
      'write every rated leg of a month (current rating version) as CSV: duration, billed, bundle and overage seconds, connection fee and amount (EUR, 4 decimals), tariff and rating version, destination without its last three digits',
    )
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--month <YYYY-MM>', 'billing month (Europe/Berlin)')
    .requiredOption('--csv <file>', 'output file')
    .action(async (options: TenantMonth & { csv: string }) => {
      await withApi(billingApi(options.tenant, env), async ({ client: billing, metadata }) => {
        const output = createWriteStream(options.csv);
        const csv = stringify({ header: true, columns: [...CDR_COLUMNS] });
        csv.pipe(output);
        const stream = billing.exportRatedLegs({ tenantId: options.tenant, month: options.month }, metadata);
        let rows = 0;
        for await (const message of stream as AsyncIterable<billingV1.ExportRatedLegsResponse>) {
          const leg = message.leg;
          if (!leg) continue;
          const row = cdrRow(leg);
          if (!csv.write(row)) await once(csv, 'drain');
          rows += 1;
        }
        csv.end();
        await finished(output);
        process.stderr.write(`${rows} rated legs written to ${options.csv}\n`);
      });
    });
}
