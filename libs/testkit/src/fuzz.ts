import * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition, MethodDefinition, PackageDefinition } from '@grpc/proto-loader';
import fc from 'fast-check';

// Property-based bad input for gRPC methods: requests generated from the .proto descriptors
// (random, oversized, unicode, unknown enum numbers, wrong tenants) and raw bytes that are not
// protobuf at all. A server passes when every answer is a status a client can act on: INTERNAL
// and UNKNOWN (an unhandled error) fail the property, and fast-check shrinks the request.

interface FieldDescriptor {
  name: string;
  label: string;
  type: string;
  typeName: string;
}

interface EnumTypeDefinition {
  format: 'Protocol Buffer 3 EnumDescriptorProto';
  type: { value: Array<{ name: string; number: number }> };
}

/** How long a server-streaming call may stay silent before it counts as accepted. */
const STREAM_OPEN_MS = 1_000;

/** Codes that mean the server failed rather than refusing the request. */
export const SERVER_FAILURE_CODES: ReadonlySet<grpc.status> = new Set([grpc.status.INTERNAL, grpc.status.UNKNOWN]);

export interface FuzzHints {
  /** Most generated `tenantId` fields take this value, so the request gets past the tenant check. */
  tenantId: string;
  /** Further strings worth trying in any string field, e.g. existing ids or phone numbers. */
  strings?: readonly string[];
  /** How deep nested messages go (default 3). */
  depth?: number;
}

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  '../../etc/passwd',
  '{"$gt":""}',
  '+4990012345678',
  '+49 (0) 4624 9010',
  '110',
  'x'.repeat(5000),
  'Ünïcødé 📞',
  '2026-02-30',
  '-1',
] as const;

type MessageType = MessageTypeDefinition<object, object>;

/** The type `typeName` names as seen from `scope` (a package), and its fully qualified name. */
function lookup(
  definition: PackageDefinition,
  scope: string,
  typeName: string,
): { name: string; type: MessageType | EnumTypeDefinition } {
  const relative = typeName.replace(/^\./, '');
  const parts = scope.split('.');
  // Relative names resolve from the innermost scope outwards, as protoc resolves them.
  for (let depth = parts.length; depth >= 0; depth -= 1) {
    const candidate = [...parts.slice(0, depth), relative].join('.');
    const found = definition[candidate];
    if (found && 'format' in found) return { name: candidate, type: found as MessageType | EnumTypeDefinition };
  }
  throw new Error(`type ${typeName} not found from ${scope}`);
}

function scalar(field: FieldDescriptor, hints: FuzzHints): fc.Arbitrary<unknown> {
  const strings = [...NASTY_STRINGS, ...(hints.strings ?? [])];
  switch (field.type) {
    case 'TYPE_STRING':
      return field.name === 'tenantId'
        ? fc.oneof({ arbitrary: fc.constant(hints.tenantId), weight: 8 }, { arbitrary: fc.string(), weight: 1 })
        : fc.oneof(
            fc.constantFrom(...strings),
            fc.string({ maxLength: 40 }),
            fc.string({ unit: 'grapheme', maxLength: 300 }),
          );
    case 'TYPE_BOOL':
      return fc.boolean();
    case 'TYPE_INT32':
    case 'TYPE_SINT32':
    case 'TYPE_SFIXED32':
      return fc.oneof(fc.integer({ min: -5, max: 100 }), fc.integer());
    case 'TYPE_UINT32':
    case 'TYPE_FIXED32':
      return fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 0xffffffff }));
    case 'TYPE_INT64':
    case 'TYPE_SINT64':
    case 'TYPE_SFIXED64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
    case 'TYPE_UINT64':
    case 'TYPE_FIXED64':
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
    case 'TYPE_DOUBLE':
    case 'TYPE_FLOAT':
      return fc.double();
    case 'TYPE_BYTES':
      return fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes));
    default:
      throw new Error(`no generator for ${field.type} (${field.name})`);
  }
}

const packageOf = (name: string) => name.split('.').slice(0, -1).join('.');

interface MessageDescriptor {
  field: FieldDescriptor[];
  nestedType?: Array<MessageDescriptor & { name: string; options?: { mapEntry?: boolean } | null }>;
}

/** One value of a field (one element when repeated) of message `typeName`. */
function fieldArbitrary(
  definition: PackageDefinition,
  typeName: string,
  field: FieldDescriptor,
  hints: FuzzHints,
  depth: number,
): fc.Arbitrary<unknown> {
  if (field.type === 'TYPE_MESSAGE') {
    // Nested names resolve from inside the message outwards (pkg.Msg.Nested before pkg.Nested).
    return messageArbitrary(definition, lookup(definition, typeName, field.typeName).name, hints, depth - 1);
  }
  if (field.type === 'TYPE_ENUM') {
    const values = (lookup(definition, typeName, field.typeName).type as EnumTypeDefinition).type.value;
    // Numbers no .proto declares arrive as they are on the wire from newer or broken clients.
    return fc.oneof(fc.constantFrom(...values.map((value) => value.name)), fc.integer({ min: -1, max: 1000 }));
  }
  return scalar(field, hints);
}

/** Requests of one message type, every field optional, as plain objects proto-loader serialises. */
export function messageArbitrary(
  definition: PackageDefinition,
  typeName: string,
  hints: FuzzHints,
  depth = hints.depth ?? 3,
): fc.Arbitrary<Record<string, unknown>> {
  const message = (lookup(definition, '', typeName).type as MessageType).type as unknown as MessageDescriptor;
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of message.field) {
    if (field.type === 'TYPE_MESSAGE' && depth <= 0) continue;
    // A map<K, V> is a repeated nested "entry" message on the wire and a plain object to protobufjs.
    const entry = message.nestedType?.find((nested) => nested.name === field.typeName && nested.options?.mapEntry);
    if (entry) {
      const [key, value] = entry.field;
      model[field.name] = fc.dictionary(
        fieldArbitrary(definition, typeName, key!, hints, depth).map(String),
        fieldArbitrary(definition, typeName, value!, hints, depth),
        { maxKeys: 5 },
      );
      continue;
    }
    const arbitrary = fieldArbitrary(definition, typeName, field, hints, depth);
    model[field.name] = field.label === 'LABEL_REPEATED' ? fc.array(arbitrary, { maxLength: 5 }) : arbitrary;
  }
  return fc.record(model, { requiredKeys: [] });
}

export interface FuzzedCall {
  method: string;
  /** 'message' for a generated request, 'bytes' for raw bytes. */
  kind: 'message' | 'bytes';
  code: grpc.status;
  details: string;
}

export interface FuzzServiceOptions {
  /** `host:port` of the server. */
  address: string;
  /** proto-loader definition holding the service and its messages. */
  definition: PackageDefinition;
  /** Fully qualified service name, e.g. `switchboard.presence.v1.PresenceService`. */
  service: string;
  /** The bearer token for a method: one of a role its policy allows, so requests reach the handler. */
  token(method: string): Promise<string> | string;
  hints: FuzzHints;
  seed: number;
  /** Generated requests per method (raw-byte requests: a third of that). */
  runs: number;
  /**
   * Deadline per call (default 5 s); a server-streaming call is cancelled at its first message, or
   * after a second of silence (an open stream accepted the request).
   */
  timeoutMs?: number;
  /** Called with every answer, e.g. to count codes. */
  onCall?(call: FuzzedCall): void;
}

function send(
  client: grpc.Client,
  method: MethodDefinition<object, object>,
  payload: Buffer,
  metadata: grpc.Metadata,
  timeoutMs: number,
): Promise<{ code: grpc.status; details: string }> {
  const options = { deadline: Date.now() + timeoutMs };
  const identity = (value: Buffer) => value;
  if (method.responseStream) {
    return new Promise((resolve) => {
      const stream = client.makeServerStreamRequest(method.path, identity, identity, payload, metadata, options);
      let settled = false;
      const settle = (code: grpc.status, details: string) => {
        if (settled) return;
        settled = true;
        resolve({ code, details });
        stream.cancel();
      };
      // A stream that stays open without a word accepted the request; waiting on is its client's business.
      const open = setTimeout(() => settle(grpc.status.OK, 'open'), Math.min(timeoutMs, STREAM_OPEN_MS));
      stream.on('close', () => clearTimeout(open));
      stream.on('data', () => settle(grpc.status.OK, 'streaming'));
      stream.on('error', (error: grpc.ServiceError) => settle(error.code, error.details));
      stream.on('status', (status: grpc.StatusObject) => settle(status.code, status.details));
    });
  }
  return new Promise((resolve) => {
    client.makeUnaryRequest(method.path, identity, identity, payload, metadata, options, (error) =>
      resolve(
        error
          ? { code: error.code ?? grpc.status.UNKNOWN, details: error.details }
          : { code: grpc.status.OK, details: '' },
      ),
    );
  });
}

/**
 * Sends generated and raw-byte requests to every method of a service (client-streaming methods are
 * skipped); throws fast-check's report — seed, shrunk request and the answer — at the first answer
 * that is a server failure (SERVER_FAILURE_CODES).
 */
export async function fuzzGrpcService(options: FuzzServiceOptions): Promise<void> {
  const service = options.definition[options.service] as Record<string, MethodDefinition<object, object>> | undefined;
  if (!service) throw new Error(`service ${options.service} is not in the definition`);
  const client = new grpc.Client(options.address, grpc.credentials.createInsecure());
  const timeoutMs = options.timeoutMs ?? 5_000;
  try {
    for (const [name, method] of Object.entries(service)) {
      if (method.requestStream) continue;
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${await options.token(name)}`);
      // ts-proto and proto-loader name request types after the method's input message.
      const requestType = lookup(
        options.definition,
        packageOf(options.service),
        (method.requestType.type as unknown as { name: string }).name,
      ).name;
      const check = async (kind: FuzzedCall['kind'], payload: Buffer) => {
        const answer = await send(client, method, payload, metadata, timeoutMs);
        options.onCall?.({ method: name, kind, ...answer });
        if (SERVER_FAILURE_CODES.has(answer.code)) {
          throw new Error(`${name} answered ${grpc.status[answer.code]}: ${answer.details}`);
        }
      };
      try {
        await fc.assert(
          fc.asyncProperty(messageArbitrary(options.definition, requestType, options.hints), (request) =>
            check('message', method.requestSerialize(request)),
          ),
          { seed: options.seed, numRuns: options.runs },
        );
        await fc.assert(
          fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), (bytes) =>
            check('bytes', Buffer.from(bytes)),
          ),
          { seed: options.seed + 1, numRuns: Math.max(1, Math.floor(options.runs / 3)) },
        );
      } catch (error) {
        // fast-check's report holds the seed and the shrunk request; its cause holds the answer.
        const cause = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : '';
        throw new Error(`${cause}\n${(error as Error).message}`, { cause: error });
      }
    }
  } finally {
    client.close();
  }
}
