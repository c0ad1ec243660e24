/**
 * The MemoryStore's ledger: a ring of the newest `max` entries, oldest dropped first.
 *
 * A governed call's entry is kept field by field, in one column per field, not as the object
 * the governor built (see {@link LedgerRing.pushFields}). Kept objects are what made a long
 * ledger expensive: each outlived V8's young generation, so every minor GC copied the entries
 * made since the last one and then promoted them, and major GCs traced the whole ring. With
 * the default 100,000 entries that cost more than the rest of a governed call. Here an entry
 * is its id, its time and duration (in double arrays) and a reference to a {@link Shape}: the
 * fields it shares with the calls like it (scope, model, usage text, cost text, ...). A read
 * builds the entry again, a plain object with the same fields in the same order.
 *
 * A call that reported its usage has a usage record and a cost text of its own (token counts
 * differ call after call): kept, they would be garbage that outlives the young generation again.
 * The governor hands their units along ({@link CallUnits}), and the ring keeps them as numbers:
 * the cost in a double column, the usage as up to {@link USAGE_SLOTS} doubles in a typed array
 * plus a shared {@link UsageLayout} (the meters, in the record's key order, and their scales).
 *
 * An entry given by other code (`appendLedger`, audit records, a `commit` by a user) is kept as
 * the object it is: it may carry fields this ring has no column for.
 */
import { formatUnits, type Scope } from '../core/index.js';
import type { LedgerEntry, LedgerStatus } from './store.js';

type Usage = LedgerEntry['usage'];
type Data = LedgerEntry['data'];

/** Most meters in a usage record kept as numbers; a record with more is kept as it is. */
export const USAGE_SLOTS = 8;

/** The meters of a usage record, in its key order, and the scale of each (as formatUnits takes it). */
export interface UsageLayout {
  readonly meters: readonly string[];
  readonly scales: readonly number[];
}

/**
 * The units behind an entry's `usage` and `cost` texts: `values[i]` of `layout.meters[i]`, each
 * below 2^53 (exact as a double), at most USAGE_SLOTS of them. The governor fills one object
 * call after call; the ring copies what it needs.
 */
export interface CallUnits {
  readonly layout: UsageLayout;
  readonly values: readonly number[];
  readonly cost: number;
}

/**
 * An entry's id when it is `prefix + seq.toString(36)` (the governor's ids): the ring keeps
 * the number and shares the prefix. The governor fills one object call after call.
 */
export interface CallId {
  readonly prefix: string;
  readonly seq: number;
}

/**
 * What a governed call's entry shares with the calls like it: every field but its id, time
 * and duration. Consecutive calls of one kind mostly share all of them, so one Shape serves
 * many entries and an entry costs the ring three writes and no allocation.
 */
interface Shape {
  readonly kind: string;
  readonly status: LedgerStatus;
  readonly scope: Scope;
  readonly name: string | undefined;
  readonly provider: string | undefined;
  readonly model: string | undefined;
  /** Undefined when the entries keep their usage and cost as numbers (see CallUnits). */
  readonly usage: Usage | undefined;
  readonly cost: string | undefined;
  readonly currency: string;
  readonly estimated: boolean | undefined;
  readonly code: string | undefined;
  readonly message: string | undefined;
  readonly data: Data;
  /** The prefix of the entries' ids when they are kept as numbers (see CallId). */
  readonly idPrefix: string | undefined;
}

export class LedgerRing {
  /** Sequence number of the oldest kept entry. */
  start = 0;
  /** Entries ever appended. */
  count = 0;
  // A slot is seq % max. An entry kept whole is in `objects`; one kept by field has
  // `objects[slot]` undefined and its fields in the other columns.
  private readonly objects: (LedgerEntry | undefined)[] = [];
  private readonly shapes: (Shape | undefined)[] = [];
  /** An id kept as text; '' when it is kept as a number in `seqs`. */
  private readonly ids: string[] = [];
  /**
   * The number of an id kept as one (see CallId), else NaN. A call's id string lives as long
   * as its entry: in a ring of 100,000, each outlived the young generation and was copied
   * and promoted, about a tenth of a governed call.
   */
  private readonly seqs: number[] = [];
  private readonly ats: number[] = [];
  /** NaN: no duration (a double column stays unboxed only while it holds numbers alone). */
  private readonly durations: number[] = [];
  /** Set for an entry kept with its units: then its cost is in `costs` and its usage in `values`. */
  private readonly layouts: (UsageLayout | undefined)[] = [];
  private readonly costs: number[] = [];
  /** USAGE_SLOTS doubles per slot, grown as the ring fills. */
  private values = new Float64Array(0);
  private last: Shape | undefined = undefined;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.count - this.start;
  }

  /** Keep `e` as the object it is. */
  push(e: LedgerEntry): void {
    const slot = this.next();
    if (slot === this.objects.length) {
      this.objects.push(e);
      this.shapes.push(undefined);
      this.ids.push('');
      this.seqs.push(NaN);
      this.ats.push(0.5);
      this.durations.push(NaN);
      this.layouts.push(undefined);
      this.costs.push(NaN);
      return;
    }
    this.objects[slot] = e;
    // Let go of what the slot's earlier entry held.
    this.shapes[slot] = undefined;
    this.ids[slot] = '';
    this.layouts[slot] = undefined;
  }

  /**
   * Keep a governed call's entry by its fields. Only for entries built with exactly the fields
   * of {@link LedgerEntry} (the governor's): anything else would be lost. `units`: the units
   * behind `e.usage` and `e.cost` (their texts are formatUnits of them), to keep as numbers.
   * `id`: `e.id` as prefix and number, to keep as a number.
   */
  pushFields(e: LedgerEntry, units?: CallUnits, id?: CallId): void {
    const shape = this.shapeOf(e, units !== undefined, id?.prefix);
    const slot = this.next();
    const layout = units?.layout;
    if (slot === this.objects.length) {
      this.objects.push(undefined);
      this.shapes.push(shape);
      this.ids.push(id === undefined ? e.id : '');
      this.seqs.push(id === undefined ? NaN : id.seq);
      this.ats.push(e.at);
      this.durations.push(e.durationMs ?? NaN);
      this.layouts.push(layout);
      this.costs.push(units === undefined ? NaN : units.cost);
    } else {
      if (this.objects[slot] !== undefined) this.objects[slot] = undefined;
      if (this.shapes[slot] !== shape) this.shapes[slot] = shape;
      if (id === undefined) {
        this.ids[slot] = e.id;
        this.seqs[slot] = NaN;
      } else {
        if (this.ids[slot] !== '') this.ids[slot] = '';
        this.seqs[slot] = id.seq;
      }
      this.ats[slot] = e.at;
      this.durations[slot] = e.durationMs ?? NaN;
      if (this.layouts[slot] !== layout) this.layouts[slot] = layout;
      if (units !== undefined) this.costs[slot] = units.cost;
    }
    if (units !== undefined) {
      const base = slot * USAGE_SLOTS;
      if (base >= this.values.length) this.grow(slot);
      const v = this.values;
      const from = units.values;
      const n = (layout as UsageLayout).meters.length;
      for (let i = 0; i < n; i++) v[base + i] = from[i] as number;
    }
  }

  // Reads by sequence number, start <= seq < count; the filters of a query read single fields.
  at(seq: number): number {
    const slot = seq % this.max;
    return this.objects[slot]?.at ?? (this.ats[slot] as number);
  }

  kind(seq: number): string {
    const slot = seq % this.max;
    return this.objects[slot]?.kind ?? (this.shapes[slot] as Shape).kind;
  }

  status(seq: number): LedgerStatus {
    const slot = seq % this.max;
    return this.objects[slot]?.status ?? (this.shapes[slot] as Shape).status;
  }

  scope(seq: number): Scope {
    const slot = seq % this.max;
    return this.objects[slot]?.scope ?? (this.shapes[slot] as Shape).scope;
  }

  /** The entry `seq`: the object kept, or a new one with the fields of the columns (the governor's key order). */
  entry(seq: number): LedgerEntry {
    const slot = seq % this.max;
    const o = this.objects[slot];
    if (o !== undefined) return o;
    const s = this.shapes[slot] as Shape;
    const d = this.durations[slot] as number;
    const layout = this.layouts[slot];
    const n = this.seqs[slot] as number;
    return {
      id: Number.isNaN(n) ? (this.ids[slot] as string) : (s.idPrefix as string) + n.toString(36),
      at: this.ats[slot] as number,
      kind: s.kind,
      status: s.status,
      scope: s.scope,
      name: s.name,
      provider: s.provider,
      model: s.model,
      usage: layout === undefined ? (s.usage as Usage) : this.usageAt(slot, layout),
      cost: layout === undefined ? (s.cost as string) : formatUnits(BigInt(this.costs[slot] as number)),
      currency: s.currency,
      estimated: s.estimated,
      durationMs: Number.isNaN(d) ? undefined : d,
      code: s.code,
      message: s.message,
      data: s.data,
    };
  }

  /** The usage record of a slot kept with its units. */
  private usageAt(slot: number, layout: UsageLayout): Usage {
    const out: Record<string, string> = {};
    const base = slot * USAGE_SLOTS;
    for (let i = 0; i < layout.meters.length; i++) {
      out[layout.meters[i] as string] = formatUnits(BigInt(this.values[base + i] as number), layout.scales[i]);
    }
    return out;
  }

  /** Room for the values of `slot`: the array doubles, up to the ring's size. */
  private grow(slot: number): void {
    const slots = Math.min(this.max, Math.max(1024, (slot + 1) * 2));
    const next = new Float64Array(slots * USAGE_SLOTS);
    next.set(this.values);
    this.values = next;
  }

  /**
   * The last shape if `e` has all its fields (by identity), else a new one. `numeric`: its
   * usage and cost are kept as units, so they are not part of the shape. `idPrefix`: its id
   * is kept as a number after this prefix.
   */
  private shapeOf(e: LedgerEntry, numeric: boolean, idPrefix: string | undefined): Shape {
    const usage = numeric ? undefined : e.usage;
    const cost = numeric ? undefined : e.cost;
    const l = this.last;
    if (
      l !== undefined &&
      l.usage === usage &&
      l.cost === cost &&
      l.scope === e.scope &&
      l.status === e.status &&
      l.kind === e.kind &&
      l.model === e.model &&
      l.name === e.name &&
      l.provider === e.provider &&
      l.currency === e.currency &&
      l.estimated === e.estimated &&
      l.code === e.code &&
      l.message === e.message &&
      l.data === e.data &&
      l.idPrefix === idPrefix
    ) {
      return l;
    }
    return (this.last = {
      kind: e.kind,
      status: e.status,
      scope: e.scope,
      name: e.name,
      provider: e.provider,
      model: e.model,
      usage,
      cost,
      currency: e.currency,
      estimated: e.estimated,
      code: e.code,
      message: e.message,
      data: e.data,
      idPrefix,
    });
  }

  /** The slot of the next entry, dropping the oldest when the ring is full. */
  private next(): number {
    const slot = this.count % this.max;
    this.count++;
    if (this.count - this.start > this.max) this.start++;
    return slot;
  }
}
