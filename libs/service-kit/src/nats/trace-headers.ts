import {
  ROOT_CONTEXT,
  SpanKind,
  context,
  isSpanContextValid,
  propagation,
  trace,
  type Context,
  type TextMapGetter,
} from '@opentelemetry/api';
import { headers as newHeaders, type MsgHdrs } from '@nats-io/nats-core';

// There is no maintained OpenTelemetry instrumentation for the NATS client, so the W3C trace
// context travels in message headers through these functions (messaging semconv naming). They
// run for every message, so a span that is not recorded (no exporter, or not sampled) costs no
// attributes, no end and no headers of its own.

const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => (carrier ? carrier.keys() : []),
  // MsgHdrs answers '' for a header it does not have.
  get: (carrier, key) => carrier?.get(key) || undefined,
};

const tracer = () => trace.getTracer('@switchboard/service-kit/nats');

/** The trace context written into a message once: its headers (none when empty) and their values. */
export interface InjectedTrace {
  readonly headers: MsgHdrs | undefined;
  readonly traceparent: string;
  readonly tracestate: string;
}

function carrierOf(target: Context): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(target, carrier);
  return carrier;
}

function inject(target: Context): InjectedTrace {
  const carrier = carrierOf(target);
  let headers: MsgHdrs | undefined;
  for (const key in carrier) (headers ??= newHeaders()).set(key, carrier[key]!);
  return { headers, traceparent: carrier['traceparent'] ?? '', tracestate: carrier['tracestate'] ?? '' };
}

/**
 * Runs `publish` with a PRODUCER span `publish <subject>` (CLIENT `request <subject>` for a
 * request/reply call), whose context is injected once and handed to `publish` as headers.
 */
export async function withPublishSpan<T>(
  subject: string,
  publish: (trace: InjectedTrace) => Promise<T>,
  kind: SpanKind.PRODUCER | SpanKind.CLIENT = SpanKind.PRODUCER,
): Promise<T> {
  const parent = context.active();
  const span = tracer().startSpan(`${kind === SpanKind.CLIENT ? 'request' : 'publish'} ${subject}`, { kind }, parent);
  // Not recorded: without a tracer provider this passes on the parent's context unchanged.
  if (!span.isRecording()) return publish(inject(trace.setSpan(parent, span)));
  span.setAttributes({ 'messaging.system': 'nats', 'messaging.destination.name': subject });
  try {
    return await publish(inject(trace.setSpan(parent, span)));
  } catch (error) {
    span.recordException(error as Error);
    throw error;
  } finally {
    span.end();
  }
}

/** The producer's context carried by `headers`, or the root context when there is none. */
export function extractTraceContext(headers: MsgHdrs | undefined): Context {
  return headers ? propagation.extract(ROOT_CONTEXT, headers, getter) : ROOT_CONTEXT;
}

/**
 * Runs `process` in a CONSUMER span `process <subject>`: a child of the producer's span, so one
 * call stays one trace across services, and also linked to it as messaging conventions ask.
 */
export function withProcessSpan<T>(
  subject: string,
  headers: MsgHdrs | undefined,
  process: () => Promise<T>,
  kind: SpanKind.CONSUMER | SpanKind.SERVER = SpanKind.CONSUMER,
): Promise<T> {
  const parent = extractTraceContext(headers);
  const producer = trace.getSpanContext(parent);
  const span = tracer().startSpan(
    `process ${subject}`,
    producer ? { kind, links: [{ context: producer }] } : { kind },
    parent,
  );
  if (!span.isRecording()) {
    // Nothing to record: the handler runs in the producer's context (if any), which its own
    // messages pass on; an empty span would only put zeros into its log lines.
    return isSpanContextValid(span.spanContext())
      ? context.with(trace.setSpan(parent, span), process)
      : context.with(parent, process);
  }
  span.setAttributes({ 'messaging.system': 'nats', 'messaging.destination.name': subject });
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await process();
    } finally {
      span.end();
    }
  });
}

/** The W3C context of the active span, for an event's envelope. */
export function activeTraceContext(): { traceparent: string; tracestate: string } {
  const carrier = carrierOf(context.active());
  return { traceparent: carrier['traceparent'] ?? '', tracestate: carrier['tracestate'] ?? '' };
}
