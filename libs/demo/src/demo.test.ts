import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BEHAVIOUR } from './simulation.js';
import type { Summary } from './summary.js';
import { runDemo, type RunningDemo } from './run.js';

let demo: RunningDemo;
let reason: string;
let summary: Summary;

beforeAll(async () => {
  demo = await runDemo({
    // Only the call path: rating, billing and fax would add load to a busy machine and nothing here.
    services: ['directory', 'ivr', 'presence', 'ari-adapter', 'routing'],
    calls: 20,
    rate: 2,
    seed: 7,
    // Prompts, key presses, rings and talk at a quarter of their length; patience likewise.
    timeScale: 0.25,
    timeoutMs: 150_000,
    interactive: false,
    behaviour: { ...DEFAULT_BEHAVIOUR, noAnswerRate: 0.1 },
  });
  reason = await demo.finished;
  summary = await demo.stop();
}, 240_000);

afterAll(async () => {
  await demo?.stop();
});

describe('a bounded demo run of 20 calls', () => {
  it('ends every call, none busy, and the summary adds up', () => {
    expect(reason).toBe('all 20 calls ended');
    expect(summary.offered).toBe(20);
    expect(summary.busy).toBe(0);
    expect(summary.unfinished).toBe(0);
    expect(summary.answered + summary.abandoned + summary.busy + summary.other).toBe(summary.offered);
    expect(summary.answered).toBeGreaterThan(0);
    expect(summary.maxConcurrent).toBeGreaterThan(1);
    expect(summary.waitP50Ms).toBeLessThanOrEqual(summary.waitP95Ms);
    const departments = Object.values(summary.perDepartment);
    expect(departments.reduce((sum, row) => sum + row.offered, 0)).toBe(summary.offered);
    expect(departments.reduce((sum, row) => sum + row.answered, 0)).toBe(summary.answered);
  });
});
