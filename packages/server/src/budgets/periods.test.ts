import { describe, expect, it } from 'vitest';
import { localDays, parseLength, parseStart, periodAt, zonedTime } from './periods.js';

const NY = 'America/New_York';
const span = (p: { startMs: number; endMs: number } | null) =>
  p && [new Date(p.startMs).toISOString(), new Date(p.endMs).toISOString()];

describe('budget periods', () => {
  it('starts months, weeks and days at local midnight, across daylight-saving changes', () => {
    // November 2026 in New York begins in EDT (UTC-4) and ends in EST (UTC-5).
    expect(span(periodAt({ kind: 'monthly' }, NY, Date.UTC(2026, 10, 15)))).toEqual([
      '2026-11-01T04:00:00.000Z',
      '2026-12-01T05:00:00.000Z',
    ]);
    // 03:00 UTC on 1 November is still 31 October in New York.
    expect(span(periodAt({ kind: 'monthly' }, NY, Date.UTC(2026, 10, 1, 3)))?.[0]).toBe('2026-10-01T04:00:00.000Z');
    expect(span(periodAt({ kind: 'monthly' }, 'UTC', Date.UTC(2026, 10, 1, 3)))?.[0]).toBe('2026-11-01T00:00:00.000Z');
    // Weeks from Monday; this one has the 25-hour day.
    expect(span(periodAt({ kind: 'weekly' }, NY, Date.UTC(2026, 10, 1, 12)))).toEqual([
      '2026-10-26T04:00:00.000Z',
      '2026-11-02T05:00:00.000Z',
    ]);
    // The 23-hour day of 8 March 2026.
    const d = periodAt({ kind: 'daily' }, NY, Date.UTC(2026, 2, 8, 12));
    expect(d && (d.endMs - d.startMs) / 3_600_000).toBe(23);
    // Half-hour offsets; a zone whose daylight saving skips midnight (the day starts at 01:00).
    expect(span(periodAt({ kind: 'daily' }, 'Asia/Kolkata', Date.UTC(2026, 2, 8, 12)))).toEqual([
      '2026-03-07T18:30:00.000Z',
      '2026-03-08T18:30:00.000Z',
    ]);
    expect(new Date(zonedTime(2026, 9, 6, 'America/Santiago')).toISOString()).toBe('2026-09-06T04:00:00.000Z');
    expect(
      localDays(Date.UTC(2026, 2, 7, 12), Date.UTC(2026, 2, 10), NY).map((x) => (x.endMs - x.startMs) / 3_600_000),
    ).toEqual([24, 23, 24]);
  });

  it('repeats custom periods from their start, by calendar days or exact hours', () => {
    const fortnight = { kind: 'custom' as const, start: '2026-01-05', length: '2w' };
    expect(span(periodAt(fortnight, NY, Date.UTC(2026, 2, 20, 12)))).toEqual([
      '2026-03-16T04:00:00.000Z',
      '2026-03-30T04:00:00.000Z',
    ]);
    expect(periodAt(fortnight, NY, Date.UTC(2026, 0, 5, 4))).toBeNull(); // 23:00 on 4 January in New York
    expect(
      span(periodAt({ kind: 'custom', start: '2026-01-05T09:00', length: '12h' }, 'UTC', Date.UTC(2026, 2, 20, 22))),
    ).toEqual(['2026-03-20T21:00:00.000Z', '2026-03-21T09:00:00.000Z']);
    expect(parseStart('2026-02-30')).toBeNull();
    expect(parseStart('2026-02-28T24:00')).toBeNull();
    expect(parseLength('0d')).toBeNull();
    expect(parseLength('3w')).toEqual({ days: 21 });
  });
});
