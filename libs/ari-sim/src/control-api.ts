import { z } from 'zod';
import { AriError, badRequest, notFound } from './errors.js';
import { type EventsHub } from './events-hub.js';
import { type World } from './world.js';

const behavior = z
  .strictObject({
    answerAfterMs: z.number().int().nonnegative().optional(),
    busy: z.boolean().optional(),
    noAnswer: z.boolean().optional(),
    unavailable: z.boolean().optional(),
    hangupAfterMs: z.number().int().nonnegative().optional(),
  })
  .refine((b) => [b.busy, b.noAnswer, b.unavailable, b.answerAfterMs !== undefined].filter(Boolean).length <= 1, {
    message: 'choose one of answerAfterMs, busy, noAnswer, unavailable',
  });

export const endpointSchema = z.strictObject({ resource: z.string().min(1), behavior });

const step = z.union([
  z.strictObject({
    atMs: z.number().nonnegative(),
    dtmf: z.string().regex(/^[0-9A-D*#]+$/, 'DTMF digits 0-9 A-D * #'),
    after: z.enum(['placed', 'prompt']).optional(),
  }),
  z.strictObject({ atMs: z.number().nonnegative(), hangup: z.literal(true) }),
]);

export const callSchema = z.strictObject({
  from: z.string().min(1),
  to: z.string().min(1),
  app: z.string().min(1).optional(),
  callerName: z.string().optional(),
  args: z.array(z.string()).optional(),
  script: z.array(step).optional(),
  message: z
    .strictObject({
      pauseMs: z.number().nonnegative().optional(),
      speechMs: z.number().nonnegative(),
      then: z
        .union([
          z.strictObject({
            dtmf: z.string().regex(/^[0-9A-D*#]+$/, 'DTMF digits 0-9 A-D * #'),
            afterMs: z.number().nonnegative().optional(),
          }),
          z.strictObject({ hangup: z.literal(true), afterMs: z.number().nonnegative().optional() }),
        ])
        .optional(),
    })
    .optional(),
  fax: z
    .strictObject({
      tiff: z.string().min(1),
      pages: z.number().int().nonnegative(),
      stationId: z.string().optional(),
      result: z.enum(['SUCCESS', 'FAILED']).optional(),
      error: z.string().optional(),
      truncateBytes: z.number().int().nonnegative().optional(),
      durationMs: z.number().nonnegative().optional(),
    })
    .optional(),
});

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    throw badRequest(result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  return result.data;
}

/** The `/sim/...` control API: script the world and read what happened, for tests and demos. */
export function handleControl(
  world: World,
  hub: EventsHub,
  method: string,
  path: string,
  query: URLSearchParams,
  body: unknown,
): { status: number; body?: unknown } {
  if (method === 'POST' && path === '/endpoints') {
    const { resource, behavior: b } = parse(endpointSchema, body);
    world.setEndpoint(resource, b);
    return { status: 200, body: { resource, behavior: b } };
  }
  if (method === 'POST' && path === '/calls') {
    return { status: 200, body: { channelId: world.placeCall(parse(callSchema, body)) } };
  }
  if (method === 'GET' && path === '/calls') return { status: 200, body: world.listRecords() };
  const call = /^\/calls\/([^/]+)$/.exec(path);
  if (method === 'GET' && call?.[1]) {
    const record = world.getRecord(decodeURIComponent(call[1]));
    if (!record) throw notFound('Call not found');
    return { status: 200, body: record };
  }
  const hangup = /^\/calls\/([^/]+)\/hangup$/.exec(path);
  if (method === 'POST' && hangup?.[1]) {
    world.remoteHangup(decodeURIComponent(hangup[1]));
    return { status: 204 };
  }
  const answer = /^\/calls\/([^/]+)\/answer$/.exec(path);
  if (method === 'POST' && answer?.[1]) {
    world.answerNow(decodeURIComponent(answer[1]));
    return { status: 204 };
  }
  const lose = /^\/calls\/([^/]+)\/lose$/.exec(path);
  if (method === 'POST' && lose?.[1]) {
    world.loseChannel(decodeURIComponent(lose[1]));
    return { status: 204 };
  }
  if (method === 'POST' && path === '/websockets/drop') {
    return { status: 200, body: { dropped: hub.drop(query.get('app') ?? undefined) } };
  }
  throw new AriError(404, { message: 'Resource not found' });
}
