/**
 * A pid's allocation as the store keeps it, so trackers sharing a store agree on it: its
 * generation, when it started (epoch ms) and its quota when it is not the default one.
 * One versioned value per pid (`tk|<pid>|@`), changed only by compare-and-set.
 *
 * The generation names the pid's counters (`tk|<pid>|<generation>|<field>`): a release
 * ends a generation and the next allocate starts the next one on fresh counters, so a
 * call still running when its pid was released charges the old generation, never the
 * usage a re-allocated pid starts from.
 */
import type { VersionedValue } from '../storage/index.js';
import { pidPrefix } from './fields.js';

/** What the store holds for a pid. */
export interface AllocationRecord {
  /** Generation (0 for the first allocation). */
  readonly generation: number;
  /** Epoch ms of the allocation. */
  readonly startedAt: number;
  readonly released: boolean;
  /** The resolved quota, when it is not the trackers' default. */
  readonly quota: Readonly<Record<string, unknown>> | undefined;
}

/** The key of a pid's allocation record. */
export function allocationKey(pid: string): string {
  return `${pidPrefix(pid)}@`;
}

/** The key prefix of a generation's counters. */
export function generationPrefix(pid: string, generation: number): string {
  return `${pidPrefix(pid)}${generation.toString(36)}|`;
}

/** `<generation>|<startedAt>|<0|1>[|<quota JSON>]`: small, because every pid ever allocated keeps one. */
export function encodeAllocation(r: AllocationRecord): string {
  const head = `${r.generation}|${r.startedAt}|${r.released ? 1 : 0}`;
  return r.quota === undefined ? head : `${head}|${JSON.stringify(r.quota)}`;
}

/** The record in a stored value, or undefined when there is none (or it is not one of ours). */
export function decodeAllocation(v: VersionedValue | undefined): AllocationRecord | undefined {
  if (v === undefined || v.version === 0) return undefined;
  const s = v.value;
  const a = s.indexOf('|');
  const b = s.indexOf('|', a + 1);
  if (a < 0 || b < 0) return undefined;
  const generation = Number(s.slice(0, a));
  const startedAt = Number(s.slice(a + 1, b));
  if (!Number.isSafeInteger(generation) || !Number.isFinite(startedAt)) return undefined;
  const released = s.charAt(b + 1) === '1';
  let quota: Record<string, unknown> | undefined;
  if (s.length > b + 2) {
    try {
      quota = JSON.parse(s.slice(b + 3)) as Record<string, unknown>;
    } catch {
      quota = undefined;
    }
  }
  return { generation, startedAt, released, quota };
}
