import { ROOT_CONTEXT, propagation, trace } from '@opentelemetry/api';
import { startOtlpReceiver, type OtlpReceiver } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRACE_SAMPLERS } from './config.js';
import { startTelemetry, traceSampler, type Telemetry } from './telemetry.js';

// Telemetry starts once per process (each test file runs in its own): here with an exporter and
// a sampler that keeps no new trace, only those a caller sampled.
let collector: OtlpReceiver;
let telemetry: Telemetry;

beforeAll(async () => {
  collector = await startOtlpReceiver();
  telemetry = startTelemetry({
    serviceName: 'sampling-test',
    serviceVersion: 'test',
    otlpEndpoint: collector.endpoint,
    sampler: 'parentbased_traceidratio',
    samplerRatio: 0,
  });
});

afterAll(async () => {
  await collector?.stop();
});

const SAMPLED_PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const UNSAMPLED_PARENT = '00-1bf7651916cd43dd8448eb211c80319c-c7ad6b7169203331-00';

describe('trace sampler', () => {
  it('builds the sampler each OTEL_TRACES_SAMPLER name stands for', () => {
    const described = Object.fromEntries(TRACE_SAMPLERS.map((name) => [name, traceSampler(name, 0.25).toString()]));
    expect(described).toEqual({
      always_on: 'AlwaysOnSampler',
      always_off: 'AlwaysOffSampler',
      traceidratio: 'TraceIdRatioBased{0.25}',
      parentbased_always_on: expect.stringMatching(/^ParentBased\{root=AlwaysOnSampler, /),
      parentbased_always_off: expect.stringMatching(/^ParentBased\{root=AlwaysOffSampler, /),
      parentbased_traceidratio: expect.stringMatching(/^ParentBased\{root=TraceIdRatioBased\{0.25\}, /),
    });
  });

  it('records what the caller sampled and no new trace at ratio 0, and exports only that', async () => {
    const tracer = trace.getTracer('sampling-test');
    const root = tracer.startSpan('root');
    const underSampled = tracer.startSpan(
      'under sampled',
      {},
      propagation.extract(ROOT_CONTEXT, { traceparent: SAMPLED_PARENT }),
    );
    const underUnsampled = tracer.startSpan(
      'under unsampled',
      {},
      propagation.extract(ROOT_CONTEXT, { traceparent: UNSAMPLED_PARENT }),
    );
    expect([root.isRecording(), underSampled.isRecording(), underUnsampled.isRecording()]).toEqual([
      false,
      true,
      false,
    ]);
    for (const span of [root, underSampled, underUnsampled]) span.end();
    await telemetry.shutdown();
    expect(collector.spans.map(({ name, traceId }) => ({ name, traceId }))).toEqual([
      { name: 'under sampled', traceId: '0af7651916cd43dd8448eb211c80319c' },
    ]);
  });
});
