/**
 * What a tracker keeps in memory for one tracked pid: its compiled quota, where its
 * counters are, when its time started, and which one-shot events it has fired.
 */
import type { Deadline } from './deadline.js';
import type { TrackerCounter } from './admission.js';
import type { CompiledQuota } from './quota.js';

/** One tracked pid (internal). */
export interface PidState {
  quota: CompiledQuota;
  /** Key prefix of the pid's counters. */
  readonly prefix: string;
  /** Monotonic ms at allocation. */
  readonly started: number;
  /** Bit 1: soft timeout warned; bit 2: timeout violation emitted. */
  flags: number;
  deadline: Deadline | undefined;
  /** Admission counters by call kind, built on first use. */
  plans: (TrackerCounter[] | undefined)[] | undefined;
  readonly operationType: string | undefined;
  readonly complexity: number | undefined;
}

export const SOFT_WARNED = 1;
export const TIMED_OUT = 2;
