import { directoryRpcClient } from '@switchboard/rpc-clients';
import { DirectoryCache } from '@switchboard/directory-cache';
import { FAX_STREAM, FaxEvents } from '@switchboard/events';
import { faxServiceV1 } from '@switchboard/proto';
import type { ServiceDefinition } from '@switchboard/service-kit';
import { faxConfigSchema } from './config.js';
import { FaxIntake } from './fax-intake.js';
import { createSmtpMailer } from './fax-mail.js';
import { FaxRoutes, type FaxDirectoryDocument } from './fax-routes.js';
import { FaxSettingsStore } from './fax-settings.js';
import { FAX_STORE_INDEXES, FaxStore } from './fax-store.js';
import { FaxInbox } from './inbox-object.js';
import { MailboxResolver } from './mailbox-resolver.js';
import { createFaxMetrics } from './metrics.js';
import { RETENTION_INDEXES, Retention } from './retention.js';
import { createFaxApi } from './server.js';

export const FAX_RECEIVED_DURABLE = 'fax-received';

/** Received faxes: TIFF → PDF, GridFS, the mailbox the directory gives; the Fax API over the inbox. */
export const faxService: ServiceDefinition<typeof faxConfigSchema> = {
  name: 'fax',
  version: '0.1.0',
  config: faxConfigSchema,
  nats: { streams: [FAX_STREAM] },
  mongo: { indexes: [...FAX_STORE_INDEXES, ...RETENTION_INDEXES] },
  grpc: {
    reflectionProtos: ['switchboard/fax/v1/fax_service.proto', 'switchboard/fax/v1/fax_events.proto'],
  },
  async start(context) {
    const { config, logger } = context;
    const db = context.mongo!.db;
    const metrics = createFaxMetrics();
    const store = new FaxStore(db);
    const nats = context.nats!;
    const settings = new FaxSettingsStore(db, config.FAX_RETENTION_DEFAULT_DAYS);
    const directory = new DirectoryCache<FaxRoutes, FaxDirectoryDocument>(
      directoryRpcClient(nats, config.FAX_DIRECTORY_TIMEOUT_MS),
      logger,
      (tenantId, document) => new FaxRoutes(tenantId, document),
    );
    context.onShutdown(directory.follow(nats));
    const mailboxes = new MailboxResolver(directory, settings);
    const mailer = createSmtpMailer(config.SMTP_URL, config.SMTP_TIMEOUT_MS);
    context.onShutdown(() => mailer.close());
    const intake = new FaxIntake({
      store,
      mailboxes,
      inbox: new FaxInbox(nats.connection),
      mailer,
      metrics,
      logger,
      mailFrom: config.FAX_MAIL_FROM,
    });
    const retention = new Retention(db, store, settings, metrics, logger);

    context.grpc!.addService(
      'switchboard.fax.v1.FaxService',
      faxServiceV1.FaxServiceService,
      createFaxApi({ store, settings, mailboxes, intake, retention }),
    );

    const maxAttempts = config.FAX_DELIVERY_MAX_ATTEMPTS;
    await context.consume({
      stream: FAX_STREAM,
      durable: FAX_RECEIVED_DURABLE,
      filterSubjects: [`sb.*.${FaxEvents.received.domain}.${FaxEvents.received.event}`],
      maxDeliver: maxAttempts,
      backoffMs: config.FAX_DELIVERY_BACKOFF_MS,
      handler: async (message) => {
        const event = message.decode(FaxEvents.received);
        // On the last delivery a failed e-mail is recorded as DELIVERY_FAILED instead of thrown,
        // so the fax stays in the inbox with its reason rather than only in the dead-letter stream.
        await intake.process(event, { lastAttempt: message.deliveryCount >= maxAttempts });
      },
    });

    let sweeping: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      sweeping = context.track(
        retention.sweep().catch((error: unknown) => logger.error({ err: error }, 'retention sweep failed')),
      );
    }, config.FAX_RETENTION_SWEEP_INTERVAL_MS);
    timer.unref();
    context.onShutdown(async () => {
      clearInterval(timer);
      await sweeping;
    });
  },
};
