import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Objm } from '@nats-io/obj';
import { startAriSim, type AriSim } from '@switchboard/ari-sim';
import { FAX_INBOX_BUCKET } from '@switchboard/events';
import { callControlV1, callV1, faxV1 } from '@switchboard/proto';
import { NotServedError, type NatsHandle } from '@switchboard/service-kit';
import { spawnService, type ServiceProcess } from '@switchboard/stack';
import { startNats, type NatsServer } from '@switchboard/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ADAPTER_ID,
  EventLog,
  MAIN_NUMBER,
  TENANT,
  adapterEnv,
  command,
  controlClient,
  testBus,
} from '../test/harness.js';

// An adapter process killed mid-call (SIGKILL: nothing runs on its way out) and a new one started:
// the new one takes the live calls over from Asterisk and what the old one kept on their channels,
// serves routing's commands for them and publishes their end once, with every leg as a call that
// saw no restart. The adapter runs as a child process from its build (npx tsc -b), as in production.

const { LegDisposition, LegKind, LegState } = callV1;
const AGENT_TAGS = { agent_id: 'anna', department_id: 'd-sales', site_id: 's-husum' };
const WAIT = { timeout: 15_000, interval: 20 };

describe('an adapter process killed mid-call and replaced', () => {
  let nats: NatsServer;
  let sim: AriSim;
  let bus: NatsHandle;
  let events: EventLog;
  let control: ReturnType<typeof controlClient>;
  let adapter: ServiceProcess | undefined;
  let logDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    nats = await startNats();
    sim = await startAriSim({
      username: 'switchboard',
      password: 'ari-secret',
      timeScale: 0.02,
      endpoints: { 'kropp-anna': { answerAfterMs: 1_000 }, 'kropp-bert': { noAnswer: true } },
    });
    bus = await testBus(nats);
    control = controlClient(bus);
    logDir = await mkdtemp(path.join(tmpdir(), 'sb-adapter-restart-'));
    // `info`: the start waits for the kit's ready line. The logs stay in logDir for a look after a failure.
    env = await adapterEnv(nats, sim, { LOG_LEVEL: 'info' });
    adapter = await start();
    // The adapter creates the streams at its start.
    events = new EventLog(bus);
    await events.follow();
  }, 60_000);

  afterAll(async () => {
    await adapter?.stop();
    await bus?.connection.close();
    await sim?.stop();
    await nats?.stop();
  });

  const start = () => spawnService({ name: 'ari-adapter', replica: 0, env, logDir, readyTimeoutMs: 30_000 });

  /** SIGKILL, then a new process with the same environment; resolves when it is ready (it took over). */
  async function killAndReplace(): Promise<void> {
    await adapter!.stop('SIGKILL');
    adapter = await start();
  }

  /** A channel variable as ARI answers it; undefined when unset. */
  async function variable(channelId: string, name: string): Promise<string | undefined> {
    const response = await fetch(`${sim.url}/ari/channels/${channelId}/variable?variable=${name}`, {
      headers: { authorization: `Basic ${Buffer.from('switchboard:ari-secret').toString('base64')}` },
    });
    return response.ok ? ((await response.json()) as { value: string }).value : undefined;
  }

  /**
   * Until the call's memory on the caller's channel has the caller's answer and `legs` answered legs:
   * it is written right after each answer, and a kill before would lose that answer's time.
   */
  async function remembered(callId: string, legs: number): Promise<void> {
    await vi.waitFor(async () => {
      const memory = await variable(callId, 'SB_CALL');
      expect(memory).toBeDefined();
      expect((JSON.parse(memory!) as { legs: unknown[] }).legs).toHaveLength(legs);
    }, WAIT);
  }

  async function answeredCall(): Promise<string> {
    const callId = sim.placeCall({ from: '+4946241234', to: MAIN_NUMBER });
    await events.waitFor<callV1.CallStarted>('call.started', (event) => event.callId === callId);
    await control.answer(command(callId));
    return callId;
  }

  const dialAnna = (callId: string, endpoint = 'PJSIP/kropp-anna', commandId?: string) =>
    control.dial({
      ...command(callId, commandId),
      endpoint,
      kind: LegKind.LEG_KIND_INTERNAL,
      callerId: MAIN_NUMBER,
      // 120 s of wall-clock time at the emulator's time scale: a phone rings through the restart.
      timeoutSeconds: 6_000,
      tags: AGENT_TAGS,
      waitForOutcome: true,
    });

  const ended = (callId: string) => events.waitFor<callV1.CallEnded>('call.ended', (event) => event.callId === callId);

  /** The leg as the first process published it when it was answered (its times are the truth). */
  function answeredUpdate(callId: string, legId: string): callV1.Leg {
    const update = events
      .of<callV1.CallLegUpdated>('call.leg_updated', (event) => event.callId === callId && event.leg?.legId === legId)
      .find((event) => event.leg?.state === LegState.LEG_STATE_ANSWERED);
    expect(update, `leg ${legId} was published as answered`).toBeDefined();
    return update!.leg!;
  }

  const count = (event: string, callId: string) =>
    events.of<{ callId: string }>(event, (payload) => payload.callId === callId).length;
  const taken: string[] = [];

  /** What of a call's end must not depend on a restart: everything but its ids and times. */
  function shape(end: callV1.CallEnded) {
    return {
      direction: end.direction,
      endedBy: end.endedBy,
      tenant: end.meta?.tenantId,
      legs: end.legs.map((leg) => ({
        kind: leg.kind,
        endpoint: leg.kind === LegKind.LEG_KIND_CALLER ? leg.endpoint.replace(/-\w+$/, '') : leg.endpoint,
        from: leg.from,
        to: leg.to,
        tags: leg.tags,
        disposition: leg.disposition,
        hangupCause: leg.hangupCause,
        hangupCauseText: leg.hangupCauseText,
        state: leg.state,
        answered: leg.answeredAt !== undefined,
      })),
    };
  }

  it('publishes a bridged call ended after the restart with both legs, as a call without one', async () => {
    // The same call without a restart, for comparison.
    const reference = await answeredCall();
    expect((await dialAnna(reference)).disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
    sim.hangupCall(reference);
    const expected = await ended(reference);

    const callId = await answeredCall();
    const agent = await dialAnna(callId);
    expect(agent.disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
    await remembered(callId, 1);

    await killAndReplace();
    // Announced, so that routing sends again what it waits on from the killed process.
    const announced = await events.waitFor<callV1.CallTakenOver>('call.taken_over', (event) => event.callId === callId);
    expect(announced).toMatchObject({ adapterId: ADAPTER_ID, meta: { tenantId: TENANT } });
    sim.hangupCall(callId);
    const end = await ended(callId);

    expect(shape(end)).toEqual(shape(expected));
    expect(count('call.taken_over', reference)).toBe(0);
    const caller = end.legs.find((leg) => leg.legId === callId)!;
    const dialled = end.legs.find((leg) => leg.legId === agent.legId)!;
    const answeredCaller = answeredUpdate(callId, callId);
    const answeredAgent = answeredUpdate(callId, agent.legId);
    expect(caller.createdAt).toEqual(answeredCaller.createdAt);
    expect(caller.answeredAt).toEqual(answeredCaller.answeredAt);
    expect(dialled.createdAt).toEqual(answeredAgent.createdAt);
    expect(dialled.answeredAt).toEqual(answeredAgent.answeredAt);
    expect(dialled.tags).toEqual(AGENT_TAGS);
    expect(end.startedAt).toEqual(
      events.of<callV1.CallStarted>('call.started', (e) => e.callId === callId)[0]!.meta?.occurredAt,
    );
    // The agent's phone was hung up by the new process, as the old one would have.
    expect(sim.getCall(agent.legId)?.endedAt).toBeDefined();
    taken.push(callId);
  }, 60_000);

  it('takes over a caller on hold: the next Dial bridges the agent, and the end has every leg', async () => {
    const callId = await answeredCall();
    await control.startMusicOnHold({ ...command(callId), mohClass: '' });
    await remembered(callId, 0);

    await killAndReplace();
    const agent = await dialAnna(callId);
    expect(agent.disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
    expect(sim.getCall(callId)?.bridgedWith).toContain(agent.legId);
    // The agent hangs up: the conversation is over, the caller is hung up.
    sim.hangupCall(agent.legId);
    const end = await ended(callId);

    expect(end.endedBy).toBe('callee');
    expect(end.legs.map((leg) => leg.legId).sort()).toEqual([callId, agent.legId].sort());
    const caller = end.legs.find((leg) => leg.legId === callId)!;
    expect(caller).toMatchObject({
      kind: LegKind.LEG_KIND_CALLER,
      disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
      state: LegState.LEG_STATE_ENDED,
    });
    expect(caller.answeredAt).toEqual(answeredUpdate(callId, callId).answeredAt);
    expect(end.legs.find((leg) => leg.legId === agent.legId)).toMatchObject({
      kind: LegKind.LEG_KIND_INTERNAL,
      tags: AGENT_TAGS,
      disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
    });
    expect(end.meta?.tenantId).toBe('t-kropp');
    taken.push(callId);
  }, 60_000);

  it("answers routing's repeat of a Dial in flight at the kill from the ringing leg, without ringing again", async () => {
    const callId = await answeredCall();
    const dialled = dialAnna(callId, 'PJSIP/kropp-bert', `${callId}:dial-bert`);
    // Its answer dies with the process; routing sees a timeout and sends the command again.
    dialled.catch(() => undefined);
    const ringing = await events.waitFor<callV1.CallLegUpdated>(
      'call.leg_updated',
      (event) => event.callId === callId && event.leg?.state === LegState.LEG_STATE_RINGING,
    );
    const legId = ringing.leg!.legId;
    const hearing = () => sim.mediaTimeline(callId).at(-1)?.heard;
    await vi.waitFor(() => expect(hearing()).toEqual(['playback']), WAIT);

    await killAndReplace();
    const repeat = dialAnna(callId, 'PJSIP/kropp-bert', `${callId}:dial-bert`);
    sim.answerCall(legId);
    expect(await repeat).toEqual({ legId, disposition: LegDisposition.LEG_DISPOSITION_ANSWERED });
    expect(sim.listCalls().filter((record) => record.to === 'PJSIP/kropp-bert')).toHaveLength(1);
    expect(sim.getCall(callId)?.bridgedWith).toContain(legId);
    // The dead process's ringback (a tone never ends; the bridge add would wait behind it) was stopped.
    expect(hearing()).toEqual(['bridged']);

    sim.hangupCall(callId);
    const end = await ended(callId);
    expect(end.legs.find((leg) => leg.legId === legId)).toMatchObject({
      tags: AGENT_TAGS,
      disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
      createdAt: ringing.leg!.createdAt,
    });
    taken.push(callId);
  }, 60_000);

  it('ends calls whose agent or caller hung up while no adapter ran, with every leg as it was answered', async () => {
    const agentLeaves = await answeredCall();
    const first = await dialAnna(agentLeaves);
    const callerLeaves = await answeredCall();
    const second = await dialAnna(callerLeaves);
    await remembered(agentLeaves, 1);
    await remembered(callerLeaves, 1);

    await adapter!.stop('SIGKILL');
    sim.hangupCall(first.legId);
    sim.hangupCall(callerLeaves);
    adapter = await start();

    // The agent's leg comes from the caller's memory; the caller, left alone in the bridge, is hung up.
    const agentEnd = await ended(agentLeaves);
    expect(agentEnd.endedBy).toBe('callee');
    expect(agentEnd.legs.find((leg) => leg.legId === first.legId)).toMatchObject({
      tags: AGENT_TAGS,
      disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
      createdAt: answeredUpdate(agentLeaves, first.legId).createdAt,
      answeredAt: answeredUpdate(agentLeaves, first.legId).answeredAt,
      hangupCauseText: 'Channel gone without a hangup event',
    });
    expect(agentEnd.legs.find((leg) => leg.legId === agentLeaves)?.answeredAt).toEqual(
      answeredUpdate(agentLeaves, agentLeaves).answeredAt,
    );
    expect(sim.getCall(agentLeaves)?.endedAt).toBeDefined();

    // The call comes from what the agent's leg kept of it; the agent, left alone, is hung up.
    const callerEnd = await ended(callerLeaves);
    expect(callerEnd.meta?.tenantId).toBe('t-kropp');
    const answeredCaller = answeredUpdate(callerLeaves, callerLeaves);
    expect(callerEnd.legs.find((leg) => leg.legId === callerLeaves)).toMatchObject({
      kind: LegKind.LEG_KIND_CALLER,
      from: answeredCaller.from,
      to: MAIN_NUMBER,
      createdAt: answeredCaller.createdAt,
      answeredAt: answeredCaller.answeredAt,
      hangupCauseText: 'Channel gone without a hangup event',
    });
    expect(callerEnd.legs.find((leg) => leg.legId === second.legId)).toMatchObject({
      tags: AGENT_TAGS,
      disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
    });
    expect(sim.getCall(second.legId)?.endedAt).toBeDefined();
    taken.push(agentLeaves, callerLeaves);
  }, 60_000);

  it('stores a fax whose reception the killed process began, when the channel comes back to the new one', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'adapter-restart-fax-'));
    const tiff = path.join(dir, 'sent.tif');
    const content = Buffer.concat([Buffer.from('II*\0'), Buffer.alloc(1024, 3)]);
    await writeFile(tiff, content);
    // 45 s of wall-clock time at the emulator's scale: the reception outlasts the restart.
    const callId = sim.placeCall({
      from: '+4940555555',
      to: '+494624809',
      fax: { tiff, pages: 1, stationId: '+49 40 555555', durationMs: 2_250_000 },
    });
    await events.waitFor<callV1.CallStarted>('call.started', (event) => event.callId === callId);
    await control.answer(command(callId));
    await control.receiveFax(command(callId));

    await killAndReplace();
    const fax = await events.waitFor<faxV1.FaxReceived>('fax.received', (event) => event.callId === callId, 90_000);
    expect(fax).toMatchObject({
      result: faxV1.FaxResult.FAX_RESULT_SUCCESS,
      dialedNumber: '+494624809',
      callerNumber: '+4940555555',
      documentUri: `nats-object://${FAX_INBOX_BUCKET}/t-kropp/${callId}.tif`,
    });
    expect(
      Buffer.from((await (await new Objm(bus.connection).open(FAX_INBOX_BUCKET)).getBlob(`t-kropp/${callId}.tif`))!),
    ).toEqual(content);
    const end = await ended(callId);
    expect(end.legs[0]).toMatchObject({
      tags: { fax: 'true' },
      to: '+494624809',
      answeredAt: answeredUpdate(callId, callId).answeredAt,
    });
    taken.push(callId);
  }, 120_000);

  it('SIGTERM answers the PlayAndCollect in hand as not served at once; sent again, the next process plays the menu and collects', async () => {
    const callId = await answeredCall();
    const menu = callControlV1.PlayAndCollectRequest.fromPartial({
      ...command(callId, 'menu-visit-1'),
      media: ['sound:hello-world'],
      maxDigits: 1,
      // 10 min of call time at the emulator's time scale: the caller listens through the restart.
      firstDigitTimeoutMs: 600_000,
      bargeIn: true,
    });
    const first = control.playAndCollect(menu).catch((error: unknown) => error);
    await vi.waitFor(() => expect(sim.getCall(callId)?.playbacks).toEqual(['sound:hello-world']), WAIT);

    const stopping = adapter!.stop('SIGTERM');
    expect(await first).toBeInstanceOf(NotServedError);
    await stopping;
    adapter = await start();
    // Routing's resend: the same request, the same command id. The new process keeps no command log,
    // so it plays the menu again and collects what the caller presses now.
    const again = control.playAndCollect(menu);
    await vi.waitFor(() => expect(sim.getCall(callId)?.playbacks).toHaveLength(2), WAIT);
    sim.pressDigits(callId, '2');
    expect(await again).toMatchObject({ digits: '2' });

    await control.hangup({ ...command(callId), cause: 16 });
    const end = await ended(callId);
    expect(end.legs).toHaveLength(1);
    taken.push(callId);
  }, 120_000);

  it('SIGTERM: a call whose channels all go before the next process starts is ended by it from the handover, with every leg', async () => {
    const callId = await answeredCall();
    const agent = await dialAnna(callId);
    expect(agent.disposition).toBe(LegDisposition.LEG_DISPOSITION_ANSWERED);
    await adapter!.stop('SIGTERM');
    // Both hang up while no adapter listens: nothing of the call is left in Asterisk.
    sim.hangupCall(callId);
    sim.hangupCall(agent.legId);
    adapter = await start();

    const end = await ended(callId);
    expect(end.endedBy).toBe('system');
    expect(end.legs.map((leg) => leg.legId)).toEqual([callId, agent.legId]);
    for (const leg of end.legs) {
      expect(leg).toMatchObject({
        state: LegState.LEG_STATE_ENDED,
        disposition: LegDisposition.LEG_DISPOSITION_ANSWERED,
        hangupCause: 16,
        hangupCauseText: 'Channel gone without a hangup event',
      });
    }
    // The answer times are those the first process published, not the take-over's.
    expect(end.legs[1]!.answeredAt).toEqual(answeredUpdate(callId, agent.legId).answeredAt);
    expect(count('call.ended', callId)).toBe(1);
    taken.push(callId);
  }, 120_000);

  it('published each taken-over call once: one call.started (by the first process), one call.ended', async () => {
    expect(taken).toHaveLength(8);
    // Drained and gone, the process can publish nothing more; the stream has all it published.
    await adapter!.stop('SIGTERM');
    adapter = undefined;
    await vi.waitFor(() => expect(events.of('call.ended').length).toBeGreaterThanOrEqual(9), WAIT);
    for (const callId of taken) {
      expect(count('call.started', callId)).toBe(1);
      expect(count('call.ended', callId)).toBe(1);
    }
  });
});
