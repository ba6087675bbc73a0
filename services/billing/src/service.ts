import { BillingEvents, CDRS_STREAM, INVOICES_STREAM, DLQ_STREAM, allTenantsSubject } from '@switchboard/events';
import { billingV1 } from '@switchboard/proto';
import { directoryRpcClient, ratingRpcClient, servePrivacyErase, startPrivacySweep } from '@switchboard/rpc-clients';
import { KeyedCoalescer, newEventMeta, type ServiceDefinition } from '@switchboard/service-kit';
import { CDR_CONSUMER, LegBatcher, cdrRatedHandler } from './cdr-consumer.js';
import { billingConfigSchema, sellerFrom } from './config.js';
import { DocumentStore } from './documents.js';
import { InvoiceStore, invoiceIndexes } from './invoices.js';
import { BillingPrivacy } from './privacy.js';
import { RatedLegStore } from './rated-legs.js';
import { rollupIndexes } from './rollups.js';
import { unassignedSitesAlert } from './unassigned.js';
import { billingServer } from './server.js';
import { billingPolicy } from './policy.js';
import { completeInterruptedIssues, type MonthCloseDependencies } from './month-close.js';

export const SERVICE_NAME = 'billing';

/** The billing service: stores rated legs from CDRS, closes months into invoices, serves them. */
export const billingService: ServiceDefinition<typeof billingConfigSchema> = {
  name: SERVICE_NAME,
  version: '0.1.0',
  config: billingConfigSchema,
  nats: { streams: [CDRS_STREAM, INVOICES_STREAM, DLQ_STREAM] },
  mongo: { indexes: [...rollupIndexes, ...invoiceIndexes] },
  grpc: { reflectionProtos: ['switchboard/billing/v1/billing_service.proto'] },
  start: async (context) => {
    const db = context.mongo?.db;
    if (!db || !context.grpc) throw new Error('billing needs mongo and grpc');
    const legs = new RatedLegStore(db, { retentionMs: Math.max(3_600_000, 4 * context.config.CLOSE_SETTLE_MS) });
    const invoices = new InvoiceStore(db);
    const documents = new DocumentStore(db);
    const rating = ratingRpcClient(context.nats!);
    const crashAt = context.config.BILLING_CRASH_AT;
    if (crashAt)
      context.logger.warn({ crashAt }, 'BILLING_CRASH_AT is set: a close reaching that step kills this process');
    const closing: MonthCloseDependencies = {
      legs,
      invoices,
      documents,
      seller: sellerFrom(context.config),
      settleMs: context.config.CLOSE_SETTLE_MS,
      voicePackages: async (tenantId, month) => (await rating.getUsage({ tenantId, month, asOf: undefined })).packages,
      onUnassignedSites: unassignedSitesAlert(context.logger),
      issues: new KeyedCoalescer(),
      ...(crashAt
        ? {
            reached: (point) => {
              if (point === crashAt) process.kill(process.pid, 'SIGKILL');
            },
          }
        : {}),
      announce: async (invoice) => {
        await context.publish(BillingEvents.invoiceIssued, {
          meta: {
            ...newEventMeta(invoice.tenantId, SERVICE_NAME, invoice.issuedAt),
            eventId: `invoice:${invoice.tenantId}:${invoice.month}`,
          },
          month: invoice.month,
          invoiceNumber: invoice.invoiceNumber,
          netCents: String(invoice.netCents),
          vatCents: String(invoice.vatCents),
          grossCents: String(invoice.grossCents),
        });
      },
    };
    // What a crashed process left behind: batches of legs a writer did not finish, and invoices
    // stored but not issued (documents or event missing). Finished at start and every half minute.
    const completeIssues = () =>
      context.track(
        completeInterruptedIssues(closing).then(
          (completed) => {
            if (completed > 0)
              context.logger.warn({ completed }, 'finished issuing invoices a stopped close had stored');
          },
          (error: unknown) => context.logger.error({ err: error }, 'finishing interrupted invoices failed'),
        ),
      );
    await legs.recover();
    void completeIssues();
    const recovery = setInterval(() => {
      legs.recover().catch((error: unknown) => context.logger.error({ err: error }, 'roll-up recovery failed'));
      void completeIssues();
    }, 30_000);
    context.onShutdown(() => clearInterval(recovery));
    context.grpc.addService(
      'switchboard.billing.v1.BillingService',
      billingV1.BillingServiceService,
      billingServer(closing),
      billingPolicy,
    );
    const privacy = new BillingPrivacy(
      db,
      legs,
      directoryRpcClient(context.nats!, context.config.BILLING_DIRECTORY_TIMEOUT_MS),
      context.logger,
    );
    const erasing = servePrivacyErase(context.nats!, {
      service: SERVICE_NAME,
      erase: (tenantId, number) => privacy.erase(tenantId, number),
      logger: context.logger,
      track: context.track,
    });
    context.onShutdown(() => erasing.forEach((subscription) => subscription.unsubscribe()));
    context.onShutdown(
      startPrivacySweep({
        intervalMs: context.config.PRIVACY_SWEEP_INTERVAL_MS,
        sweep: (now) => privacy.sweep(now).then(() => undefined),
        logger: context.logger,
        track: context.track,
      }),
    );
    await context.consume({
      stream: CDRS_STREAM,
      durable: CDR_CONSUMER,
      filterSubjects: [allTenantsSubject('cdr', 'rated')],
      handler: cdrRatedHandler(new LegBatcher(legs, 500, 20)),
      // Legs handled at once are written together (LegBatcher): one journal and one roll-up
      // update per batch, so larger batches cost fewer writes per leg.
      concurrency: 500,
    });
  },
};
