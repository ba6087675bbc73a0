import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  service: string;
  level: LevelWithSilent;
  /** Defaults to stdout; tests pass a stream to read the lines. */
  destination?: DestinationStream;
}

/** JSON lines with ISO times; every line logged inside a span carries its trace and span id. */
export function createLogger({ service, level, destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const span = trace.getSpan(context.active());
        if (!span) return {};
        const spanContext = span.spanContext();
        // Untraced (no exporter), instrumentations still set an empty span: no ids of zeros.
        if (!isSpanContextValid(spanContext)) return {};
        const { traceId, spanId, traceFlags } = spanContext;
        return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}` };
      },
    },
    destination,
  );
}
