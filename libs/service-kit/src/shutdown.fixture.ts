// A service whose message handler holds its message until the test says `fixture.release`, so
// the test can send SIGTERM while the message is in flight. Run by shutdown.test.ts.
import { CALLS_STREAM, CallEvents } from '@switchboard/events';
import { runService } from './service.js';

await runService({
  name: 'shutdown-fixture',
  version: '0.0.0',
  nats: { streams: [CALLS_STREAM] },
  start: async ({ nats, consume, logger }) => {
    const connection = nats!.connection;
    const release = connection.subscribe('fixture.release', { max: 1 });
    await connection.flush();
    await consume({
      stream: CALLS_STREAM,
      durable: 'fixture-calls',
      filterSubjects: ['sb.*.call.started'],
      handler: async (message) => {
        const event = message.decode(CallEvents.started);
        connection.publish('fixture.started', event.callId);
        for await (const _ of release) break;
        logger.info({ callId: event.callId }, 'handler finished');
        connection.publish('fixture.finished', event.callId);
      },
    });
  },
});
