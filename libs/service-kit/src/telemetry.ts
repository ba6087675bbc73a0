import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { TraceSamplerName } from './config.js';
import { registerProcessStartTime } from './metrics.js';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion: string;
  /** Traces are recorded, and exported over OTLP/HTTP, only when this is set. */
  otlpEndpoint?: string | undefined;
  /** Which traces are recorded (`OTEL_TRACES_SAMPLER`); default `parentbased_traceidratio`. */
  sampler?: TraceSamplerName | undefined;
  /** The `*traceidratio` samplers' ratio (`OTEL_TRACES_SAMPLER_ARG`, 0–1); default 1. */
  samplerRatio?: number | undefined;
}

export interface Telemetry {
  /** Serves the Prometheus text format; mounted on the kit's `/metrics`. */
  metricsHandler(request: IncomingMessage, response: ServerResponse): void;
  shutdown(): Promise<void>;
}

let started: Telemetry | undefined;

/** The sampler an `OTEL_TRACES_SAMPLER` name stands for, as the OpenTelemetry specification defines it. */
export function traceSampler(name: TraceSamplerName, ratio = 1): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

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
    // Without an endpoint no tracer provider is registered: nothing would read the spans, so
    // every span is a non-recording one that costs next to nothing and passes on the context a
    // message arrived with (the trace continues through this service to the next). The SDK's own
    // default would try an OTLP collector on localhost.
    ...(options.otlpEndpoint
      ? {
          traceExporter: new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces` }),
          sampler: traceSampler(options.sampler ?? 'parentbased_traceidratio', options.samplerRatio ?? 1),
        }
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
