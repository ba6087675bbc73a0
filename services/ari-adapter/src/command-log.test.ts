import { describe, expect, it } from 'vitest';
import { CommandLog } from './command-log.js';

describe('CommandLog', () => {
  it('executes a command id once and hands later callers the same result', async () => {
    const log = new CommandLog(1_000);
    let executions = 0;
    const execute = async () => ++executions;
    const [first, second] = await Promise.all([log.run('t:cmd-1', execute), log.run('t:cmd-1', execute)]);
    expect([first, second, executions]).toEqual([1, 1, 1]);
    expect(await log.run('t:cmd-1', execute)).toBe(1);
    expect(await log.run('t:cmd-2', execute)).toBe(2);
  });

  it('forgets ids after the TTL', async () => {
    let now = 0;
    const log = new CommandLog(1_000, () => now);
    expect(await log.run('t:x', async () => 'first')).toBe('first');
    now = 1_001;
    expect(await log.run('t:x', async () => 'again')).toBe('again');
    expect(log.size).toBe(1);
  });

  it('shares a failure with the repeats that waited for it, then executes the id again', async () => {
    const log = new CommandLog(600_000);
    let fail!: (error: Error) => void;
    const failing = () => new Promise<string>((_resolve, reject) => (fail = reject));
    const first = log.run('t:dial-1', failing);
    const concurrent = log.run('t:dial-1', async () => 'must not run while the first is in flight');
    fail(new Error('409 Channel not in Stasis application'));
    await expect(first).rejects.toThrow('not in Stasis');
    await expect(concurrent).rejects.toThrow('not in Stasis');
    expect(log.size).toBe(0);
    expect(await log.run('t:dial-1', async () => 'executed again')).toBe('executed again');
    expect(await log.run('t:dial-1', async () => 'replayed, not executed')).toBe('executed again');
  });
});
