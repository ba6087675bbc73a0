import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AriOps, AriRequestError } from './ari-ops.js';
import { createAdapterMetrics } from './metrics.js';

type Reply = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A stand-in for Asterisk's HTTP server that answers each request as the test scripts it. */
let server: Server;
let url: string;
const requests: Array<{ method: string; url: string; body: string }> = [];
let replies: Reply[] = [];

const json =
  (status: number, body: unknown): Reply =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
const noContent: Reply = (_req, res) => res.writeHead(204).end();
const silence: Reply = () => undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', body });
      (replies.shift() ?? noContent)(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function script(...next: Reply[]): AriOps {
  requests.length = 0;
  replies = next;
  return new AriOps({
    url,
    username: 'switchboard',
    password: 'secret',
    requestTimeoutMs: 200,
    metrics: createAdapterMetrics(),
  });
}

const failure = async (work: Promise<unknown>) => {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AriRequestError);
  return error as AriRequestError;
};

describe('AriOps', () => {
  it('sends parameters in the query string and variables in the body, authenticated', async () => {
    const ari = script(json(200, { id: 'leg-1', state: 'Down' }));
    await ari.create('leg-1', 'PJSIP/anna', 'switchboard', 'dialed,call-1', { 'CALLERID(num)': '+494624800' });
    const [request] = requests;
    expect(request?.method).toBe('POST');
    const sent = new URL(request!.url, url);
    expect(sent.pathname).toBe('/ari/channels/create');
    expect(Object.fromEntries(sent.searchParams)).toEqual({
      channelId: 'leg-1',
      endpoint: 'PJSIP/anna',
      app: 'switchboard',
      appArgs: 'dialed,call-1',
    });
    expect(JSON.parse(request!.body)).toEqual({ variables: { 'CALLERID(num)': '+494624800' } });
  });

  it('tries a refused request again with back-off: 409 not in Stasis and 5xx are transient', async () => {
    const notInStasis = json(409, { message: 'Channel not in Stasis application' });
    const ari = script(notInStasis, json(500, { message: 'Internal Server Error' }), noContent);
    await ari.dial('leg-1', 'caller-1', 30);
    expect(requests.map((request) => new URL(request.url, url).pathname)).toEqual(
      Array(3).fill('/ari/channels/leg-1/dial'),
    );
  });

  it('gives up on a refusal that lasts, and never repeats a final answer', async () => {
    const notInStasis = json(409, { message: 'Channel not in Stasis application' });
    const lasting = script(...Array<Reply>(5).fill(notInStasis));
    expect((await failure(lasting.answer('caller-1'))).failure).toBe('not-in-stasis');
    expect(requests).toHaveLength(5);

    const allocation = script(json(500, { error: 'Allocation failed' }));
    expect((await failure(allocation.create('leg-2', 'PJSIP/nobody', 'switchboard', 'dialed', {}))).failure).toBe(
      'allocation-failed',
    );
    expect(requests).toHaveLength(1);

    const gone = script(json(404, { message: 'Channel not found' }));
    expect((await failure(gone.answer('caller-2'))).failure).toBe('not-found');
    expect(requests).toHaveLength(1);

    const wrongState = script(json(412, { message: 'Channel in invalid state' }));
    expect((await failure(wrongState.answer('caller-3'))).failure).toBe('invalid-state');
    expect(requests).toHaveLength(1);
  });

  it('settles a request that gets no answer, and repeats only what is safe to repeat', async () => {
    const dial = script(silence);
    const error = await failure(dial.dial('leg-1', 'caller-1', 30));
    expect([error.failure, error.status]).toEqual(['unreachable', undefined]);
    // The dial may have reached Asterisk: repeating it could ring the phone twice.
    expect(requests).toHaveLength(1);

    const list = script(silence, silence, json(200, [{ id: 'caller-1' }]));
    expect(await list.listChannels()).toEqual([{ id: 'caller-1' }]);
    expect(requests).toHaveLength(3);
  });

  it('treats what is already gone as done for hangup, stopping a playback and destroying a bridge', async () => {
    const missing = json(404, { message: 'Channel not found' });
    const ari = script(missing, missing, missing);
    await ari.hangup('gone-1', 16);
    await ari.stopPlayback('gone-2');
    await ari.destroyBridge('gone-3');
    expect(requests.map((request) => `${request.method} ${new URL(request.url, url).pathname}`)).toEqual([
      'DELETE /ari/channels/gone-1',
      'DELETE /ari/playbacks/gone-2',
      'DELETE /ari/bridges/gone-3',
    ]);
  });
});
