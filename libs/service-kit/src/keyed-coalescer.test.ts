import { describe, expect, it } from 'vitest';
import { KeyedCoalescer } from './keyed-coalescer.js';

/** A task whose end the test decides; counts its starts. */
function controlled() {
  const ends: Array<() => void> = [];
  let starts = 0;
  const task = () => {
    const run = ++starts;
    return new Promise<number>((resolve) => ends.push(() => resolve(run)));
  };
  return { task, ends, starts: () => starts };
}

describe('KeyedCoalescer', () => {
  it('runs a burst of requests of one key as the running task and one more that starts after all of them', async () => {
    const coalescer = new KeyedCoalescer<number>();
    const { task, ends, starts } = controlled();
    const first = coalescer.run('t1', task);
    const burst = [coalescer.run('t1', task), coalescer.run('t1', task), coalescer.run('t1', task)];
    expect(starts()).toBe(1);
    ends[0]!();
    expect(await first).toBe(1);
    await Promise.resolve();
    expect(starts()).toBe(2);
    // Asked while the second runs: a third run, since the second may have read before this request.
    const late = coalescer.run('t1', task);
    ends[1]!();
    expect(await Promise.all(burst)).toEqual([2, 2, 2]);
    await Promise.resolve();
    expect(starts()).toBe(3);
    ends[2]!();
    expect(await late).toBe(3);
  });

  it('runs other keys side by side and carries on after a failed task', async () => {
    const coalescer = new KeyedCoalescer<string>();
    const failing = coalescer.run('t1', () => Promise.reject(new Error('directory down')));
    const next = coalescer.run('t1', async () => 'reloaded');
    const other = coalescer.run('t2', async () => 'other');
    await expect(failing).rejects.toThrow('directory down');
    expect(await next).toBe('reloaded');
    expect(await other).toBe('other');
  });
});
