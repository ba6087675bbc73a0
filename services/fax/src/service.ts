import { directoryRpcClient, servePrivacyErase, startPrivacySweep } from '@switchboard/rpc-clients';
import { DirectoryCache } from '@switchboard/directory-cache';
import { FAX_INBOX_BUCKET, FAX_STREAM, FaxEvents, VOICEMAIL_INBOX_BUCKET, VoicemailEvents } from '@switchboard/events';
import { faxServiceV1 } from '@switchboard/proto';
import type { ServiceDefinition } from '@switchboard/service-kit';
import { faxConfigSchema } from './config.js';
import { FaxIntake } from './fax-intake.js';
import { createSmtpMailer } from './fax-mail.js';
import { FaxRoutes, type FaxDirectoryDocument } from './fax-routes.js';
import { FaxSettingsStore } from './fax-settings.js';
import { FAX_STORE_INDEXES, FaxStore } from './fax-store.js';
import { ObjectInbox } from './inbox-object.js';
import { MailboxResolver } from './mailbox-resolver.js';
import { createFaxMetrics, createVoicemailMetrics } from './metrics.js';
import { FaxPrivacy } from './privacy.js';
import { RETENTION_INDEXES, Retention } from './retention.js';
import { createFaxApi } from './server.js';
import { VoicemailIntake } from './voicemail-intake.js';
import { VOICEMAIL_STORE_INDEXES, VoicemailStore } from './voicemail-store.js';
import { faxPolicy } from './policy.js';

export const FAX_RECEIVED_DURABLE = 'fax-received';
export const VOICEMAIL_RECEIVED_DURABLE = 'fax-voicemail-received';

/**
 * Received faxes (TIFF → PDF) and recorded voicemails (WAV): GridFS, the mailbox the directory
 * gives; the Fax API over both inboxes.
 */
export const faxService: ServiceDefinition<typeof faxConfigSchema> = {
  name: 'fax',
  version: '0.1.0',
  config: faxConfigSchema,
  nats: { streams: [FAX_STREAM] },
  mongo: { indexes: [...FAX_STORE_INDEXES, ...VOICEMAIL_STORE_INDEXES, ...RETENTION_INDEXES] },
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
      inbox: new ObjectInbox(nats.connection, FAX_INBOX_BUCKET),
      mailer,
      metrics,
      logger,
      mailFrom: config.FAX_MAIL_FROM,
    });
    const voicemails = new VoicemailStore(db);
    const voicemailMetrics = createVoicemailMetrics();
    const voicemailIntake = new VoicemailIntake({
      store: voicemails,
      mailboxes,
      inbox: new ObjectInbox(nats.connection, VOICEMAIL_INBOX_BUCKET),
      mailer,
      metrics: voicemailMetrics,
      logger,
      mailFrom: config.VOICEMAIL_MAIL_FROM,
    });
    const retention = new Retention(db, {
      faxes: store,
      voicemails,
      settings,
      faxMetrics: metrics,
      voicemailMetrics,
      logger,
    });

    context.grpc!.addService(
      'switchboard.fax.v1.FaxService',
      faxServiceV1.FaxServiceService,
      createFaxApi({ store, settings, mailboxes, intake, retention, voicemails, voicemailIntake }),
      faxPolicy((kind, tenantId, id) => (kind === 'fax' ? store : voicemails).departmentOf(tenantId, id)),
    );

    const maxAttempts = config.FAX_DELIVERY_MAX_ATTEMPTS;
    await context.consume({
      stream: FAX_STREAM,
      durable: FAX_RECEIVED_DURABLE,
      filterSubjects: [`sb.*.${FaxEvents.received.domain}.${FaxEvents.received.event}`],
      maxDeliver: maxAttempts,
      backoffMs: config.FAX_DELIVERY_BACKOFF_MS,
      ackWaitMs: config.FAX_ACK_WAIT_MS,
      handler: async (message) => {
        const event = message.decode(FaxEvents.received);
        // On the last delivery a failed e-mail is recorded as DELIVERY_FAILED instead of thrown,
        // so the fax stays in the inbox with its reason rather than only in the dead-letter stream.
        await intake.process(event, { lastAttempt: message.deliveryCount >= maxAttempts });
      },
    });
    await context.consume({
      stream: FAX_STREAM,
      durable: VOICEMAIL_RECEIVED_DURABLE,
      filterSubjects: [`sb.*.${VoicemailEvents.received.domain}.${VoicemailEvents.received.event}`],
      maxDeliver: maxAttempts,
      backoffMs: config.FAX_DELIVERY_BACKOFF_MS,
      ackWaitMs: config.FAX_ACK_WAIT_MS,
      handler: async (message) => {
        const event = message.decode(VoicemailEvents.received);
        // As for faxes: the last delivery records a failure as DELIVERY_FAILED, kept in the inbox.
        await voicemailIntake.process(event, { lastAttempt: message.deliveryCount >= maxAttempts });
      },
    });

    const privacy = new FaxPrivacy(
      db,
      store,
      voicemails,
      directoryRpcClient(nats, config.FAX_DIRECTORY_TIMEOUT_MS),
      logger,
    );
    const erasing = servePrivacyErase(nats, {
      service: 'fax',
      erase: (tenantId, number) => privacy.erase(tenantId, number),
      logger,
      track: context.track,
    });
    context.onShutdown(() => erasing.forEach((subscription) => subscription.unsubscribe()));
    context.onShutdown(
      startPrivacySweep({
        intervalMs: config.PRIVACY_SWEEP_INTERVAL_MS,
        sweep: (now) => privacy.sweep(now).then(() => undefined),
        logger,
        track: context.track,
      }),
    );

    // Retries by API run in the RPC, with no JetStream message behind them: one whose process
    // died is found by its claim's age, at start and then every half lease.
    const resumeRetries = () =>
      context.track(
        Promise.all([
          intake.resumeStaleRetries(config.FAX_RETRY_LEASE_MS),
          voicemailIntake.resumeStaleRetries(config.FAX_RETRY_LEASE_MS),
        ]).catch((error: unknown) => logger.error({ err: error }, 'resuming stopped retries failed')),
      );
    let resuming: Promise<unknown> = resumeRetries();
    const resumeTimer = setInterval(() => {
      resuming = resuming.then(resumeRetries);
    }, config.FAX_RETRY_LEASE_MS / 2);
    resumeTimer.unref();
    context.onShutdown(async () => {
      clearInterval(resumeTimer);
      await resuming;
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
