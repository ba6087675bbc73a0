import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * A fax machine on the carrier's side, made of the test's own Asterisk: it calls the number
 * through an endpoint that points back at Asterisk's SIP port, so the call arrives over SIP from
 * 127.0.0.1 — as the carrier — and the answered channel runs SendFAX (spandsp; T.38 when the
 * receiving side asks for it, as a carrier's gateway would).
 */

export interface SendFaxOptions {
  /** The sender's number, as the carrier presents it. */
  from: string;
  /** The dialled number, e.g. one of the tenant's fax numbers. */
  to: string;
  /** A TIFF-F file (G3/G4, 1728 pixels wide) Asterisk can read. */
  tiff: string;
  /** Until the transmission is over (default 180 s: a page takes 10–20 s plus training). */
  timeoutMs?: number;
}

/** What SendFAX reported (its FAXSTATUS, FAXPAGES and FAXERROR). */
export interface SendFaxResult {
  status: string;
  pages: number;
  error: string;
}

type Ari = (method: string, pathAndQuery: string, body?: unknown) => Promise<{ status: number; body: unknown }>;

export const FAX_SENDER_ENDPOINT = 'test-fax-sender';
const CONTEXT = 'test-fax-sender';
const RESULT_MARK = 'test-fax-sender-result';

/** pjsip.conf: the sender's endpoint, whose calls go to Asterisk itself. */
export function faxSenderEndpoint(sipPort: number): string {
  return [
    '',
    `[${FAX_SENDER_ENDPOINT}]`,
    'type = endpoint',
    'transport = transport-udp',
    `context = ${CONTEXT}`,
    'disallow = all',
    'allow = alaw,ulaw',
    'direct_media = no',
    't38_udptl = yes',
    `aors = ${FAX_SENDER_ENDPOINT}`,
    `[${FAX_SENDER_ENDPOINT}]`,
    'type = aor',
    `contact = sip:127.0.0.1:${sipPort}`,
    '',
  ].join('\n');
}

/**
 * extensions.conf: the answered sender channel runs SendFAX; its hangup handler (`h`, which runs
 * however the transmission ended) logs the outcome, keyed by the channel's id, where sendFax()
 * reads it (the project's module set has no FILE() to write it elsewhere).
 */
export function faxSenderContext(): string {
  return [
    '',
    `[${CONTEXT}]`,
    'exten => send,1,SendFAX(${SENDFILE},f)',
    ' same => n,Hangup()',
    `exten => h,1,Verbose(1,${RESULT_MARK} \${UNIQUEID} \${FAXSTATUS}|\${FAXPAGES}|\${FAXERROR})`,
    '',
  ].join('\n');
}

const RESULT_POLL_MS = 250;
const LOG_GRACE_MS = 5_000;

export async function sendFax(ari: Ari, logFile: string, options: SendFaxOptions): Promise<SendFaxResult> {
  const channelId = `fax-sender-${randomUUID()}`;
  const created = await ari('POST', `/channels/${channelId}`, {
    endpoint: `PJSIP/${options.to}@${FAX_SENDER_ENDPOINT}`,
    context: CONTEXT,
    extension: 'send',
    priority: 1,
    callerId: options.from,
    timeout: 30,
    variables: { SENDFILE: options.tiff },
  });
  if (created.status !== 200) {
    throw new Error(`Asterisk refused the fax call (${created.status}): ${JSON.stringify(created.body)}`);
  }
  const timeoutMs = options.timeoutMs ?? 180_000;
  const deadline = Date.now() + timeoutMs;
  const resultLine = new RegExp(`${RESULT_MARK} ${channelId} ([^|"\\n]*)\\|([^|"\\n]*)\\|([^|"\\n]*)`);
  // Asterisk reports the end of a channel outside Stasis only in its dialplan: the hangup
  // handler's log line, which the logger thread writes shortly after the channel is gone.
  let goneAt: number | undefined;
  while (Date.now() < deadline) {
    const found = resultLine.exec(await readFile(logFile, 'utf8').catch(() => ''));
    if (found) return { status: found[1]!, pages: Number(found[2]) || 0, error: found[3]!.trim() };
    if (goneAt === undefined && (await ari('GET', `/channels/${channelId}`)).status === 404) goneAt = Date.now();
    if (goneAt !== undefined && Date.now() - goneAt > LOG_GRACE_MS) {
      throw new Error(`the fax call to ${options.to} ended without reaching SendFAX (not answered?)`);
    }
    await new Promise((resolve) => setTimeout(resolve, RESULT_POLL_MS));
  }
  await ari('DELETE', `/channels/${channelId}`);
  throw new Error(`the fax to ${options.to} was not sent within ${timeoutMs} ms`);
}
