import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BinaryReader, type WireType } from '@bufbuild/protobuf/wire';

/** One span as an OTLP/HTTP exporter sent it. */
export interface ReceivedSpan {
  serviceName: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
}

export interface OtlpReceiver {
  /** Base URL for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  readonly endpoint: string;
  readonly spans: readonly ReceivedSpan[];
  /** Resolves once `match` holds for the spans received so far (checked on every export). */
  waitFor(match: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A stand-in OTLP/HTTP collector on a free loopback port that decodes `/v1/traces` protobuf
 * bodies into spans. Field numbers are those of opentelemetry-proto's trace/v1 and common/v1.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        try {
          spans.push(...decodeExportRequest(new Uint8Array(Buffer.concat(chunks))));
        } catch (error) {
          response.writeHead(400).end(String(error));
          return;
        }
        for (const check of [...waiters]) check();
      }
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    waitFor: (match, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!match(spans)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the expected spans did not arrive within ${timeoutMs} ms (${spans.length} received)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Calls `onField` for each field of the message in `bytes`, skipping the ones it ignores. */
function readFields(bytes: Uint8Array, onField: (field: number, reader: BinaryReader) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (!onField(field, reader)) reader.skip(wireType as WireType, field);
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function decodeExportRequest(body: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  // ExportTraceServiceRequest.resource_spans = 1
  readFields(body, (field, reader) => {
    if (field !== 1) return false;
    let serviceName = '';
    const scopeSpans: Uint8Array[] = [];
    // ResourceSpans.resource = 1, .scope_spans = 2
    readFields(reader.bytes(), (resourceField, resourceReader) => {
      if (resourceField === 1) {
        serviceName = serviceNameOf(resourceReader.bytes()) ?? serviceName;
        return true;
      }
      if (resourceField === 2) {
        scopeSpans.push(resourceReader.bytes());
        return true;
      }
      return false;
    });
    for (const scope of scopeSpans) {
      // ScopeSpans.spans = 2
      readFields(scope, (scopeField, scopeReader) => {
        if (scopeField !== 2) return false;
        spans.push(decodeSpan(scopeReader.bytes(), serviceName));
        return true;
      });
    }
    return true;
  });
  return spans;
}

function serviceNameOf(resource: Uint8Array): string | undefined {
  let name: string | undefined;
  // Resource.attributes = 1: KeyValue { key = 1, value = 2: AnyValue { string_value = 1 } }
  readFields(resource, (field, reader) => {
    if (field !== 1) return false;
    let key = '';
    let value = '';
    readFields(reader.bytes(), (kvField, kvReader) => {
      if (kvField === 1) key = kvReader.string();
      else if (kvField === 2) {
        readFields(kvReader.bytes(), (valueField, valueReader) => {
          if (valueField !== 1) return false;
          value = valueReader.string();
          return true;
        });
      } else return false;
      return true;
    });
    if (key === 'service.name') name = value;
    return true;
  });
  return name;
}

function decodeSpan(bytes: Uint8Array, serviceName: string): ReceivedSpan {
  const span: ReceivedSpan = { serviceName, traceId: '', spanId: '', parentSpanId: '', name: '' };
  // Span.trace_id = 1, .span_id = 2, .parent_span_id = 4, .name = 5
  readFields(bytes, (field, reader) => {
    if (field === 1) span.traceId = hex(reader.bytes());
    else if (field === 2) span.spanId = hex(reader.bytes());
    else if (field === 4) span.parentSpanId = hex(reader.bytes());
    else if (field === 5) span.name = reader.string();
    else return false;
    return true;
  });
  return span;
}
