/**
 * The counters a tracked process has in the store, one key each: `tk|<pid>|<field>`.
 * Seed 002's call and token counts, then seed 000's resources; user meters follow as
 * `tk|<pid>|m:<meter>`.
 */
import { BUILTIN_METERS, type MeterDefinition } from '../core/index.js';

/** A counter field of `ResourceUsage`. */
export type CounterField =
  | 'llmCalls'
  | 'toolCalls'
  | 'agentHops'
  | 'iterations'
  | 'tokensIn'
  | 'tokensOut'
  | 'money'
  | 'apiCalls'
  | 'cpuHours'
  | 'memoryGbHours'
  | 'storageGb';

export interface FieldSpec {
  readonly name: CounterField;
  /** The governor meter the pipeline charges to this counter (`undefined`: only the tracker's own methods do). */
  readonly meter: string;
  readonly def: MeterDefinition;
}

/** Hours at 9 decimals (3.6 ms of CPU or of a GB): a minute's sample at any percentage is rounded up by under 1e-9 h. */
const HOURS: MeterDefinition = { scale: 9, kind: 'quantity', refusalCode: 'limit_exceeded' };

/** In key order. The index of a field is its place here. */
export const FIELDS: readonly FieldSpec[] = [
  { name: 'llmCalls', meter: 'llmCalls', def: BUILTIN_METERS.llmCalls },
  { name: 'toolCalls', meter: 'toolCalls', def: BUILTIN_METERS.toolCalls },
  { name: 'agentHops', meter: 'agentHops', def: BUILTIN_METERS.agentHops },
  { name: 'iterations', meter: 'iterations', def: BUILTIN_METERS.iterations },
  { name: 'tokensIn', meter: 'inputTokens', def: BUILTIN_METERS.inputTokens },
  { name: 'tokensOut', meter: 'outputTokens', def: BUILTIN_METERS.outputTokens },
  { name: 'money', meter: 'cost', def: BUILTIN_METERS.cost },
  { name: 'apiCalls', meter: 'apiCalls', def: { scale: 0, kind: 'count', refusalCode: 'limit_exceeded' } },
  { name: 'cpuHours', meter: 'cpuHours', def: HOURS },
  { name: 'memoryGbHours', meter: 'memoryGbHours', def: HOURS },
  { name: 'storageGb', meter: 'storageGb', def: BUILTIN_METERS.storageGb },
];

export const FIELD_INDEX: Readonly<Record<CounterField, number>> = Object.fromEntries(FIELDS.map((f, i) => [f.name, i])) as Record<
  CounterField,
  number
>;

/** Key suffixes, short to keep keys small (100,000 pids × 11 counters). */
export const SUFFIX: readonly string[] = ['l', 't', 'h', 'i', 'ti', 'to', 'm', 'a', 'c', 'g', 's'];

/** The key prefix of a pid's counters (`|` and `%` escaped, so no pid's keys are a prefix of another's). */
export function pidPrefix(pid: string): string {
  const esc =
    pid.indexOf('|') < 0 && pid.indexOf('%') < 0 ? pid : pid.replace(/[%|]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `tk|${esc}|`;
}

/** The key of a user meter's counter under a pid prefix. */
export function meterKey(prefix: string, meter: string): string {
  return `${prefix}m:${meter}`;
}
