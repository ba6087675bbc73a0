import {
  AuditEvents,
  BillingEvents,
  CallEvents,
  DirectoryEvents,
  FaxEvents,
  IvrEvents,
  RatingEvents,
  VoicemailEvents,
} from './catalog.js';
import type { EventPayload, EventType } from './catalog.js';
import {
  AUDIT_STREAM,
  CALLS_STREAM,
  CDRS_STREAM,
  DIRECTORY_STREAM,
  DLQ_STREAM,
  FAX_INBOX_BUCKET,
  FAX_STREAM,
  INVOICES_STREAM,
  IVR_STREAM,
  VOICEMAIL_INBOX_BUCKET,
  type StreamDefinition,
} from './streams.js';
import { SUBJECT_ROOT, allTenantsSubject, rpcServeSubject } from './subjects.js';

// Who may do what on NATS, declared once: every identity's publish and subscribe permissions are
// derived from this file (natsPermissions), and the nats-server configuration from those
// (natsServerConfig). An identity is a service (one name per service everywhere) or a tool.

/** The services and tools that connect to NATS, each with its own nkey. */
export const NATS_IDENTITIES = [
  'ari-adapter',
  'billing',
  'directory',
  'fax',
  'ivr',
  'presence',
  'rating',
  'routing',
  // Read-only view of call and rating events: the demo's live view and the stack's event log.
  'observer',
] as const;

export type NatsIdentity = (typeof NATS_IDENTITIES)[number];

/** KV buckets, as the services create them by default (`<SERVICE>_*_BUCKET` settings). */
export const KV_BUCKETS = {
  presence: 'presence',
  routingCalls: 'routing-calls',
  routingQueue: 'routing-queue',
  routingCallbacks: 'routing-callbacks',
  routingCallbackLease: 'routing-callback-lease',
  /** Routing replicas' liveness leases (key = replica instance), watched by every replica. */
  routingReplicas: 'routing-replicas',
  /** The directory's read model: one versioned snapshot per tenant (key = tenant id). */
  directorySnapshots: 'directory-snapshots',
  /** The ivr's compiled menus: one versioned snapshot per tenant (key = tenant id). */
  ivrMenus: 'ivr-menus',
  /** Live calls a stopping adapter process leaves to the next one (key = `<adapter>.<call>`). */
  adapterHandover: 'adapter-handover',
} as const;

interface UnaryMethod {
  readonly path?: string;
}

/** A request/reply service on NATS: who serves it, on which subject, and who may call each method. */
export interface NatsRpcService {
  readonly server: NatsIdentity;
  /** The subject a method is served on, for every tenant (and every adapter). */
  serveSubject(method: string): string;
  /** Per method (as in the proto): the identities that may send it; empty = gRPC only. */
  readonly callers: Readonly<Record<string, readonly NatsIdentity[]>>;
}

/** The method names of a ts-proto service definition (`/pkg.Service/Method`). */
export function protoMethods(definition: Record<string, UnaryMethod>): string[] {
  return Object.values(definition).map((method) => (method.path ?? '').slice((method.path ?? '').lastIndexOf('/') + 1));
}

/**
 * The services that store citizens' numbers, each answering `sb.<tenant>.privacy.erase.<service>`;
 * the directory's EraseNumber asks exactly these (rpc-clients' PRIVACY_SERVICES).
 */
export const PRIVACY_ERASERS = ['billing', 'fax', 'rating', 'routing'] as const satisfies readonly NatsIdentity[];

/**
 * NATS request/reply: publishing on a method's request subject is the permission to call it, so
 * only the identities listed here get it. The kit does not check a token per NATS request.
 */
export const NATS_RPC: Readonly<Record<string, NatsRpcService>> = {
  callControl: {
    server: 'ari-adapter',
    serveSubject: (method) => `${SUBJECT_ROOT}.*.callcontrol.*.${method}`,
    callers: {
      Answer: ['routing'],
      Play: ['routing'],
      StopPlayback: [],
      PlayAndCollect: ['routing'],
      StartMusicOnHold: ['routing'],
      StopMusicOnHold: [],
      Dial: ['routing'],
      DialAll: ['routing'],
      RecordVoicemail: ['routing'],
      Forward: ['routing'],
      HangupLeg: [],
      ReceiveFax: ['routing'],
      Hangup: ['routing'],
      Originate: ['routing'],
    },
  },
  directory: {
    server: 'directory',
    serveSubject: (method) => rpcServeSubject('directory', method),
    callers: {
      // Routing answers these from the tenant's snapshot in memory; the NATS methods stay for
      // tools and for a routing replica of the release before.
      ResolveNumber: ['routing'],
      IsOpen: ['routing'],
      // A snapshot the directory-snapshots bucket does not hold yet (a tenant just created).
      GetSnapshot: ['routing'],
      // The directory cache of fax and rating loads a tenant at start and on changes; routing,
      // billing, fax and rating read a tenant's retention days for their privacy sweeps, presence
      // whether the tenant is in aggregate-only statistics mode.
      ExportTenant: ['routing', 'fax', 'rating', 'billing', 'presence'],
      ListStaff: ['presence'],
      ListDepartments: ['presence'],
    },
  },
  ivr: {
    server: 'ivr',
    serveSubject: (method) => rpcServeSubject('ivr', method),
    callers: { EvaluateStep: ['routing'] },
  },
  presence: {
    server: 'presence',
    serveSubject: (method) => rpcServeSubject('presence', method),
    callers: { Reserve: ['routing'], Confirm: ['routing'], Renew: ['routing'], Release: ['routing'] },
  },
  rating: {
    server: 'rating',
    serveSubject: (method) => rpcServeSubject('rating', method),
    callers: { GetUsage: ['billing'] },
  },
  // The directory's EraseNumber asks each service that stores citizens' numbers to shorten one.
  ...Object.fromEntries(
    PRIVACY_ERASERS.map((server): [string, NatsRpcService] => [
      `privacyErase.${server}`,
      {
        server,
        serveSubject: () => `${SUBJECT_ROOT}.*.privacy.erase.${server}`,
        callers: { EraseNumber: ['directory'] },
      },
    ]),
  ),
};

/** A durable consumer an identity runs; it parks poison messages on `sb.*.dlq.<durable>`. */
interface Durable {
  readonly stream: StreamDefinition;
  readonly durable: string;
}

/** What one identity does on NATS. */
export interface NatsGrant {
  readonly description: string;
  /** Event streams it creates or updates at start (the kit's ensureStreams; DLQ is always added). */
  readonly streams: readonly StreamDefinition[];
  /** Events it publishes (JetStream). */
  readonly publishes: readonly EventName[];
  /** Plain (core NATS) subscriptions. */
  readonly subscribes: readonly string[];
  /** Durable pull consumers it owns. */
  readonly durables: readonly Durable[];
  /** Streams it follows with ordered (ephemeral) consumers. */
  readonly follows: readonly StreamDefinition[];
  /** KV buckets and object stores it owns (creates, writes, reads) or only reads. */
  readonly kv: { readonly owns: readonly string[]; readonly reads: readonly string[] };
  readonly objectStores: { readonly owns: readonly string[] };
}

type EventName = Pick<EventType<EventPayload>, 'domain' | 'event'>;

const events = (catalog: Readonly<Record<string, EventName>>): EventName[] => Object.values(catalog);

// Every service with an API publishes the audit entries of its changes; service-kit creates AUDIT.
const AUDITED = events(AuditEvents);

/**
 * Directory change events as plain messages: libs/directory-cache (routing, fax, rating), the
 * adapter's device map and the directory's other replicas reload a tenant on them.
 */
const DIRECTORY_CHANGES = `${SUBJECT_ROOT}.*.directory.*`;

export const NATS_GRANTS: Readonly<Record<NatsIdentity, NatsGrant>> = {
  'ari-adapter': {
    description: 'publishes call, fax and voicemail events; serves call control; stores received documents',
    streams: [CALLS_STREAM, FAX_STREAM, AUDIT_STREAM],
    publishes: [...events(CallEvents), ...events(FaxEvents), ...events(VoicemailEvents), ...AUDITED],
    // Staff, number and tenant changes, to map devices to tenants.
    subscribes: [DIRECTORY_CHANGES],
    durables: [],
    follows: [],
    kv: { owns: [KV_BUCKETS.adapterHandover], reads: [] },
    objectStores: { owns: [FAX_INBOX_BUCKET, VOICEMAIL_INBOX_BUCKET] },
  },
  billing: {
    description: 'reads rated legs, publishes issued invoices, asks rating for usage',
    streams: [CDRS_STREAM, INVOICES_STREAM, AUDIT_STREAM],
    publishes: [...events(BillingEvents), ...AUDITED],
    subscribes: [],
    durables: [{ stream: CDRS_STREAM, durable: 'billing-cdr-rated' }],
    follows: [],
    kv: { owns: [], reads: [] },
    objectStores: { owns: [] },
  },
  directory: {
    description: 'publishes directory changes, follows other replicas’ changes, serves look-ups',
    streams: [DIRECTORY_STREAM, AUDIT_STREAM],
    publishes: [...events(DirectoryEvents), ...AUDITED],
    subscribes: [DIRECTORY_CHANGES],
    durables: [{ stream: AUDIT_STREAM, durable: 'directory-audit' }],
    follows: [],
    kv: { owns: [KV_BUCKETS.directorySnapshots], reads: [] },
    objectStores: { owns: [] },
  },
  fax: {
    description: 'reads fax and voicemail events and the documents the adapters stored',
    streams: [FAX_STREAM, AUDIT_STREAM],
    publishes: AUDITED,
    subscribes: [DIRECTORY_CHANGES],
    durables: [
      { stream: FAX_STREAM, durable: 'fax-received' },
      { stream: FAX_STREAM, durable: 'fax-voicemail-received' },
    ],
    follows: [],
    kv: { owns: [], reads: [] },
    // It creates the buckets when it starts before any adapter and deletes what it delivered.
    objectStores: { owns: [FAX_INBOX_BUCKET, VOICEMAIL_INBOX_BUCKET] },
  },
  ivr: {
    description: 'publishes menu changes and follows them on every replica; serves the menu step',
    streams: [IVR_STREAM, AUDIT_STREAM],
    publishes: [...events(IvrEvents), ...AUDITED],
    subscribes: [],
    durables: [],
    follows: [IVR_STREAM],
    kv: { owns: [KV_BUCKETS.ivrMenus], reads: [] },
    objectStores: { owns: [] },
  },
  presence: {
    description: 'keeps agents in its KV bucket from call events and directory changes; serves reservations',
    streams: [CALLS_STREAM, DIRECTORY_STREAM, AUDIT_STREAM],
    publishes: AUDITED,
    subscribes: [],
    durables: [
      { stream: CALLS_STREAM, durable: 'presence-call-events' },
      { stream: DIRECTORY_STREAM, durable: 'presence-directory-sync' },
    ],
    follows: [],
    kv: { owns: [KV_BUCKETS.presence], reads: [] },
    objectStores: { owns: [] },
  },
  rating: {
    description: 'rates ended calls, publishes rated legs and pool thresholds; serves usage',
    streams: [CALLS_STREAM, CDRS_STREAM, AUDIT_STREAM],
    publishes: [...events(RatingEvents), ...AUDITED],
    subscribes: [DIRECTORY_CHANGES],
    durables: [{ stream: CALLS_STREAM, durable: 'rating-call-ended' }],
    follows: [],
    kv: { owns: [], reads: [] },
    objectStores: { owns: [] },
  },
  routing: {
    description: 'routes calls from call events; keeps call state, queues and callbacks in KV; follows read models',
    streams: [CALLS_STREAM, AUDIT_STREAM],
    publishes: AUDITED,
    // Hang-ups and key presses reach the replica that waits for them at once; so does an adapter
    // process's take-over of a call whose command it waits on (sent again then).
    subscribes: [
      allTenantsSubject('call', 'ended'),
      allTenantsSubject('call', 'dtmf_received'),
      allTenantsSubject('call', 'taken_over'),
    ],
    durables: [
      { stream: CALLS_STREAM, durable: 'routing-call-ended' },
      { stream: CALLS_STREAM, durable: 'routing-calls' },
    ],
    follows: [],
    kv: {
      owns: [
        KV_BUCKETS.routingCalls,
        KV_BUCKETS.routingQueue,
        KV_BUCKETS.routingCallbacks,
        KV_BUCKETS.routingCallbackLease,
        KV_BUCKETS.routingReplicas,
      ],
      // Followed into memory: agents freeing up (presence), numbers, hours and staff (directory),
      // menus (ivr). Routing creates a bucket (never writes it) when its owner has not yet.
      reads: [KV_BUCKETS.presence, KV_BUCKETS.directorySnapshots, KV_BUCKETS.ivrMenus],
    },
    objectStores: { owns: [] },
  },
  observer: {
    description: 'reads call and rating events (demo live view, the stack’s event log); changes nothing',
    streams: [],
    publishes: [],
    subscribes: [allTenantsSubject('call')],
    durables: [],
    follows: [CALLS_STREAM, CDRS_STREAM],
    kv: { owns: [], reads: [] },
    objectStores: { owns: [] },
  },
};

/** A user's permissions in nats-server's terms. */
export interface NatsPermissions {
  publish: { allow: string[]; deny: string[] };
  subscribe: { allow: string[]; deny: string[] };
  /** May answer requests it received (serves request/reply). */
  allow_responses: boolean;
}

/**
 * Replies to an identity's requests (and its JetStream deliveries) arrive under its own inbox
 * prefix, so no identity can read another's replies; the kit connects with this prefix.
 */
export function inboxPrefix(identity: string): string {
  return `_INBOX_${identity.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

const JS = '$JS.API';

/** Stream-level JetStream API subjects of an event stream its services create or update. */
function streamAdmin(stream: string): string[] {
  return ['INFO', 'CREATE', 'UPDATE'].map((operation) => `${JS}.STREAM.${operation}.${stream}`);
}

/**
 * Who updates an event stream's configuration: its publisher (the AUDIT stream: the directory,
 * which keeps it). Everyone else who lists a stream may only create it when it is missing — one
 * who could change a stream's subjects and read it could make it capture others' messages. DLQ
 * has no owner: every service parks there and none reads it.
 */
export const STREAM_OWNERS: Readonly<Record<string, NatsIdentity>> = {
  [CALLS_STREAM.name]: 'ari-adapter',
  [FAX_STREAM.name]: 'ari-adapter',
  [CDRS_STREAM.name]: 'rating',
  [INVOICES_STREAM.name]: 'billing',
  [IVR_STREAM.name]: 'ivr',
  [DIRECTORY_STREAM.name]: 'directory',
  [AUDIT_STREAM.name]: 'directory',
};

/** INFO and CREATE of a stream it lists; UPDATE only for its owner (and for the ownerless DLQ). */
function eventStreamAccess(identity: NatsIdentity, stream: string): string[] {
  const owner = STREAM_OWNERS[stream];
  return owner === undefined || owner === identity
    ? streamAdmin(stream)
    : ['INFO', 'CREATE'].map((operation) => `${JS}.STREAM.${operation}.${stream}`);
}

/** Everything a consumer named `name` (a token or `*`) on `stream` needs: create, info, fetch, ack. */
function consumerAccess(stream: string, name: string): string[] {
  return [
    `${JS}.CONSUMER.CREATE.${stream}.${name}`,
    `${JS}.CONSUMER.CREATE.${stream}.${name}.>`,
    `${JS}.CONSUMER.DURABLE.CREATE.${stream}.${name}`,
    `${JS}.CONSUMER.INFO.${stream}.${name}`,
    `${JS}.CONSUMER.DELETE.${stream}.${name}`,
    `${JS}.CONSUMER.MSG.NEXT.${stream}.${name}`,
    `$JS.ACK.${stream}.${name}.>`,
  ];
}

/** Reading a stream through ordered consumers (random names): any consumer name, flow control. */
function followAccess(stream: string): string[] {
  return [
    `${JS}.STREAM.INFO.${stream}`,
    `${JS}.CONSUMER.CREATE.${stream}`,
    ...consumerAccess(stream, '*'),
    `$JS.FC.${stream}.>`,
  ];
}

/** Direct and stored-message reads of single entries (KV get, object info). */
function messageGet(stream: string): string[] {
  return [`${JS}.DIRECT.GET.${stream}`, `${JS}.DIRECT.GET.${stream}.>`, `${JS}.STREAM.MSG.GET.${stream}`];
}

function kvOwner(bucket: string): string[] {
  const stream = `KV_${bucket}`;
  return [...streamAdmin(stream), ...followAccess(stream), ...messageGet(stream), `$KV.${bucket}.>`];
}

function kvReader(bucket: string): string[] {
  const stream = `KV_${bucket}`;
  // CREATE: routing makes the bucket as presence would when it starts first; it never writes keys.
  return [`${JS}.STREAM.CREATE.${stream}`, ...followAccess(stream), ...messageGet(stream)];
}

function objectStoreOwner(bucket: string): string[] {
  const stream = `OBJ_${bucket}`;
  return [
    ...streamAdmin(stream),
    `${JS}.STREAM.PURGE.${stream}`,
    ...followAccess(stream),
    ...messageGet(stream),
    `$O.${bucket}.>`,
  ];
}

function subjectOf(type: EventName): string {
  return allTenantsSubject(type.domain, type.event);
}

/** Every durable of every identity, to keep others' ordered-consumer rights off them. */
function allDurables(): Array<Durable & { owner: NatsIdentity }> {
  return NATS_IDENTITIES.flatMap((owner) => NATS_GRANTS[owner].durables.map((durable) => ({ ...durable, owner })));
}

const sorted = (subjects: Iterable<string>): string[] => [...new Set(subjects)].sort();

/** The publish and subscribe permissions of one identity, derived from NATS_GRANTS and NATS_RPC. */
export function natsPermissions(identity: NatsIdentity): NatsPermissions {
  const grant = NATS_GRANTS[identity];
  const publish = new Set<string>([`${JS}.INFO`]);
  const deny = new Set<string>();
  const subscribe = new Set<string>([`${inboxPrefix(identity)}.>`, ...grant.subscribes]);
  const add = (target: Set<string>, subjects: Iterable<string>) => {
    for (const subject of subjects) target.add(subject);
  };

  if (grant.streams.length)
    add(
      publish,
      [DLQ_STREAM, ...grant.streams].flatMap((stream) => eventStreamAccess(identity, stream.name)),
    );
  add(publish, grant.publishes.map(subjectOf));
  for (const { stream, durable } of grant.durables) {
    add(publish, consumerAccess(stream.name, durable));
    add(publish, [`${JS}.STREAM.INFO.${stream.name}`, `${SUBJECT_ROOT}.*.dlq.${durable}`]);
  }
  for (const stream of grant.follows) {
    add(publish, followAccess(stream.name));
    // Ordered consumers have random names; the durables of others on the stream stay theirs.
    for (const other of allDurables()) {
      if (other.stream.name === stream.name && other.owner !== identity) {
        add(deny, consumerAccess(other.stream.name, other.durable));
      }
    }
  }
  for (const bucket of grant.kv.owns) add(publish, kvOwner(bucket));
  for (const bucket of grant.kv.reads) add(publish, kvReader(bucket));
  for (const bucket of grant.objectStores.owns) add(publish, objectStoreOwner(bucket));

  let serves = false;
  for (const service of Object.values(NATS_RPC)) {
    for (const [method, callers] of Object.entries(service.callers)) {
      if (service.server === identity) {
        subscribe.add(service.serveSubject(method));
        serves = true;
      }
      if (callers.includes(identity)) publish.add(service.serveSubject(method));
    }
  }

  return {
    publish: { allow: sorted(publish), deny: sorted(deny) },
    subscribe: { allow: sorted(subscribe), deny: [] },
    allow_responses: serves,
  };
}
