// Loaded before a service's own code: `node --import @switchboard/service-kit/instrument dist/main.js`.
// A static import inside main.ts would be too late, because ESM loads the whole import graph
// (grpc-js, mongodb) before it evaluates any of it.
import { register } from 'node:module';
import { startTelemetry } from './telemetry.js';

// ESM imports are only visible to OpenTelemetry's instrumentations through this loader hook.
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

startTelemetry({
  serviceName: process.env['OTEL_SERVICE_NAME'] ?? 'switchboard',
  serviceVersion: process.env['SERVICE_VERSION'] ?? '0.0.0',
  otlpEndpoint: process.env['OTEL_EXPORTER_OTLP_ENDPOINT'],
});
