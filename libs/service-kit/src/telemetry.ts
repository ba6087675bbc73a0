import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { registerProcessStartTime } from './metrics.js';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion: string;
  /** Traces are exported over OTLP/HTTP only when this is set. */
  otlpEndpoint?: string | undefined;
}

export interface Telemetry {
  /** Serves the Prometheus text format; mounted on the kit's `/metrics`. */
  metricsHandler(request: IncomingMessage, response: ServerResponse): void;
  shutdown(): Promise<void>;
}

let started: Telemetry | undefined;

/**
 * Starts the OpenTelemetry SDK once per process. It must run before grpc-js and mongodb are
 * loaded so their instrumentations can patch them: services start with
 * `node --import @switchboard/service-kit/instrument`.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (started) return started;
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion,
    }),
    metricReader: prometheus,
    // Without an endpoint spans are still created (trace ids for logs and NATS headers) but not
    // exported; the SDK's own default would try an OTLP collector on localhost.
    ...(options.otlpEndpoint
      ? { traceExporter: new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces` }) }
      : { spanProcessors: [] }),
    // Runtime: event-loop delay (nodejs.eventloop.delay.*), utilization, heap, GC.
    instrumentations: [new GrpcInstrumentation(), new MongoDBInstrumentation(), new RuntimeNodeInstrumentation()],
  });
  sdk.start();
  registerProcessStartTime();
  started = {
    metricsHandler: (request, response) => prometheus.getMetricsRequestHandler(request, response),
    shutdown: () => sdk.shutdown(),
  };
  return started;
}
