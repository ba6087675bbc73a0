import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProgram } from '../program.js';
import { formatEur, formatUsage } from './rating.js';

async function run(...args: string[]): Promise<string> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    await createProgram()
      .exitOverride()
      .parseAsync(['node', 'sb', ...args]);
  } finally {
    spy.mockRestore();
  }
  return chunks.join('');
}

afterEach(() => vi.restoreAllMocks());

describe('sb classify', () => {
  it('prints each number with its normalised form and class, offline', async () => {
    const out = await run('classify', '0151 12345678', '112', '4930123456');
    expect(out.split('\n').map((line) => line.split(/\s{2,}/))).toEqual([
      ['0151 12345678', '+4915112345678', 'de-mobile'],
      ['112', '112', 'emergency'],
      ['4930123456', '-', 'invalid'],
      [''],
    ]);
  });

  it('prints JSON and strips a trunk-access prefix when asked', async () => {
    expect(JSON.parse(await run('classify', '--json', '--trunk-access', '0', '00301234567'))).toEqual([
      { input: '00301234567', normalized: '+49301234567', destinationClass: 'de-fixed' },
    ]);
  });
});

describe('usage output', () => {
  it('formats 1/10,000 EUR exactly', () => {
    expect(formatEur('1234567')).toBe('123.4567');
    expect(formatEur('-5')).toBe('-0.0005');
    expect(formatEur('90071992547409930')).toBe('9007199254740.9930');
  });

  it('shows pools in minutes and amounts in EUR', () => {
    const text = formatUsage({
      tenantId: 't-amt',
      month: '2026-03',
      ratingVersion: 2,
      packages: 1,
      pools: [
        {
          pool: 'de-fixed',
          capacitySeconds: '60000',
          usedSeconds: '66000',
          remainingSeconds: '0',
          overageSeconds: '6000',
          overageAmount: '12000',
          forecastUsedSeconds: '120000',
          forecastOverageSeconds: '60000',
          forecastOverageAmount: '120000',
        },
      ],
      classes: [],
      amount: '12000',
      forecastAmount: '120000',
      asOf: undefined,
    });
    expect(text).toContain('t-amt 2026-03 (rating version 2, 1 voice package(s))');
    expect(text).toMatch(/de-fixed\s+1000\.0\s+1100\.0\s+0\.0\s+100\.0\s+1\.2000\s+2000\.0\s+12\.0000/);
    expect(text).toContain('charged so far: 1.2000 EUR; forecast to month end: 12.0000 EUR');
  });
});
