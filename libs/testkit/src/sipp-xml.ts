/**
 * Building blocks of sipp scenario files. A message's index in the scenario matters: sipp's `[branch]` is
 * derived from it, and `[branch-N]` repeats the branch of the message N places earlier (an ACK to a non-2xx
 * response and a CANCEL must carry the INVITE's). So sends may be written as a function of their own index.
 */

type Attributes = Record<string, string | number | boolean | undefined>;

/** An element inside `<action>`, e.g. `ereg` (keep a header in a call variable) or `exec` (play a pcap). */
export interface Action {
  tag: string;
  attributes: Attributes;
}

export interface Step {
  /** Labels are not messages: they take no index. */
  readonly isMessage: boolean;
  render(index: number): string;
}

export function send(message: string | ((index: number) => string), attributes: Attributes = {}): Step {
  return {
    isMessage: true,
    render: (index) =>
      `<send${attrs(attributes)}><![CDATA[\n${typeof message === 'string' ? message : message(index)}\n]]></send>`,
  };
}

export function recv(attributes: Attributes, actions: Action[] = []): Step {
  return element('recv', attributes, actions);
}

export function nop(actions: Action[]): Step {
  return element('nop', {}, actions);
}

export function label(id: string): Step {
  return { isMessage: false, render: () => `<label id="${escape(id)}"/>` };
}

export function scenarioXml(name: string, steps: Step[]): string {
  let index = 0;
  const body = steps.map((step) => step.render(step.isMessage ? index++ : index));
  const header = `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="${escape(name)}">`;
  return `${header}\n${body.join('\n')}\n</scenario>\n`;
}

/**
 * Both sides offer UPDATE, so Asterisk sends its connected-line updates as UPDATE without SDP, which sipp's
 * `-aa` answers by itself; a re-INVITE would be an unexpected message that makes sipp abort the call.
 */
export const ALLOW = 'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, NOTIFY';

/** G.711 both ways and RFC 4733 events; `[media_port]` is also the port `play_pcap_audio` sends from. */
export const SDP = [
  'v=0',
  'o=- [pid] [call_number] IN IP[media_ip_type] [media_ip]',
  's=-',
  'c=IN IP[media_ip_type] [media_ip]',
  't=0 0',
  'm=audio [media_port] RTP/AVP 8 0 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=sendrecv',
].join('\n');

/** Header lines, then the body (SDP) or an empty one; sipp turns the line ends into CRLF. */
export function sipMessage(lines: string[], sdp?: string): string {
  const body =
    sdp === undefined ? ['Content-Length: 0', ''] : ['Content-Type: application/sdp', 'Content-Length: [len]', '', sdp];
  return [...lines, ...body].join('\n') + '\n';
}

/** The tag this UAS puts on the To header of its responses (and its own requests' From). */
export const OWN_TAG = ';tag=[pid]SIPpTag01[call_number]';

interface ReplyOptions {
  /** The request's To has no tag yet (an INVITE, its CANCEL, an OPTIONS): add ours. */
  toTag?: boolean;
  /** Replaces the request's CSeq line (a 487 answers the INVITE although the CANCEL came last). */
  cseq?: string;
  headers?: string[];
  sdp?: string;
}

/** A response to the request received last, built from its headers. */
export function reply(status: string, options: ReplyOptions = {}): string {
  return sipMessage(
    [
      `SIP/2.0 ${status}`,
      '[last_Via:]',
      '[last_Record-Route:]',
      '[last_From:]',
      `[last_To:]${options.toTag ? OWN_TAG : ''}`,
      '[last_Call-ID:]',
      options.cseq ?? '[last_CSeq:]',
      ...(options.headers ?? []),
    ],
    options.sdp,
  );
}

function element(tag: string, attributes: Attributes, actions: Action[]): Step {
  const inner = actions.map((action) => `<${action.tag}${attrs(action.attributes)}/>`).join('');
  return {
    isMessage: true,
    render: () =>
      actions.length === 0
        ? `<${tag}${attrs(attributes)}/>`
        : `<${tag}${attrs(attributes)}><action>${inner}</action></${tag}>`,
  };
}

function attrs(attributes: Attributes): string {
  return Object.entries(attributes)
    .filter(([, value]) => value !== undefined && value !== false)
    .map(([key, value]) => ` ${key}="${escape(String(value))}"`)
    .join('');
}

/** sipp ≥ 3.6 unescapes attributes and wants `<` and `>` escaped in them. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
