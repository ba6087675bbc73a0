import * as grpc from '@grpc/grpc-js';
import { metrics, type Attributes, type BatchObservableCallback, type Meter } from '@opentelemetry/api';
import type { Logger } from './logger.js';
import type { NatsHandle } from './nats/connection.js';

// The kit's own metrics that dashboards and alerts query (see /work/briefs/metrics.md and the
// README's table): RPC latency for both transports, JetStream lag and stream sizes, and the
// process start time that shows restarts.

const meter = (): Meter => metrics.getMeter('@switchboard/service-kit');

let rpcDuration: ReturnType<Meter['createHistogram']> | undefined;

export type RpcSystem = 'grpc' | 'nats';

/** Records one served RPC of a method; `code` is the gRPC status it ended with (OK, NOT_FOUND, ...). */
export type RpcTimer = (code: grpc.status, startedAt: bigint) => void;

/**
 * The recorder of `rpc.server.duration` for one method. Its attribute objects (one per status it
 * has ended with) are built once and reused for every record, not made per request.
 */
export function rpcTimer(system: RpcSystem, method: string): RpcTimer {
  const attributesByCode = new Map<grpc.status, Attributes>();
  return (code, startedAt) => {
    rpcDuration ??= meter().createHistogram('rpc.server.duration', {
      description: 'Time to serve one RPC (gRPC or NATS request/reply), by method and status.',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
    });
    let attributes = attributesByCode.get(code);
    if (!attributes) {
      attributes = Object.freeze({
        rpc_system: system,
        rpc_method: method,
        rpc_status: grpc.status[code] ?? String(code),
      });
      attributesByCode.set(code, attributes);
    }
    rpcDuration.record(Number(process.hrtime.bigint() - startedAt) / 1e9, attributes);
  };
}

let rpcDenied: ReturnType<Meter['createCounter']> | undefined;

/** Counts one call the access policy refused (PERMISSION_DENIED), by method and the caller's role. */
export function recordDenial(system: RpcSystem, method: string, role: string): void {
  rpcDenied ??= meter().createCounter('rpc.server.denied', {
    description: "Calls refused by the method's access policy, by method and the caller's role.",
    unit: '{call}',
  });
  rpcDenied.add(1, { rpc_system: system, rpc_method: method, role });
}

/** Where an outside call was refused: routing's desk-phone calls and callbacks, or a call-control method. */
export type OutboundPath = 'routing' | 'callback' | 'originate' | 'forward' | 'dial' | 'dial_all';

let outboundDenied: ReturnType<Meter['createCounter']> | undefined;

/**
 * Counts one outside call the tenant's outbound policy refused (`outbound_denied_total`
 * in Prometheus). `category` is one of `OUTBOUND_DENIAL_CATEGORIES` of `@switchboard/numbering`:
 * both labels are closed lists, never a number.
 */
export function recordOutboundDenied(category: string, path: OutboundPath): void {
  outboundDenied ??= meter().createCounter('outbound.denied', {
    description: "Outside calls refused by the tenant's outbound barring policy, by category and path.",
    unit: '{call}',
  });
  outboundDenied.add(1, { category, path });
}

let startTimeRegistered = false;

/** `process.start.time` (seconds since the epoch): a change means the process restarted. */
export function registerProcessStartTime(): void {
  if (startTimeRegistered) return;
  startTimeRegistered = true;
  const startedAt = Math.round(Date.now() / 1000 - process.uptime());
  meter()
    .createObservableGauge('process.start.time', {
      description: 'Start time of the process since the Unix epoch; changes() over it counts restarts.',
      unit: 's',
    })
    .addCallback((result) => result.observe(startedAt));
}

export interface ObservedConsumer {
  readonly stream: string;
  readonly durable: string;
}

/**
 * Samples JetStream on each metrics collection (a scrape), not on a timer: stream sizes for
 * `events.stream.messages` (the DLQ panel and alert) and each of this service's durable
 * consumers' backlog (`num_pending + num_ack_pending`) for `events.consumer.pending`.
 * Returns the function that stops observing (at shutdown).
 */
export function observeJetStream(
  nats: NatsHandle,
  streams: () => readonly string[],
  consumers: () => readonly ObservedConsumer[],
  logger: Logger,
): () => void {
  const pending = meter().createObservableGauge('events.consumer.pending', {
    description: 'Messages a durable consumer has not yet acknowledged (pending + awaiting ack).',
    unit: '{message}',
  });
  const stored = meter().createObservableGauge('events.stream.messages', {
    description: 'Messages stored in a JetStream stream (the DLQ stream is the parked messages).',
    unit: '{message}',
  });
  const callback: BatchObservableCallback = async (result) => {
    try {
      for (const name of streams()) {
        const info = await nats.jsm.streams.info(name);
        result.observe(stored, info.state.messages, { stream: name });
      }
      for (const { stream, durable } of consumers()) {
        const info = await nats.jsm.consumers.info(stream, durable);
        result.observe(pending, info.num_pending + info.num_ack_pending, { stream, consumer: durable });
      }
    } catch (error) {
      logger.warn({ err: error }, 'could not sample JetStream for metrics');
    }
  };
  meter().addBatchObservableCallback(callback, [pending, stored]);
  return () => meter().removeBatchObservableCallback(callback, [pending, stored]);
}
