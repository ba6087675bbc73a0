import { describe, expect, it } from 'vitest';
import { CommandLog } from './command-log.js';

describe('CommandLog', () => {
  it('executes a command id once and hands later callers the same result', async () => {
    const log = new CommandLog(1_000);
    let executions = 0;
    const execute = async () => ++executions;
    const [first, second] = await Promise.all([log.run('t:cmd-1', execute), log.run('t:cmd-1', execute)]);
    expect([first, second, executions]).toEqual([1, 1, 1]);
    expect(await log.run('t:cmd-2', execute)).toBe(2);
  });

  it('remembers a failure too, and forgets ids after the TTL', async () => {
    let now = 0;
    const log = new CommandLog(1_000, () => now);
    const failing = () => Promise.reject(new Error('busy'));
    await expect(log.run('t:x', failing)).rejects.toThrow('busy');
    await expect(log.run('t:x', async () => 'again')).rejects.toThrow('busy');
    now = 1_001;
    expect(await log.run('t:x', async () => 'again')).toBe('again');
    expect(log.size).toBe(1);
  });
});
