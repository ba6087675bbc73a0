import type { SippExit } from './sipp-process.js';

/** Readers for what sipp writes: `-trace_shortmsg` (every SIP message), `-trace_stat` (counters), `-trace_err`. */

export interface SipMessage {
  /** Epoch milliseconds. */
  at: number;
  sent: boolean;
  callId: string;
  /** The method of the CSeq header: the transaction a response belongs to. */
  method: string;
  /** The status code of a response; undefined for a request. */
  status: number | undefined;
  /** The user part of a request's URI (`kropp-101` in `INVITE sip:kropp-101@127.0.0.1:5070`). */
  requestUser: string | undefined;
}

/**
 * `-trace_shortmsg` lines: date, time, epoch seconds, `S`/`R`, Call-ID, `CSeq:N METHOD`, first line, separated
 * by tabs. sipp writes a line as it sends or receives, retransmissions included, so a file being written can
 * be read at any time; a line still being written is skipped.
 */
export function parseShortMessages(text: string): SipMessage[] {
  const messages: SipMessage[] = [];
  for (const line of text.split('\n')) {
    const [, , epoch, direction, callId, cseq, firstLine] = line.split('\t');
    const method = /^CSeq:\s*\d+\s+(\S+)/.exec(cseq ?? '')?.[1];
    if (!method || !callId || firstLine === undefined || (direction !== 'S' && direction !== 'R')) continue;
    const status = /^SIP\/2\.0 (\d{3})/.exec(firstLine)?.[1];
    messages.push({
      at: Math.round(Number(epoch) * 1000),
      sent: direction === 'S',
      callId,
      method,
      status: status === undefined ? undefined : Number(status),
      requestUser: /^[A-Z]+ sips?:([^@;>\s]+)@/.exec(firstLine)?.[1],
    });
  }
  return messages;
}

/**
 * The last row of a `-trace_stat` file by column name: sipp writes one row every `-fd` period and a final one
 * when it exits. Columns end in `(C)` for the whole run and `(P)` for the last period. Fields are separated by
 * `;` (the date fields themselves contain tabs).
 */
export function finalStatistics(csv: string): Map<string, string> {
  const lines = csv.split('\n').filter((line) => line.includes(';'));
  const header = lines[0]?.split(';') ?? [];
  const last = lines.length > 1 ? (lines.at(-1)?.split(';') ?? []) : [];
  return new Map(header.map((name, index) => [name, last[index] ?? '']));
}

/**
 * Lines of sipp's stderr and `-trace_err` log that say nothing is wrong: every timed wait that ended as planned
 * (DTMF, answer and hang-up timers), pcap loading, name resolution, and the log's own headings.
 */
const NOISE = [
  /receive timeout on message .*, jumping to label/,
  /^(In pcap |max pkt length |base port |Resolving remote host )/,
  /^(The following events occurred:|There were more errors, see )/,
];
const DIAGNOSTICS_KEPT = 4_000;

/** What went wrong in a sipp run, for assertion messages: its exit, stderr and `-trace_err` log without the noise. */
export function diagnose(exit: SippExit, errorLog: string): string {
  // The log's entries are not always separated by a line end: split before each timestamp too.
  const lines = `${exit.stderr}\n${errorLog}`
    .split(/\n|(?=\d{4}-\d\d-\d\d\t)/)
    .filter((line) => line.trim() !== '' && !NOISE.some((noise) => noise.test(line)));
  return [`sipp exit ${exit.code ?? exit.signal}`, ...new Set(lines)].join('\n').slice(-DIAGNOSTICS_KEPT);
}
