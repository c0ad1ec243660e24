/**
 * Calendar periods (day, week, month) in a time zone. A period's bounds are the first
 * instants whose local date falls in it, found from the zone's own rules (Intl), so
 * month ends and DST changes land exactly; bounds are cached, so the hot path compares
 * two numbers.
 */
import { InvalidInputError } from './errors.js';

/** A calendar period. `total` means no reset. */
export type CalendarPeriod = 'total' | 'day' | 'week' | 'month';

/** One instance of a calendar period: `[startMs, endMs)`, with a stable id such as `2026-11`. */
export interface PeriodInstance {
  readonly id: string;
  readonly startMs: number;
  readonly endMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Validate an IANA time zone name, naming `field` on error. */
export function validateTimeZone(timeZone: unknown, field: string): string {
  if (typeof timeZone !== 'string' || timeZone.length === 0) throw new InvalidInputError(field, 'must be an IANA time zone name', timeZone);
  try {
    formatter(timeZone);
  } catch {
    throw new InvalidInputError(field, "must be an IANA time zone name such as 'UTC' or 'Europe/Paris'", timeZone);
  }
  return timeZone;
}

/** The local calendar date of an instant, as a day number (days since 1970-01-01 in that calendar). */
function localDay(ms: number, timeZone: string): number {
  let y = 0;
  let m = 0;
  let d = 0;
  for (const p of formatter(timeZone).formatToParts(ms)) {
    if (p.type === 'year') y = Number(p.value);
    else if (p.type === 'month') m = Number(p.value);
    else if (p.type === 'day') d = Number(p.value);
  }
  return Date.UTC(y, m - 1, d) / 86_400_000;
}

/** The first instant whose local day is >= `day` (a day number). Zones differ from UTC by < 26 h. */
function startOfLocalDay(day: number, timeZone: string): number {
  let lo = day * 86_400_000 - 26 * 3_600_000; // local day certainly < target
  let hi = day * 86_400_000 + 26 * 3_600_000; // local day certainly >= target
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDay(mid, timeZone) >= day) hi = mid;
    else lo = mid;
  }
  return hi;
}

function dayToParts(day: number): { y: number; m: number; d: number; dow: number } {
  const dt = new Date(day * 86_400_000);
  return { y: dt.getUTCFullYear(), m: dt.getUTCMonth() + 1, d: dt.getUTCDate(), dow: (dt.getUTCDay() + 6) % 7 };
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** The instance of `period` containing instant `ms` in `timeZone` (weeks start on Monday, ISO 8601). */
export function periodAt(ms: number, period: Exclude<CalendarPeriod, 'total'>, timeZone: string): PeriodInstance {
  const today = localDay(ms, timeZone);
  let first: number;
  let next: number;
  let id: string;
  const p = dayToParts(today);
  if (period === 'day') {
    first = today;
    next = today + 1;
    id = `${p.y}-${pad(p.m)}-${pad(p.d)}`;
  } else if (period === 'week') {
    first = today - p.dow;
    next = first + 7;
    const s = dayToParts(first);
    id = `${s.y}-${pad(s.m)}-${pad(s.d)}W`;
  } else {
    first = Date.UTC(p.y, p.m - 1, 1) / 86_400_000;
    next = Date.UTC(p.y, p.m, 1) / 86_400_000;
    id = `${p.y}-${pad(p.m)}`;
  }
  return { id, startMs: startOfLocalDay(first, timeZone), endMs: startOfLocalDay(next, timeZone) };
}

/** A cached view of one (period, zone): `at(ms)` is two comparisons while `ms` stays in the current instance. */
export class PeriodTracker {
  private current: PeriodInstance | undefined;
  constructor(
    readonly period: Exclude<CalendarPeriod, 'total'>,
    readonly timeZone: string,
  ) {}

  /** The instance containing `ms`. */
  at(ms: number): PeriodInstance {
    const c = this.current;
    if (c !== undefined && ms >= c.startMs && ms < c.endMs) return c;
    const next = periodAt(ms, this.period, this.timeZone);
    // Keep the cache on the latest instance so a straggling old timestamp does not thrash it.
    if (c === undefined || next.startMs >= c.startMs) this.current = next;
    return next;
  }
}
