import { describe, expect, it } from 'vitest';
import { berlinTime, parseInstant, shortSummary } from './audit.js';

const entry = (summary: string) => ({
  entryId: 'e-1',
  tenantId: 't-kropp',
  at: undefined,
  subject: 'anna',
  role: 'admin',
  service: 'directory',
  method: 'UpdateDepartment',
  summary,
});

describe('sb audit list: times and summaries', () => {
  it("reads a time without a zone on Berlin's clock, summer and winter, and one with a zone as given", () => {
    expect(parseInstant('--since', '2026-03-01').toISOString()).toBe('2026-02-28T23:00:00.000Z');
    expect(parseInstant('--since', '2026-07-01T08:30').toISOString()).toBe('2026-07-01T06:30:00.000Z');
    expect(parseInstant('--until', '2026-07-01T08:30:00Z').toISOString()).toBe('2026-07-01T08:30:00.000Z');
    expect(parseInstant('--until', '2026-07-01T08:30+01:00').toISOString()).toBe('2026-07-01T07:30:00.000Z');
    expect(() => parseInstant('--until', '01.07.2026')).toThrow(
      '--until: "01.07.2026" is not a date or time (e.g. 2026-03-01, 2026-03-01T08:30 in Europe/Berlin, or with Z or an offset)',
    );
  });

  it("shows an instant on Berlin's clock", () => {
    expect(berlinTime(new Date('2026-01-15T12:00:00Z'))).toBe('2026-01-15 13:00:00');
    expect(berlinTime(new Date('2026-10-25T00:30:00Z'))).toBe('2026-10-25 02:30:00');
    expect(berlinTime(new Date('2026-10-25T01:30:00Z'))).toBe('2026-10-25 02:30:00');
    expect(berlinTime(undefined)).toBe('-');
  });

  it('drops the tenant every row repeats and cuts a long summary to the column', () => {
    expect(shortSummary(entry('{"tenantId":"t-kropp","departmentId":"bauamt"}'))).toBe('{"departmentId":"bauamt"}');
    const long = shortSummary(entry(`{"tenantId":"t-kropp","names":"${'x'.repeat(200)}"}`));
    expect(long).toHaveLength(80);
    expect(long.endsWith('…')).toBe(true);
    expect(shortSummary(entry('{"tenantId":"t-other"}'))).toBe('{"tenantId":"t-other"}');
  });
});
