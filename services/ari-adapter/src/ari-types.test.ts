import { describe, expect, it } from 'vitest';
import { decodeAriEvent } from './ari-types.js';

// Events as the real Asterisk 22 sent them (captured traces, shortened to one channel each).
const CHANNEL = {
  id: '1795817413.21',
  name: 'PJSIP/carrier-00000002',
  state: 'Up',
  protocol_id: '1-23426@127.0.0.1',
  caller: { name: 'sipp', number: 'sipp' },
  connected: { name: '', number: '' },
  accountcode: '',
  dialplan: { context: 'from-sip', exten: '5551000', priority: 3, app_name: 'Stasis', app_data: 'router,inbound' },
  creationtime: '2026-11-27T22:10:13.382+0000',
  language: 'en',
  channelvars: { ROUTER_TAG: 'sip-inbound' },
};
const ENVELOPE = { timestamp: '2026-11-27T22:10:18.409+0000', asterisk_id: '02:fc:00:00:00:01', application: 'router' };
const text = (event: object) => JSON.stringify(event);

describe('decodeAriEvent', () => {
  it('decodes the events the adapter handles, keeping only the fields it reads', () => {
    const destroyed = decodeAriEvent(
      text({ type: 'ChannelDestroyed', ...ENVELOPE, cause: 16, cause_txt: 'Normal Clearing', channel: CHANNEL }),
    );
    expect(destroyed).toEqual({
      kind: 'event',
      event: {
        type: 'ChannelDestroyed',
        timestamp: ENVELOPE.timestamp,
        cause: 16,
        cause_txt: 'Normal Clearing',
        channel: {
          id: CHANNEL.id,
          name: CHANNEL.name,
          state: 'Up',
          caller: CHANNEL.caller,
          dialplan: { exten: '5551000', app_name: 'Stasis', app_data: 'router,inbound' },
          creationtime: CHANNEL.creationtime,
        },
      },
    });
    const dial = decodeAriEvent(
      text({ type: 'Dial', ...ENVELOPE, dialstatus: '', forward: '', dialstring: 'agent1', peer: CHANNEL }),
    );
    expect(dial).toMatchObject({ kind: 'event', event: { type: 'Dial', dialstatus: '', peer: { id: CHANNEL.id } } });
    const start = decodeAriEvent(
      text({ type: 'StasisStart', ...ENVELOPE, args: ['inbound', '5551000'], channel: CHANNEL }),
    );
    expect(start).toMatchObject({ kind: 'event', event: { args: ['inbound', '5551000'] } });
    const recording = decodeAriEvent(
      text({
        type: 'RecordingFinished',
        ...ENVELOPE,
        recording: { name: 'rec-1', format: 'wav', state: 'done', target_uri: 'channel:1', duration: 2 },
      }),
    );
    expect(recording).toEqual({
      kind: 'event',
      event: { type: 'RecordingFinished', timestamp: ENVELOPE.timestamp, recording: { name: 'rec-1', duration: 2 } },
    });
  });

  it('skips the types it does not act on without checking them, wherever the type is', () => {
    expect(decodeAriEvent(text({ type: 'ChannelVarset', variable: 'X' }))).toEqual({
      kind: 'skipped',
      type: 'ChannelVarset',
    });
    expect(decodeAriEvent('{\n  "variable": "X",\n  "type": "ChannelVarset"\n}')).toEqual({
      kind: 'skipped',
      type: 'ChannelVarset',
    });
    // Not first (another producer's order, ari.conf's `format = pretty`): still found and checked.
    expect(decodeAriEvent(JSON.stringify({ ...ENVELOPE, channel: CHANNEL, type: 'StasisEnd' }, null, 2))).toMatchObject(
      { kind: 'event', event: { type: 'StasisEnd', channel: { id: CHANNEL.id } } },
    );
  });

  it('refuses what is not JSON, has no type, or lacks a field a handler reads, and says why', () => {
    expect(decodeAriEvent('{"type":"StasisStart"')).toMatchObject({ kind: 'malformed', type: undefined });
    expect(decodeAriEvent('[1,2]')).toEqual({ kind: 'malformed', type: undefined, reason: 'no event type' });
    expect(decodeAriEvent('null')).toEqual({ kind: 'malformed', type: undefined, reason: 'no event type' });
    const noCause = decodeAriEvent(text({ type: 'ChannelDestroyed', ...ENVELOPE, cause_txt: '', channel: CHANNEL }));
    expect(noCause).toMatchObject({ kind: 'malformed', type: 'ChannelDestroyed' });
    expect(noCause.kind === 'malformed' && noCause.reason).toContain('cause');
    const noChannelId = decodeAriEvent(
      text({ type: 'StasisEnd', ...ENVELOPE, channel: { ...CHANNEL, id: undefined } }),
    );
    expect(noChannelId.kind === 'malformed' && noChannelId.reason).toContain('channel.id');
  });
});
