import { describe, expect, it } from 'vitest';
import { periodAt, PeriodTracker, validateTimeZone, type PeriodInstance } from '../src/core/index.js';
import { invalid } from './helpers.js';

const t = (iso: string): number => Date.parse(iso);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** An instance as ISO strings, so a mismatch reads as dates. */
function iso(p: PeriodInstance): { id: string; start: string; end: string } {
  return { id: p.id, start: new Date(p.startMs).toISOString(), end: new Date(p.endMs).toISOString() };
}

describe('periodAt in UTC', () => {
  it('day', () => {
    expect(iso(periodAt(t('2026-11-23T13:45:00Z'), 'day', 'UTC'))).toEqual({
      id: '2026-11-23',
      start: '2026-11-23T00:00:00.000Z',
      end: '2026-11-24T00:00:00.000Z',
    });
  });

  it('day bounds are inclusive at the start and exclusive at the end', () => {
    expect(periodAt(t('2026-11-23T00:00:00Z'), 'day', 'UTC').id).toBe('2026-11-23');
    expect(periodAt(t('2026-11-23T23:59:59.999Z'), 'day', 'UTC').id).toBe('2026-11-23');
    expect(periodAt(t('2026-11-24T00:00:00Z'), 'day', 'UTC').id).toBe('2026-11-24');
    expect(periodAt(t('2026-11-22T23:59:59.999Z'), 'day', 'UTC').id).toBe('2026-11-22');
  });

  it('month', () => {
    expect(iso(periodAt(t('2026-11-15T12:00:00Z'), 'month', 'UTC'))).toEqual({
      id: '2026-11',
      start: '2026-11-01T00:00:00.000Z',
      end: '2026-12-01T00:00:00.000Z',
    });
    expect(iso(periodAt(t('2026-12-31T23:59:59.999Z'), 'month', 'UTC'))).toEqual({
      id: '2026-12',
      start: '2026-12-01T00:00:00.000Z',
      end: '2027-01-01T00:00:00.000Z',
    });
    expect(iso(periodAt(t('2027-01-01T00:00:00Z'), 'month', 'UTC'))).toEqual({
      id: '2027-01',
      start: '2027-01-01T00:00:00.000Z',
      end: '2027-02-01T00:00:00.000Z',
    });
  });

  it('February in a leap year (2028) has 29 days, in a common year (2027) 28', () => {
    const leap = periodAt(t('2028-02-29T12:00:00Z'), 'month', 'UTC');
    expect(iso(leap)).toEqual({ id: '2028-02', start: '2028-02-01T00:00:00.000Z', end: '2028-03-01T00:00:00.000Z' });
    expect(leap.endMs - leap.startMs).toBe(29 * DAY);
    const common = periodAt(t('2027-02-28T12:00:00Z'), 'month', 'UTC');
    expect(iso(common)).toEqual({ id: '2027-02', start: '2027-02-01T00:00:00.000Z', end: '2027-03-01T00:00:00.000Z' });
    expect(common.endMs - common.startMs).toBe(28 * DAY);
    expect(iso(periodAt(t('2028-02-29T23:59:59.999Z'), 'day', 'UTC'))).toEqual({
      id: '2028-02-29',
      start: '2028-02-29T00:00:00.000Z',
      end: '2028-03-01T00:00:00.000Z',
    });
    expect(periodAt(t('2100-02-28T12:00:00Z'), 'month', 'UTC').endMs).toBe(t('2100-03-01T00:00:00Z'));
  });

  it('ISO weeks start on Monday and are named after their Monday', () => {
    // 2026-11-23 is a Monday
    const week = { id: '2026-11-23W', start: '2026-11-23T00:00:00.000Z', end: '2026-11-30T00:00:00.000Z' };
    expect(iso(periodAt(t('2026-11-23T00:00:00Z'), 'week', 'UTC'))).toEqual(week);
    expect(iso(periodAt(t('2026-11-26T09:00:00Z'), 'week', 'UTC'))).toEqual(week);
    expect(iso(periodAt(t('2026-11-29T23:59:59.999Z'), 'week', 'UTC'))).toEqual(week); // Sunday
    expect(periodAt(t('2026-11-30T00:00:00Z'), 'week', 'UTC').id).toBe('2026-11-30W');
    expect(periodAt(t('2026-11-22T23:59:59.999Z'), 'week', 'UTC').id).toBe('2026-11-16W');
  });

  it('a week crossing a year or a month keeps its Monday as id', () => {
    // 2026-01-01 is a Thursday
    expect(iso(periodAt(t('2026-01-01T12:00:00Z'), 'week', 'UTC'))).toEqual({
      id: '2025-12-29W',
      start: '2025-12-29T00:00:00.000Z',
      end: '2026-01-05T00:00:00.000Z',
    });
    expect(iso(periodAt(t('2028-03-01T12:00:00Z'), 'week', 'UTC'))).toEqual({
      id: '2028-02-28W',
      start: '2028-02-28T00:00:00.000Z',
      end: '2028-03-06T00:00:00.000Z',
    });
  });
});

describe('periodAt in other zones', () => {
  it('month of 2026-11-15 in America/New_York (DST ends 2026-11-01 02:00 local)', () => {
    const p = periodAt(t('2026-11-15T12:00:00Z'), 'month', 'America/New_York');
    expect(iso(p)).toEqual({ id: '2026-11', start: '2026-11-01T04:00:00.000Z', end: '2026-12-01T05:00:00.000Z' });
    expect(p.endMs - p.startMs).toBe(30 * DAY + HOUR);
  });

  it('New York: an instant is in the local month, not the UTC one', () => {
    // 2026-12-01T03:00Z is still 2026-11-30 22:00 EST
    expect(periodAt(t('2026-12-01T03:00:00Z'), 'month', 'America/New_York').id).toBe('2026-11');
    expect(periodAt(t('2026-12-01T04:59:59.999Z'), 'month', 'America/New_York').id).toBe('2026-11');
    expect(periodAt(t('2026-12-01T05:00:00Z'), 'month', 'America/New_York').id).toBe('2026-12');
    expect(periodAt(t('2026-11-01T03:59:59.999Z'), 'month', 'America/New_York').id).toBe('2026-10');
  });

  it('New York: the fall-back day is 25 hours and its week spans it', () => {
    expect(iso(periodAt(t('2026-11-01T12:00:00Z'), 'day', 'America/New_York'))).toEqual({
      id: '2026-11-01',
      start: '2026-11-01T04:00:00.000Z',
      end: '2026-11-02T05:00:00.000Z',
    });
    // 2026-11-01 is a Sunday: its week began Monday 2026-10-26 (EDT)
    expect(iso(periodAt(t('2026-11-01T12:00:00Z'), 'week', 'America/New_York'))).toEqual({
      id: '2026-10-26W',
      start: '2026-10-26T04:00:00.000Z',
      end: '2026-11-02T05:00:00.000Z',
    });
    expect(iso(periodAt(t('2026-11-15T12:00:00Z'), 'week', 'America/New_York'))).toEqual({
      id: '2026-11-09W',
      start: '2026-11-09T05:00:00.000Z',
      end: '2026-11-16T05:00:00.000Z',
    });
  });

  it('Asia/Tokyo (UTC+9): January 2026 starts on 2025-12-31 at 15:00Z', () => {
    expect(iso(periodAt(t('2026-01-15T00:00:00Z'), 'month', 'Asia/Tokyo'))).toEqual({
      id: '2026-01',
      start: '2025-12-31T15:00:00.000Z',
      end: '2026-01-31T15:00:00.000Z',
    });
    // 2025-12-31T15:00Z is already 2026-01-01 00:00 in Tokyo; one millisecond earlier is December
    expect(periodAt(t('2025-12-31T15:00:00Z'), 'month', 'Asia/Tokyo').id).toBe('2026-01');
    expect(periodAt(t('2025-12-31T14:59:59.999Z'), 'month', 'Asia/Tokyo').id).toBe('2025-12');
    expect(iso(periodAt(t('2026-01-31T16:00:00Z'), 'month', 'Asia/Tokyo'))).toEqual({
      id: '2026-02',
      start: '2026-01-31T15:00:00.000Z',
      end: '2026-02-28T15:00:00.000Z',
    });
    expect(iso(periodAt(t('2028-02-29T14:00:00Z'), 'day', 'Asia/Tokyo'))).toEqual({
      id: '2028-02-29',
      start: '2028-02-28T15:00:00.000Z',
      end: '2028-02-29T15:00:00.000Z',
    });
  });

  it('Europe/Paris spring-forward day (2026-03-29) is 23 hours', () => {
    const p = periodAt(t('2026-03-29T12:00:00Z'), 'day', 'Europe/Paris');
    expect(iso(p)).toEqual({ id: '2026-03-29', start: '2026-03-28T23:00:00.000Z', end: '2026-03-29T22:00:00.000Z' });
    expect(p.endMs - p.startMs).toBe(23 * HOUR);
    // the hour around the jump (02:00 CET → 03:00 CEST, at 01:00Z) stays in the same day
    expect(periodAt(t('2026-03-29T00:59:59.999Z'), 'day', 'Europe/Paris').id).toBe('2026-03-29');
    expect(periodAt(t('2026-03-29T01:00:00Z'), 'day', 'Europe/Paris').id).toBe('2026-03-29');
  });

  it('Europe/Paris fall-back day (2026-10-25) is 25 hours', () => {
    const p = periodAt(t('2026-10-25T12:00:00Z'), 'day', 'Europe/Paris');
    expect(iso(p)).toEqual({ id: '2026-10-25', start: '2026-10-24T22:00:00.000Z', end: '2026-10-25T23:00:00.000Z' });
    expect(p.endMs - p.startMs).toBe(25 * HOUR);
    // both 02:30 local (00:30Z CEST and 01:30Z CET) are in it
    expect(periodAt(t('2026-10-25T00:30:00Z'), 'day', 'Europe/Paris').id).toBe('2026-10-25');
    expect(periodAt(t('2026-10-25T01:30:00Z'), 'day', 'Europe/Paris').id).toBe('2026-10-25');
  });

  it('Europe/Paris month and week across DST changes', () => {
    const march = periodAt(t('2026-03-15T12:00:00Z'), 'month', 'Europe/Paris');
    expect(iso(march)).toEqual({ id: '2026-03', start: '2026-02-28T23:00:00.000Z', end: '2026-03-31T22:00:00.000Z' });
    expect(march.endMs - march.startMs).toBe(31 * DAY - HOUR);
    const week = periodAt(t('2026-10-25T12:00:00Z'), 'week', 'Europe/Paris');
    expect(iso(week)).toEqual({ id: '2026-10-19W', start: '2026-10-18T22:00:00.000Z', end: '2026-10-25T23:00:00.000Z' });
    expect(week.endMs - week.startMs).toBe(7 * DAY + HOUR);
  });

  it('America/Havana: DST starts at midnight, so 2026-03-08 begins at 01:00 local', () => {
    // verified with Intl: 2026-03-08T04:59:59Z is 03-07 23:59:59 GMT-5, 05:00:00Z is 03-08 01:00:00 GMT-4
    const p = periodAt(t('2026-03-08T12:00:00Z'), 'day', 'America/Havana');
    expect(iso(p)).toEqual({ id: '2026-03-08', start: '2026-03-08T05:00:00.000Z', end: '2026-03-09T04:00:00.000Z' });
    expect(p.endMs - p.startMs).toBe(23 * HOUR);
    expect(iso(periodAt(t('2026-03-08T04:59:59.999Z'), 'day', 'America/Havana'))).toEqual({
      id: '2026-03-07',
      start: '2026-03-07T05:00:00.000Z',
      end: '2026-03-08T05:00:00.000Z',
    });
    expect(iso(periodAt(t('2026-03-08T12:00:00Z'), 'month', 'America/Havana'))).toEqual({
      id: '2026-03',
      start: '2026-03-01T05:00:00.000Z',
      end: '2026-04-01T04:00:00.000Z',
    });
  });

  it('America/Havana: DST ends at 01:00 → 00:00, so 2026-11-01 is 25 hours', () => {
    const p = periodAt(t('2026-11-01T04:30:00Z'), 'day', 'America/Havana');
    expect(iso(p)).toEqual({ id: '2026-11-01', start: '2026-11-01T04:00:00.000Z', end: '2026-11-02T05:00:00.000Z' });
    // 00:30 local happens twice (04:30Z and 05:30Z): both are the same day
    expect(periodAt(t('2026-11-01T05:30:00Z'), 'day', 'America/Havana')).toEqual(p);
  });

  it('America/Santiago: DST ends at 24:00, so Saturday 2026-04-04 is 25 hours', () => {
    // verified with Intl: 2026-04-05T03:00:00Z is 04-04 23:00:00 GMT-4, 04:00:00Z is 04-05 00:00:00 GMT-4
    const sat = periodAt(t('2026-04-05T03:30:00Z'), 'day', 'America/Santiago');
    expect(iso(sat)).toEqual({ id: '2026-04-04', start: '2026-04-04T03:00:00.000Z', end: '2026-04-05T04:00:00.000Z' });
    expect(sat.endMs - sat.startMs).toBe(25 * HOUR);
    expect(periodAt(t('2026-04-05T04:00:00Z'), 'day', 'America/Santiago').id).toBe('2026-04-05');
  });

  it('America/Santiago: DST starts at 00:00 → 01:00, so 2026-09-06 starts at 01:00 local and is 23 hours', () => {
    const sun = periodAt(t('2026-09-06T12:00:00Z'), 'day', 'America/Santiago');
    expect(iso(sun)).toEqual({ id: '2026-09-06', start: '2026-09-06T04:00:00.000Z', end: '2026-09-07T03:00:00.000Z' });
    expect(sun.endMs - sun.startMs).toBe(23 * HOUR);
    expect(periodAt(t('2026-09-06T03:59:59.999Z'), 'day', 'America/Santiago').id).toBe('2026-09-05');
    // Sunday 2026-09-06 closes the ISO week that began Monday 2026-08-31 (-04)
    expect(iso(periodAt(t('2026-09-06T12:00:00Z'), 'week', 'America/Santiago'))).toEqual({
      id: '2026-08-31W',
      start: '2026-08-31T04:00:00.000Z',
      end: '2026-09-07T03:00:00.000Z',
    });
  });

  it('the extreme offsets +14 (Pacific/Kiritimati) and -12 (Etc/GMT+12)', () => {
    expect(iso(periodAt(t('2026-01-01T09:59:59.999Z'), 'day', 'Pacific/Kiritimati'))).toEqual({
      id: '2026-01-01',
      start: '2025-12-31T10:00:00.000Z',
      end: '2026-01-01T10:00:00.000Z',
    });
    // 2026-01-01T12:00Z is already 2026-01-02 02:00 in Kiritimati
    expect(periodAt(t('2026-01-01T12:00:00Z'), 'day', 'Pacific/Kiritimati').id).toBe('2026-01-02');
    expect(iso(periodAt(t('2026-01-01T12:00:00Z'), 'day', 'Etc/GMT+12'))).toEqual({
      id: '2026-01-01',
      start: '2026-01-01T12:00:00.000Z',
      end: '2026-01-02T12:00:00.000Z',
    });
    expect(periodAt(t('2026-01-01T11:59:59.999Z'), 'day', 'Etc/GMT+12').id).toBe('2025-12-31');
  });

  it('a half-hour zone (Asia/Kolkata, UTC+5:30)', () => {
    expect(iso(periodAt(t('2026-06-10T12:00:00Z'), 'month', 'Asia/Kolkata'))).toEqual({
      id: '2026-06',
      start: '2026-05-31T18:30:00.000Z',
      end: '2026-06-30T18:30:00.000Z',
    });
  });

  it('a skipped calendar day (Pacific/Apia dropped 2011-12-30) ends where the next existing day starts', () => {
    // verified with Intl: 2011-12-30T09:59:59Z is 12-29 23:59:59 GMT-10, 10:00:00Z is 12-31 00:00:00 GMT+14
    expect(iso(periodAt(t('2011-12-29T12:00:00Z'), 'day', 'Pacific/Apia'))).toEqual({
      id: '2011-12-29',
      start: '2011-12-29T10:00:00.000Z',
      end: '2011-12-30T10:00:00.000Z',
    });
    expect(iso(periodAt(t('2011-12-30T10:00:00Z'), 'day', 'Pacific/Apia'))).toEqual({
      id: '2011-12-31',
      start: '2011-12-30T10:00:00.000Z',
      end: '2011-12-31T10:00:00.000Z',
    });
  });
});

describe('PeriodTracker', () => {
  it('caches the instance and switches exactly at endMs', () => {
    const tracker = new PeriodTracker('day', 'Europe/Paris');
    expect(tracker.period).toBe('day');
    expect(tracker.timeZone).toBe('Europe/Paris');
    const first = tracker.at(t('2026-03-29T12:00:00Z'));
    expect(iso(first)).toEqual({ id: '2026-03-29', start: '2026-03-28T23:00:00.000Z', end: '2026-03-29T22:00:00.000Z' });
    expect(tracker.at(first.startMs)).toBe(first);
    expect(tracker.at(first.endMs - 1)).toBe(first);
    const second = tracker.at(first.endMs);
    expect(second).not.toBe(first);
    expect(iso(second)).toEqual({ id: '2026-03-30', start: '2026-03-29T22:00:00.000Z', end: '2026-03-30T22:00:00.000Z' });
    expect(second.startMs).toBe(first.endMs);
    expect(tracker.at(second.endMs - 1)).toBe(second);
  });

  it('a straggling old timestamp gets the old instance without moving the cache back', () => {
    const tracker = new PeriodTracker('month', 'UTC');
    const dec = tracker.at(t('2026-12-31T23:59:59.999Z'));
    const jan = tracker.at(t('2027-01-01T00:00:00Z'));
    expect(jan.id).toBe('2027-01');
    const late = tracker.at(t('2026-12-31T23:59:59.999Z'));
    expect(late).toEqual(dec);
    expect(late).not.toBe(dec);
    expect(tracker.at(t('2027-01-20T00:00:00Z'))).toBe(jan);
  });

  it('the first lookup may be any instant, and a jump far ahead replaces the cache', () => {
    const tracker = new PeriodTracker('week', 'UTC');
    const w = tracker.at(t('2026-11-26T09:00:00Z'));
    expect(w.id).toBe('2026-11-23W');
    const later = tracker.at(t('2027-03-10T00:00:00Z'));
    expect(iso(later)).toEqual({ id: '2027-03-08W', start: '2027-03-08T00:00:00.000Z', end: '2027-03-15T00:00:00.000Z' });
    expect(tracker.at(t('2027-03-14T23:59:59.999Z'))).toBe(later);
  });
});

describe('validateTimeZone', () => {
  it('returns a known zone unchanged', () => {
    expect(validateTimeZone('UTC', 'tz')).toBe('UTC');
    expect(validateTimeZone('Europe/Paris', 'tz')).toBe('Europe/Paris');
    expect(validateTimeZone('America/New_York', 'tz')).toBe('America/New_York');
  });

  it("rejects 'Mars/Olympus'", () => {
    const e = invalid(() => validateTimeZone('Mars/Olympus', 'limits[0].timeZone'));
    expect(e.field).toBe('limits[0].timeZone');
    expect(e.code).toBe('invalid_input');
    expect(e.value).toBe('Mars/Olympus');
    expect(e.message).toBe(
      "invalid_input: limits[0].timeZone must be an IANA time zone name such as 'UTC' or 'Europe/Paris' (got \"Mars/Olympus\")",
    );
  });

  it('rejects the empty string and non-strings', () => {
    const e = invalid(() => validateTimeZone('', 'timeZone'));
    expect(e.field).toBe('timeZone');
    expect(e.value).toBe('');
    expect(e.message).toBe('invalid_input: timeZone must be an IANA time zone name (got "")');
    expect(invalid(() => validateTimeZone(42, 'tz')).message).toBe('invalid_input: tz must be an IANA time zone name (got 42)');
    expect(invalid(() => validateTimeZone(undefined, 'tz')).message).toBe(
      'invalid_input: tz must be an IANA time zone name (got undefined)',
    );
    expect(invalid(() => validateTimeZone(null, 'tz')).field).toBe('tz');
  });
});
