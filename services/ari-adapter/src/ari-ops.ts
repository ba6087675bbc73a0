import { ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import { Pool, type Dispatcher } from 'undici';
import type { AriBridge, AriChannel } from './ari-types.js';
import type { AdapterMetrics } from './metrics.js';

/** How an ARI request failed. */
export type AriFailure =
  | 'not-found'
  | 'allocation-failed'
  /** 409 (422 from bridges): the channel is not, or not yet, in the Stasis app. */
  | 'not-in-stasis'
  | 'invalid-state'
  /** A 5xx other than "Allocation failed": Asterisk failed the request without acting on it. */
  | 'server-error'
  /** No answer: refused connection, reset, or no reply within the request timeout. */
  | 'unreachable'
  | 'other';

export class AriRequestError extends Error {
  override readonly name = 'AriRequestError';
  constructor(
    readonly failure: AriFailure,
    readonly operation: string,
    readonly status: number | undefined,
    detail: string,
  ) {
    super(`ARI ${operation} failed: ${detail}`);
  }
}

function classify(status: number, body: string): AriFailure {
  if (status >= 500) return /allocation failed/i.test(body) ? 'allocation-failed' : 'server-error';
  if (/not in stasis/i.test(body)) return 'not-in-stasis';
  if (status === 404 || /not found/i.test(body)) return 'not-found';
  if (status === 409 || status === 412 || status === 422) return 'invalid-state';
  return 'other';
}

/**
 * Which failures an operation is tried again on. Every operation on a refusal (not in Stasis yet,
 * a 5xx): Asterisk did not act, so a new attempt cannot act twice. Only idempotent ones also when
 * no answer came: the first attempt may have acted.
 */
type RetryOn = 'refusal' | 'refusal-or-silence';

const isRefusal = (error: unknown) =>
  error instanceof AriRequestError && (error.failure === 'not-in-stasis' || error.failure === 'server-error');

function retryPolicy(retryOn: RetryOn, metrics: AdapterMetrics): RetryPolicy {
  const policy = retry(
    handleWhen(
      (error) =>
        isRefusal(error) ||
        (retryOn === 'refusal-or-silence' && error instanceof AriRequestError && error.failure === 'unreachable'),
    ),
    // Four more attempts within about two seconds: what a channel needs to reach Stasis under load.
    { maxAttempts: 4, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1_000 }) },
  );
  policy.onRetry((outcome) => {
    if ('error' in outcome && outcome.error instanceof AriRequestError)
      metrics.ariRetries.add(1, { operation: outcome.error.operation, failure: outcome.error.failure });
  });
  return policy;
}

export interface AriRestOptions {
  /** Asterisk's HTTP server, e.g. `http://asterisk:8088`. */
  url: string;
  username: string;
  password: string;
  /** A request without an answer by then counts as failed ("unreachable"). */
  requestTimeoutMs: number;
  metrics: AdapterMetrics;
}

type Query = Record<string, string | number | readonly string[] | undefined>;

/**
 * The ARI operations the adapter uses, each naming what failed; one place to see what the adapter
 * asks of Asterisk. Requests go over undici's `Pool.request` (keep-alive connections to Asterisk):
 * not ari-client, whose REST layer keeps no status code and never settles a request whose
 * connection is refused (measured with 2.2.0) — the adapter needs both to retry what is transient
 * and to drain on shutdown —, and not `fetch`, whose WHATWG streams, Request/Headers objects and
 * abort signal per request were 40 % of the adapter's CPU per call (README, "CPU per call").
 */
export class AriOps {
  private readonly authorization: string;
  private readonly policies: Record<RetryOn, RetryPolicy>;
  private readonly pool: Pool;

  constructor(private readonly options: AriRestOptions) {
    this.authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
    // As many connections as requests in flight, like fetch's default agent: none waits behind another.
    this.pool = new Pool(new URL(options.url).origin);
    this.policies = {
      refusal: retryPolicy('refusal', options.metrics),
      'refusal-or-silence': retryPolicy('refusal-or-silence', options.metrics),
    };
  }

  listChannels(): Promise<AriChannel[]> {
    return this.request('channels.list', 'refusal-or-silence', 'GET', '/channels');
  }

  listBridges(): Promise<AriBridge[]> {
    return this.request('bridges.list', 'refusal-or-silence', 'GET', '/bridges');
  }

  answer(channelId: string): Promise<void> {
    return this.request('channels.answer', 'refusal-or-silence', 'POST', `/channels/${id(channelId)}/answer`);
  }

  async play(channelId: string, playbackId: string, media: readonly string[], lang: string | undefined): Promise<void> {
    await this.request('channels.playWithId', 'refusal', 'POST', `/channels/${id(channelId)}/play/${id(playbackId)}`, {
      media,
      lang,
    });
  }

  async stopPlayback(playbackId: string): Promise<void> {
    await this.request('playbacks.stop', 'refusal-or-silence', 'DELETE', `/playbacks/${id(playbackId)}`).catch(
      ignore('not-found'),
    );
  }

  startMoh(channelId: string, mohClass: string | undefined): Promise<void> {
    return this.request('channels.startMoh', 'refusal-or-silence', 'POST', `/channels/${id(channelId)}/moh`, {
      mohClass,
    });
  }

  async stopMoh(channelId: string): Promise<void> {
    await this.request('channels.stopMoh', 'refusal-or-silence', 'DELETE', `/channels/${id(channelId)}/moh`).catch(
      ignore('not-found'),
    );
  }

  /**
   * A channel to `endpoint`, not dialled yet, that will enter `app`. `variables` (dialplan functions
   * like `CALLERID(num)` too) are set as it is created: until its StasisStart no command reaches it.
   */
  async create(
    channelId: string,
    endpoint: string,
    app: string,
    appArgs: string,
    variables: Record<string, string>,
  ): Promise<void> {
    await this.request(
      'channels.create',
      'refusal',
      'POST',
      '/channels/create',
      { channelId, endpoint, app, appArgs },
      { variables },
    );
  }

  /** Dials `endpoint` as a new channel that enters `app` only once it is answered; `variables` as in `create`. */
  async originate(p: {
    channelId: string;
    endpoint: string;
    app: string;
    appArgs: string;
    callerId: string;
    timeoutSeconds: number;
    variables: Record<string, string>;
  }): Promise<void> {
    await this.request(
      'channels.originateWithId',
      'refusal',
      'POST',
      `/channels/${id(p.channelId)}`,
      {
        endpoint: p.endpoint,
        app: p.app,
        appArgs: p.appArgs,
        timeout: p.timeoutSeconds,
        callerId: p.callerId || undefined,
      },
      { variables: p.variables },
    );
  }

  setVariable(channelId: string, variable: string, value: string): Promise<void> {
    return this.request('channels.setChannelVar', 'refusal-or-silence', 'POST', `/channels/${id(channelId)}/variable`, {
      variable,
      value,
    });
  }

  /** The variable's value, or undefined when it is unset (ARI answers 404). */
  async getVariable(channelId: string, variable: string): Promise<string | undefined> {
    try {
      const result = await this.request<{ value?: string }>(
        'channels.getChannelVar',
        'refusal-or-silence',
        'GET',
        `/channels/${id(channelId)}/variable`,
        { variable },
      );
      return result.value;
    } catch (error) {
      if (error instanceof AriRequestError && error.failure === 'not-found') return undefined;
      throw error;
    }
  }

  dial(channelId: string, caller: string, timeoutSeconds: number): Promise<void> {
    return this.request('channels.dial', 'refusal', 'POST', `/channels/${id(channelId)}/dial`, {
      caller,
      timeout: timeoutSeconds,
    });
  }

  /** Hangup needs no Stasis: it also ends a channel that has not entered the app yet. */
  async hangup(channelId: string, cause: number): Promise<void> {
    await this.request('channels.hangup', 'refusal-or-silence', 'DELETE', `/channels/${id(channelId)}`, {
      reason_code: String(cause),
    }).catch(ignore('not-found'));
  }

  continueInDialplan(channelId: string, context: string, extension: string): Promise<void> {
    return this.request('channels.continueInDialplan', 'refusal', 'POST', `/channels/${id(channelId)}/continue`, {
      context,
      extension,
      priority: 1,
    });
  }

  async createBridge(bridgeId: string): Promise<void> {
    await this.request('bridges.createWithId', 'refusal', 'POST', `/bridges/${id(bridgeId)}`, {
      type: 'mixing',
      name: bridgeId,
    });
  }

  addToBridge(bridgeId: string, channelIds: readonly string[]): Promise<void> {
    return this.request('bridges.addChannel', 'refusal-or-silence', 'POST', `/bridges/${id(bridgeId)}/addChannel`, {
      channel: channelIds,
    });
  }

  async destroyBridge(bridgeId: string): Promise<void> {
    await this.request('bridges.destroy', 'refusal-or-silence', 'DELETE', `/bridges/${id(bridgeId)}`).catch(
      ignore('not-found'),
    );
  }

  /**
   * Records the channel into Asterisk's recording directory as `<name>.<format>`. Asterisk queues the
   * recording behind a running playback and answers at once (`queued`); RecordingStarted,
   * RecordingFinished or RecordingFailed tell the rest. Never tried again on silence: a second
   * attempt under the same name would fail with 409 while the first records.
   */
  async record(
    channelId: string,
    p: {
      name: string;
      format: string;
      maxDurationSeconds: number;
      maxSilenceSeconds: number;
      beep: boolean;
      terminateOn: string;
    },
  ): Promise<void> {
    await this.request('channels.record', 'refusal', 'POST', `/channels/${id(channelId)}/record`, {
      name: p.name,
      format: p.format,
      maxDurationSeconds: p.maxDurationSeconds,
      maxSilenceSeconds: p.maxSilenceSeconds,
      beep: String(p.beep),
      terminateOn: p.terminateOn,
      ifExists: 'fail',
    });
  }

  /** Ends a live recording and keeps what it recorded (Asterisk then sends RecordingFinished). */
  async stopRecording(name: string): Promise<void> {
    await this.request('recordings.stop', 'refusal-or-silence', 'POST', `/recordings/live/${id(name)}/stop`).catch(
      ignore('not-found'),
    );
  }

  /** The stored recording's file as Asterisk wrote it. */
  async storedRecordingFile(name: string): Promise<Buffer> {
    return this.policies['refusal-or-silence'].execute(async () => {
      const operation = 'recordings.getStoredFile';
      const { status, data } = await this.send(operation, 'GET', `/ari/recordings/stored/${id(name)}/file`);
      if (status >= 300) {
        const text = data.toString('utf8');
        throw new AriRequestError(classify(status, text), operation, status, text);
      }
      return data;
    });
  }

  /** Gone already is done. */
  async deleteStoredRecording(name: string): Promise<void> {
    await this.request(
      'recordings.deleteStored',
      'refusal-or-silence',
      'DELETE',
      `/recordings/stored/${id(name)}`,
    ).catch(ignore('not-found'));
  }

  /**
   * Creates a res_pjsip object, or sets the given fields of an existing one (Asterisk keeps the
   * others). Idempotent: the same fields again change nothing.
   */
  async putPjsipObject(
    type: string,
    objectId: string,
    fields: ReadonlyArray<readonly [string, string]>,
  ): Promise<void> {
    await this.request(
      'asterisk.updateObject',
      'refusal-or-silence',
      'PUT',
      `/asterisk/config/dynamic/res_pjsip/${id(type)}/${id(objectId)}`,
      {},
      { fields: fields.map(([attribute, value]) => ({ attribute, value })) },
    );
  }

  /** Gone already is done; 403 (an object of pjsip.conf, which ARI cannot delete) is an error. */
  async deletePjsipObject(type: string, objectId: string): Promise<void> {
    await this.request(
      'asterisk.deleteObject',
      'refusal-or-silence',
      'DELETE',
      `/asterisk/config/dynamic/res_pjsip/${id(type)}/${id(objectId)}`,
    ).catch(ignore('not-found'));
  }

  /** Every PJSIP endpoint Asterisk has, from pjsip.conf and pushed. */
  async listPjsipEndpoints(): Promise<string[]> {
    const endpoints = await this.request<Array<{ resource: string }>>(
      'endpoints.listByTech',
      'refusal-or-silence',
      'GET',
      '/endpoints/PJSIP',
    );
    return endpoints.map((endpoint) => endpoint.resource);
  }

  /** Closes the connections to Asterisk; requests still running fail. */
  async close(): Promise<void> {
    await this.pool.destroy();
  }

  /** One ARI request, parameters in the query string as Asterisk reads them, tried again as `retryOn` allows. */
  private request<T = void>(
    operation: string,
    retryOn: RetryOn,
    method: Dispatcher.HttpMethod,
    path: string,
    query: Query = {},
    body?: Record<string, unknown>,
  ): Promise<T> {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) search.set(name, typeof value === 'object' ? value.join(',') : String(value));
    }
    const encoded = search.toString();
    const target = `/ari${path}${encoded ? `?${encoded}` : ''}`;
    const payload = body ? JSON.stringify(body) : undefined;
    return this.policies[retryOn].execute(async () => {
      const { status, data } = await this.send(operation, method, target, payload);
      const text = data.toString('utf8');
      if (status >= 300) throw new AriRequestError(classify(status, text), operation, status, text);
      return (text ? JSON.parse(text) : undefined) as T;
    });
  }

  /**
   * One attempt. No answer within the request timeout (connection refused or reset, no response
   * head or body in time) is `unreachable`; any answer is returned with its status.
   */
  private async send(
    operation: string,
    method: Dispatcher.HttpMethod,
    path: string,
    body?: string,
  ): Promise<{ status: number; data: Buffer }> {
    try {
      const response = await this.pool.request({
        method,
        path,
        headers: body
          ? { authorization: this.authorization, 'content-type': 'application/json' }
          : { authorization: this.authorization },
        body,
        headersTimeout: this.options.requestTimeoutMs,
        bodyTimeout: this.options.requestTimeoutMs,
      });
      return { status: response.statusCode, data: Buffer.from(await response.body.arrayBuffer()) };
    } catch (error) {
      throw new AriRequestError('unreachable', operation, undefined, (error as Error).message);
    }
  }
}

const id = encodeURIComponent;

/** For operations whose goal is already reached when the object is gone. */
function ignore(failure: AriFailure) {
  return (error: unknown) => {
    if (error instanceof AriRequestError && error.failure === failure) return;
    throw error;
  };
}
