import * as grpc from '@grpc/grpc-js';
import { billingV1 } from '@switchboard/proto';
import { GrpcStatusError } from '@switchboard/service-kit';
import type { DocumentStore } from './documents.js';
import type { InvoiceStore } from './invoices.js';
import { CloseRefusedError, closeMonth, completeIssue, type MonthCloseDependencies } from './month-close.js';
import { isMonth } from './months.js';
import { ProfileError, parseProfile } from './profile.js';
import type { RatedLegStore } from './rated-legs.js';
import { profileInput, wireInvoice, wireLeg, wireProfile } from './wire.js';

export interface BillingServerDependencies extends MonthCloseDependencies {
  legs: RatedLegStore;
  invoices: InvoiceStore;
  documents: DocumentStore;
}

/** Known failures become gRPC statuses with a message; anything else stays INTERNAL. */
function asStatus(error: unknown): unknown {
  if (error instanceof ProfileError) return new GrpcStatusError(grpc.status.INVALID_ARGUMENT, error.message);
  if (error instanceof CloseRefusedError) {
    return new GrpcStatusError(grpc.status.FAILED_PRECONDITION, error.message);
  }
  return error;
}

function unary<Req, Res>(work: (request: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    work(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => callback(asStatus(error) as grpc.ServiceError),
    );
  };
}

function requireMonth(month: string): void {
  if (!isMonth(month)) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, `month: "${month}" is not YYYY-MM`);
}

export function billingServer(deps: BillingServerDependencies): billingV1.BillingServiceServer {
  const invoiceOf = async (tenantId: string, month: string) => {
    requireMonth(month);
    const invoice = await deps.invoices.invoice(tenantId, month);
    if (!invoice)
      throw new GrpcStatusError(grpc.status.NOT_FOUND, `no invoice for ${tenantId} ${month}; close the month first`);
    // Never shown half issued: an invoice a crash left without documents or event is finished first.
    return completeIssue(deps, invoice);
  };
  return {
    setBillingProfile: unary(async (request: billingV1.SetBillingProfileRequest) => {
      const profile = parseProfile(profileInput(request.tenantId, request.profile));
      await deps.invoices.saveProfile(profile);
      return { profile: wireProfile(profile) };
    }),
    getBillingProfile: unary(async (request: billingV1.GetBillingProfileRequest) => {
      const profile = await deps.invoices.profile(request.tenantId);
      if (!profile)
        throw new GrpcStatusError(grpc.status.NOT_FOUND, `tenant ${request.tenantId} has no billing profile`);
      return { profile: wireProfile(profile) };
    }),
    closeMonth: unary(async (request: billingV1.CloseMonthRequest) => {
      requireMonth(request.month);
      const { invoice, created } = await closeMonth(deps, request.tenantId, request.month);
      return { invoice: wireInvoice(invoice), created };
    }),
    getInvoice: unary(async (request: billingV1.GetInvoiceRequest) => ({
      invoice: wireInvoice(await invoiceOf(request.tenantId, request.month)),
    })),
    getInvoiceDocument: unary(async (request: billingV1.GetInvoiceDocumentRequest) => {
      const kind =
        request.kind === billingV1.DocumentKind.DOCUMENT_KIND_PDF
          ? 'pdf'
          : request.kind === billingV1.DocumentKind.DOCUMENT_KIND_XRECHNUNG
            ? 'xrechnung'
            : undefined;
      if (!kind) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'kind: choose PDF or XRECHNUNG');
      const document = await deps.documents.get(await invoiceOf(request.tenantId, request.month), kind);
      return { fileName: document.fileName, contentType: document.contentType, content: document.content };
    }),
    exportRatedLegs: (
      call: grpc.ServerWritableStream<billingV1.ExportRatedLegsRequest, billingV1.ExportRatedLegsResponse>,
    ) => {
      const { tenantId, month } = call.request;
      void (async () => {
        requireMonth(month);
        const cursor = deps.legs.exportMonth(tenantId, month);
        try {
          for await (const leg of cursor) {
            if (call.cancelled) break;
            // Respect back-pressure: wait for the stream to drain before reading more legs.
            if (!call.write({ leg: wireLeg(leg) })) await new Promise((resolve) => call.once('drain', resolve));
          }
        } finally {
          await cursor.close();
        }
        call.end();
      })().catch((error: unknown) => {
        const status = asStatus(error);
        call.emit(
          'error',
          status instanceof GrpcStatusError
            ? { code: status.code, details: status.details }
            : { code: grpc.status.INTERNAL, details: 'export failed' },
        );
      });
    },
  };
}
