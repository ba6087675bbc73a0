import type { Channel } from './model.js';

/** What a channel's party can hear: a prompt, music on hold, ringback, or another party in a bridge. */
export type MediaSource = 'playback' | 'bridge-playback' | 'moh' | 'bridge-moh' | 'ringing' | 'bridged';

/** From `at` (wall-clock epoch ms) on, the channel hears `heard`; empty is silence. */
export interface MediaChange {
  at: number;
  heard: MediaSource[];
}

/**
 * Per channel, every change of what its party hears, in wall-clock time — so a run that injects
 * faults can tell how long a caller sat in silence (no prompt, music, ringback or partner), which
 * the call record's lists of media cannot. The world calls `update` wherever audio starts or stops.
 */
export class MediaTimeline {
  private readonly changes = new Map<string, MediaChange[]>();
  /** Channels with music on hold started on them (ARI keeps no such state on the channel). */
  private readonly channelMoh = new Set<string>();

  /** Music on hold started (`on`: a configured class plays) or stopped on the channel itself. */
  setMoh(ch: Channel, on: boolean): void {
    if (on) this.channelMoh.add(ch.id);
    else this.channelMoh.delete(ch.id);
    this.update(ch);
  }

  /** Notes what the channel hears now, if that changed; a channel starts out silent. */
  update(ch: Channel): void {
    if (ch.gone) this.channelMoh.delete(ch.id);
    const heard = ch.gone ? [] : this.heardBy(ch);
    const list = this.changes.get(ch.id) ?? [];
    const last = list.at(-1);
    const previous = last?.heard ?? [];
    if (previous.length === heard.length && previous.every((source, index) => source === heard[index])) return;
    list.push({ at: Date.now(), heard });
    this.changes.set(ch.id, list);
  }

  of(channelId: string): MediaChange[] {
    return [...(this.changes.get(channelId) ?? [])];
  }

  private heardBy(ch: Channel): MediaSource[] {
    const heard: MediaSource[] = [];
    const playing = (queue: { state: string }[]) => queue[0]?.state === 'playing' || queue[0]?.state === 'continuing';
    if (playing(ch.playbacks)) heard.push('playback');
    if (ch.bridge && playing(ch.bridge.playbacks)) heard.push('bridge-playback');
    if (this.channelMoh.has(ch.id)) heard.push('moh');
    if (ch.bridge?.mohClass !== undefined) heard.push('bridge-moh');
    if (ch.record.ringingIndicated) heard.push('ringing');
    if (ch.bridge?.type === 'mixing' && ch.bridge.members.length > 1) heard.push('bridged');
    return heard;
  }
}
