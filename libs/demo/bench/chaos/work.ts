import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CallEvents } from '@switchboard/events';
import { sampleFaxTiff } from '@switchboard/fax/testing';
import { billingV1, callV1 } from '@switchboard/proto';
import { newEventMeta, publishEvent, type NatsHandle } from '@switchboard/service-kit';
import type { Stack, TenantDocument } from '@switchboard/stack';
import { collect, insecure, unary } from './grpc.js';

// The work a billing or fax crash must not lose: a month close with legs to invoice, and a fax
// being converted. Both are started by the fault that kills the service during it.

const { LegKind, LegDisposition, CallDirection, LegState } = callV1;

/** `YYYY-MM` of an instant in Europe/Berlin (billing months are Berlin's). */
export function berlinMonth(at: Date): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit' })
    .formatToParts(at)
    .reduce<Record<string, string>>((all, part) => ({ ...all, [part.type]: part.value }), {});
  return `${parts['year']}-${parts['month']}`;
}

export function previousMonth(month: string): string {
  const [year, number] = month.split('-').map(Number) as [number, number];
  return number === 1 ? `${year - 1}-12` : `${year}-${String(number - 1).padStart(2, '0')}`;
}

/**
 * Gives billing a month to close: a billing profile for the tenant and `calls` outbound calls of
 * last month (one external leg each, 1–30 minutes, rated with the default tariff), published as
 * the adapter would. Their legs are billable like the run's own.
 */
export async function prepareMonthClose(
  stack: Stack,
  tester: NatsHandle,
  tenant: TenantDocument,
  month: string,
  calls: number,
): Promise<void> {
  const token = await stack.token();
  const client = new billingV1.BillingServiceClient(stack.grpcAddress('billing'), insecure);
  try {
    await unary<billingV1.SetBillingProfileResponse>(token, (metadata, done) =>
      client.setBillingProfile(
        {
          tenantId: stack.tenantId,
          profile: billingV1.BillingProfile.fromPartial({
            tenantId: stack.tenantId,
            buyer: {
              name: 'Amt Kropp-Stapelholm',
              address: { street: 'Am Markt 10', postalCode: '24848', city: 'Kropp', countryCode: 'DE' },
              leitwegId: '01058040-0001-88',
              email: 'rechnung@amt-kropp.example',
            },
            sites: tenant.sites.map((site) => ({ id: site.siteId, name: site.siteId, headcount: 10 })),
            voicePackagePrice: '299000',
            allocation: { method: billingV1.AllocationMethod.ALLOCATION_METHOD_HEADCOUNT, overrides: [] },
          }),
        },
        metadata,
        done,
      ),
    );
  } finally {
    client.close();
  }
  const [year, number] = month.split('-').map(Number) as [number, number];
  const site = tenant.sites[0]?.siteId ?? '';
  for (let index = 0; index < calls; index++) {
    const start = new Date(Date.UTC(year, number - 1, 10, 7, 0, 0) + index * 600_000);
    const answered = new Date(start.getTime() + 4_000);
    const ended = new Date(answered.getTime() + (1 + (index % 30)) * 60_000);
    const callId = `chaos-${month}-${index}`;
    const leg = (legId: string, kind: callV1.LegKind, to: string): callV1.Leg =>
      callV1.Leg.fromPartial({
        legId,
        channelId: legId,
        kind,
        from: '+494624720',
        to,
        createdAt: start,
        answeredAt: answered,
        endedAt: ended,
        disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
        hangupCause: 16,
        tags: { site_id: site },
        state: LegState.LEG_STATE_ENDED,
      });
    await publishEvent(tester, CallEvents.ended, {
      meta: newEventMeta(stack.tenantId, 'chaos', ended),
      callId,
      direction: CallDirection.CALL_DIRECTION_OUTBOUND,
      startedAt: start,
      endedAt: ended,
      endedBy: 'caller',
      legs: [
        leg(`${callId}-caller`, LegKind.LEG_KIND_CALLER, '+4930123456'),
        leg(`${callId}-out`, LegKind.LEG_KIND_EXTERNAL, '+4930123456'),
      ],
    });
  }
}

export interface CloseOutcome {
  invoiceNumber: string;
  /** CloseMonth requests until one answered with the invoice. */
  attempts: number;
  netCents: number;
  linesCents: number;
  /** Both documents (PDF, XRechnung) could be fetched and are not empty. */
  documents: boolean;
  /** What is wrong with the invoice after the crash; empty when nothing. */
  problems: string[];
}

/** Closes the month (again, after the crash) until billing answers, then checks the invoice. */
export async function finishMonthClose(stack: Stack, month: string, timeoutMs: number): Promise<CloseOutcome> {
  const token = await stack.token();
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  for (;;) {
    attempts++;
    const client = new billingV1.BillingServiceClient(stack.grpcAddress('billing'), insecure);
    try {
      const { invoice } = await unary<billingV1.CloseMonthResponse>(token, (metadata, done) =>
        client.closeMonth({ tenantId: stack.tenantId, month }, metadata, done),
      );
      if (!invoice) throw new Error('CloseMonth answered without an invoice');
      const document = async (kind: billingV1.DocumentKind) =>
        (
          await unary<billingV1.GetInvoiceDocumentResponse>(token, (metadata, done) =>
            client.getInvoiceDocument({ tenantId: stack.tenantId, month, kind }, metadata, done),
          )
        ).content.length;
      const [pdf, xrechnung] = await Promise.all([
        document(billingV1.DocumentKind.DOCUMENT_KIND_PDF),
        document(billingV1.DocumentKind.DOCUMENT_KIND_XRECHNUNG),
      ]);
      const { invoice: stored } = await unary<billingV1.GetInvoiceResponse>(token, (metadata, done) =>
        client.getInvoice({ tenantId: stack.tenantId, month }, metadata, done),
      );
      const netCents = Number(invoice.netCents);
      const linesCents = invoice.lines.reduce((sum, line) => sum + Number(line.netCents), 0);
      const problems: string[] = [];
      if (netCents !== linesCents) problems.push(`net ${netCents} ≠ sum of its lines ${linesCents}`);
      if (!stored || stored.invoiceNumber !== invoice.invoiceNumber) problems.push('GetInvoice shows another invoice');
      if (pdf === 0 || xrechnung === 0) problems.push('a document of the invoice is empty');
      return {
        invoiceNumber: invoice.invoiceNumber,
        attempts,
        netCents,
        linesCents,
        documents: pdf > 0 && xrechnung > 0,
        problems,
      };
    } catch (error) {
      // Not up yet, or refused while legs received before the crash are still being stored.
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    } finally {
      client.close();
    }
  }
}

/** Starts a close that the fault interrupts: its answer (or the broken connection) is not awaited. */
export async function startMonthClose(stack: Stack, month: string): Promise<void> {
  const token = await stack.token();
  const client = new billingV1.BillingServiceClient(stack.grpcAddress('billing'), insecure);
  void unary(token, (metadata, done) => client.closeMonth({ tenantId: stack.tenantId, month }, metadata, done))
    .catch(() => undefined)
    .finally(() => client.close());
}

/** Every rated leg billing stores for the month, as `<call>/<leg>` (a leg twice shows twice). */
export async function billedLegs(stack: Stack, month: string): Promise<string[]> {
  const token = await stack.token();
  const client = new billingV1.BillingServiceClient(stack.grpcAddress('billing'), insecure);
  try {
    const responses = await collect<billingV1.ExportRatedLegsResponse>(token, (metadata) =>
      client.exportRatedLegs({ tenantId: stack.tenantId, month }, metadata),
    );
    return responses.flatMap((response) => (response.leg ? [`${response.leg.callId}/${response.leg.legId}`] : []));
  } finally {
    client.close();
  }
}

/** The demo tenant's first fax number and the mailbox its department's faxes go to. */
export function faxRoute(tenant: {
  numbers: TenantDocument['numbers'];
  departments: Array<{ departmentId: string; faxMailbox?: string }>;
}): { number: string; mailbox: string } {
  for (const number of tenant.numbers) {
    if (number.kind !== 'fax' || number.entryPoint?.kind !== 'fax-department') continue;
    const department = tenant.departments.find((d) => d.departmentId === number.entryPoint!.target);
    if (department?.faxMailbox) return { number: number.number, mailbox: department.faxMailbox };
  }
  throw new Error('the tenant has no fax number whose department has a fax mailbox');
}

/** A sample fax (CCITT G4, fine resolution) of `pages` pages, written to a new temp file. */
export async function writeSampleFax(pages: number, seed: number): Promise<string> {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'sb-chaos-fax-')), 'fax.tif');
  await writeFile(file, await sampleFaxTiff({ pages, compression: 'g4', resolution: 'fine', seed }));
  return file;
}
