/**
 * What a tracker keeps in memory for one tracked pid: its compiled quota, where its
 * counters are, when its time started, and which one-shot events it has fired.
 */
import type { TrackerCounter } from './admission.js';
import type { Deadline } from './deadline.js';
import type { CompiledQuota } from './quota.js';

/** One tracked pid (internal). */
export interface PidState {
  quota: CompiledQuota;
  /** The allocation's generation in the store (see allocation.ts). */
  generation: number;
  /** Key prefix of the generation's counters. */
  prefix: string;
  /** Monotonic ms at allocation (translated from the stored epoch start when another tracker allocated it). */
  started: number;
  /** Bit 1: soft timeout warned; bit 2: timeout violation emitted. */
  flags: number;
  deadline: Deadline | undefined;
  /** Admission counters by call kind, built on first use. */
  plans: (TrackerCounter[] | undefined)[] | undefined;
  /** Set while the allocation record is being read or written over an asynchronous store. */
  ready: Promise<void> | undefined;
  readonly operationType: string | undefined;
  readonly complexity: number | undefined;
}

export const SOFT_WARNED = 1;
export const TIMED_OUT = 2;
