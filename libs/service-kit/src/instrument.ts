// Loaded before a service's own code: `node --import @switchboard/service-kit/instrument dist/main.js`.
// A static import inside main.ts would be too late, because ESM loads the whole import graph
// (grpc-js, mongodb) before it evaluates any of it.
import { register } from 'node:module';
import { loadConfig, telemetryConfigSchema } from './config.js';
import { startTelemetry } from './telemetry.js';

// ESM imports are only visible to OpenTelemetry's instrumentations through this loader hook.
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

// A bad sampler or endpoint stops the start here with the ConfigError runService would show.
const config = loadConfig(telemetryConfigSchema);
startTelemetry({
  serviceName: process.env['OTEL_SERVICE_NAME'] ?? 'switchboard',
  serviceVersion: process.env['SERVICE_VERSION'] ?? '0.0.0',
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  sampler: config.OTEL_TRACES_SAMPLER,
  samplerRatio: config.OTEL_TRACES_SAMPLER_ARG,
});
