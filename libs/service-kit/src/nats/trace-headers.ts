import {
  ROOT_CONTEXT,
  SpanKind,
  context,
  propagation,
  trace,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import type { MsgHdrs } from '@nats-io/nats-core';

// There is no maintained OpenTelemetry instrumentation for the NATS client, so the W3C trace
// context travels in message headers through these two functions (messaging semconv naming).

const setter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => (carrier ? carrier.keys() : []),
  get: (carrier, key) => (carrier?.has(key) ? carrier.get(key) : undefined),
};

const tracer = () => trace.getTracer('@switchboard/service-kit/nats');

/**
 * Runs `publish` inside a PRODUCER span `publish <subject>` (CLIENT `request <subject>` for a
 * request/reply call) whose context is written into `headers`.
 */
export async function withPublishSpan<T>(
  subject: string,
  headers: MsgHdrs,
  publish: () => Promise<T>,
  kind: SpanKind.PRODUCER | SpanKind.CLIENT = SpanKind.PRODUCER,
): Promise<T> {
  return tracer().startActiveSpan(
    `${kind === SpanKind.CLIENT ? 'request' : 'publish'} ${subject}`,
    { kind, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject } },
    async (span) => {
      propagation.inject(context.active(), headers, setter);
      try {
        return await publish();
      } catch (error) {
        span.recordException(error as Error);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** The producer's context carried by `headers`, or the root context when there is none. */
export function extractTraceContext(headers: MsgHdrs | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers, getter);
}

/**
 * Runs `process` in a CONSUMER span `process <subject>`: a child of the producer's span, so one
 * call stays one trace across services, and also linked to it as messaging conventions ask.
 */
export function withProcessSpan<T>(
  subject: string,
  headers: MsgHdrs | undefined,
  process: (span: Span) => Promise<T>,
  kind: SpanKind.CONSUMER | SpanKind.SERVER = SpanKind.CONSUMER,
): Promise<T> {
  const parent = extractTraceContext(headers);
  const producer = trace.getSpanContext(parent);
  const links: Link[] = producer ? [{ context: producer }] : [];
  return tracer().startActiveSpan(
    `process ${subject}`,
    {
      kind,
      links,
      attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject },
    },
    parent,
    async (span) => {
      try {
        return await process(span);
      } finally {
        span.end();
      }
    },
  );
}

/** The W3C context of the active span, for an event's envelope. */
export function activeTraceContext(): { traceparent: string; tracestate: string } {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return { traceparent: carrier['traceparent'] ?? '', tracestate: carrier['tracestate'] ?? '' };
}
