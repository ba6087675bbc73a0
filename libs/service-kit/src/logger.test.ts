import { Writable } from 'node:stream';
import { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { recordSpans } from '@switchboard/testkit';

const tracing = recordSpans();
afterAll(() => tracing.stop());

function capture(): { lines: Array<Record<string, unknown>>; stream: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('logger', () => {
  it('writes JSON lines with service, level name and ISO time', () => {
    const { lines, stream } = capture();
    createLogger({ service: 'routing', level: 'info', destination: stream }).info({ callId: 'c1' }, 'call routed');
    expect(lines[0]).toMatchObject({ service: 'routing', level: 'info', msg: 'call routed', callId: 'c1' });
    expect(String(lines[0]?.['time'])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(lines[0]).not.toHaveProperty('trace_id');
  });

  it('carries the trace and span id of the active span', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ service: 'routing', level: 'info', destination: stream });
    const ids = trace.getTracer('test').startActiveSpan('handle call', (span) => {
      logger.info('inside');
      span.end();
      return span.spanContext();
    });
    expect(lines[0]).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId, trace_flags: '01' });
  });

  it('writes no ids for the empty span an untraced service runs in', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ service: 'routing', level: 'info', destination: stream });
    const empty = trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
    context.with(empty, () => logger.info('inside'));
    expect(lines[0]).toMatchObject({ msg: 'inside' });
    expect(lines[0]).not.toHaveProperty('trace_id');
  });
});
