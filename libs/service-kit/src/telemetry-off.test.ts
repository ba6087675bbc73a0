import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { headers as newHeaders } from '@nats-io/nats-core';
import { afterAll, describe, expect, it } from 'vitest';
import { withProcessSpan, withPublishSpan } from './nats/trace-headers.js';
import { startTelemetry } from './telemetry.js';

// Telemetry starts once per process (each test file runs in its own): here as a service without
// OTEL_EXPORTER_OTLP_ENDPOINT, whatever the sampler says.
const telemetry = startTelemetry({ serviceName: 'untraced', serviceVersion: 'test', sampler: 'always_on' });

afterAll(async () => {
  await telemetry.shutdown();
});

const CALLER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('telemetry without an exporter', () => {
  it('records no span', () => {
    const span = trace.getTracer('untraced').startSpan('anything');
    expect(span.isRecording()).toBe(false);
    span.end();
  });

  it("passes a message's trace context on unchanged, and starts none itself", async () => {
    const incoming = newHeaders();
    incoming.set('traceparent', CALLER);
    const outgoing = await withProcessSpan('sb.t-a.call.started', incoming, () =>
      withPublishSpan('sb.t-a.callcontrol.a-1.Answer', async (injected) => injected),
    );
    // The next service continues the caller's trace, as if this one were not there.
    expect(outgoing.headers?.get('traceparent')).toBe(CALLER);
    expect(outgoing.traceparent).toBe(CALLER);

    // Nothing to pass on: no headers at all (a plain PUB, not HPUB).
    const fromRoot = await context.with(ROOT_CONTEXT, () =>
      withPublishSpan('sb.t-a.presence.rpc.Reserve', async (injected) => injected),
    );
    expect(fromRoot).toEqual({ headers: undefined, traceparent: '', tracestate: '' });
  });
});
