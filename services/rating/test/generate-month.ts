import { callV1 } from '@switchboard/proto';
import { DateTime } from 'luxon';

/** Deterministic pseudo-random numbers (mulberry32), so a generated month is the same every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** External destinations by the class they must get, a few of each. */
export const DESTINATIONS: Readonly<Record<string, readonly string[]>> = {
  'de-fixed': ['+49301234567', '+4946248000', '+4940123456', '+49891234567', '+494621987654'],
  'de-mobile': ['+4915112345678', '+491701234567', '+4917612345678', '+4916012345678'],
  'international-eu': ['+33123456789', '+436641234567'],
  'international-world': ['+12025550123'],
  free: ['+498001234567'],
  'public-service': ['115'],
  directory: ['11880'],
  emergency: ['112'],
};

const { LegKind, LegDisposition, CallDirection } = callV1;

export interface MonthOptions {
  tenantId: string;
  month: string;
  calls: number;
  sites: number;
  seed: number;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/**
 * A month shaped like the Amt's: inbound calls to departments (some ringing an agent who does not
 * answer first, some forwarded to a home office), outbound calls to fixed, mobile and a few other
 * numbers, internal calls between sites; working hours in Europe/Berlin, each leg tagged with a site.
 */
export function generateMonth(options: MonthOptions): callV1.CallEnded[] {
  const random = seededRandom(options.seed);
  const start = DateTime.fromISO(`${options.month}-01T00:00:00`, { zone: 'Europe/Berlin' });
  const days = start.daysInMonth ?? 30;
  const sites = Array.from({ length: options.sites }, (_, index) => `site-${String(index + 1).padStart(2, '0')}`);
  const events: callV1.CallEnded[] = [];
  for (let index = 0; index < options.calls; index++) {
    const callId = `call-${String(index).padStart(6, '0')}`;
    const day = 1 + Math.floor(random() * days);
    const second = Math.floor(random() * 10 * 3600);
    const callStart = start.set({ day }).set({ hour: 7 }).plus({ seconds: second }).toJSDate();
    const site = pick(random, sites);
    const draw = random();
    const direction =
      draw < 0.55
        ? CallDirection.CALL_DIRECTION_INBOUND
        : draw < 0.9
          ? CallDirection.CALL_DIRECTION_OUTBOUND
          : CallDirection.CALL_DIRECTION_INTERNAL;
    const legs: callV1.Leg[] = [];
    let at = callStart.getTime();
    const addLeg = (
      kind: callV1.LegKind,
      from: string,
      to: string,
      seconds: number | undefined,
      tags: Record<string, string>,
    ) => {
      const createdAt = new Date(at);
      const answeredAt = seconds === undefined ? undefined : new Date(at + 4_000);
      const endedAt = new Date(at + 4_000 + (seconds ?? 0) * 1000);
      legs.push({
        legId: `${callId}-${legs.length}`,
        channelId: `ch-${callId}-${legs.length}`,
        kind,
        endpoint: `PJSIP/${to}`,
        from,
        to,
        createdAt,
        answeredAt,
        endedAt,
        disposition:
          seconds === undefined ? LegDisposition.LEG_DISPOSITION_NO_ANSWER : LegDisposition.LEG_DISPOSITION_ANSWERED,
        hangupCause: seconds === undefined ? 19 : 16,
        hangupCauseText: seconds === undefined ? 'No answer' : 'Normal Clearing',
        tags,
        state: callV1.LegState.LEG_STATE_ENDED,
      });
      at = endedAt.getTime();
    };
    const talk = () => 20 + Math.floor(random() * 340);
    const agentTags = { site_id: site, department_id: `dept-${site}`, agent_id: `agent-${Math.floor(random() * 60)}` };
    if (direction === CallDirection.CALL_DIRECTION_INBOUND) {
      const seconds = talk();
      addLeg(LegKind.LEG_KIND_CALLER, `+49461${100000 + index}`, '+4946248000', seconds + 10, {});
      if (random() < 0.3) addLeg(LegKind.LEG_KIND_INTERNAL, '+4946248000', '201', undefined, agentTags);
      if (random() < 0.12)
        addLeg(LegKind.LEG_KIND_FORWARDED_HOME_OFFICE, '+4946248000', '+4915112345678', seconds, agentTags);
      else addLeg(LegKind.LEG_KIND_INTERNAL, '+4946248000', '202', seconds, agentTags);
    } else if (direction === CallDirection.CALL_DIRECTION_OUTBOUND) {
      const classDraw = random();
      const destinationClass =
        classDraw < 0.6 ? 'de-fixed' : classDraw < 0.92 ? 'de-mobile' : pick(random, Object.keys(DESTINATIONS));
      const to = pick(random, DESTINATIONS[destinationClass] ?? []);
      const answered = random() < 0.9;
      addLeg(LegKind.LEG_KIND_CALLER, '203', to, answered ? 0 : undefined, agentTags);
      // No site tag on some outbound legs: they fall back to the caller leg's site.
      addLeg(
        LegKind.LEG_KIND_EXTERNAL,
        '+4946248000',
        to,
        answered ? talk() : undefined,
        random() < 0.2 ? {} : agentTags,
      );
    } else {
      addLeg(LegKind.LEG_KIND_CALLER, '204', '205', 0, agentTags);
      addLeg(LegKind.LEG_KIND_INTERNAL, '204', '205', talk(), { ...agentTags, site_id: pick(random, sites) });
    }
    events.push({
      meta: {
        eventId: `${options.tenantId}:${callId}:ended`,
        tenantId: options.tenantId,
        occurredAt: new Date(at),
        producer: 'generator',
        trace: undefined,
      },
      callId,
      direction,
      startedAt: callStart,
      endedAt: new Date(at),
      legs,
      endedBy: 'caller',
    });
  }
  return events;
}
