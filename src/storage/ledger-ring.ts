/**
 * The MemoryStore's ledger: a ring of the newest `max` entries, oldest dropped first.
 *
 * A governed call's entry is kept field by field, in one column per field, not as the object
 * the governor built (see {@link LedgerRing.pushFields}). Kept objects are what made a long
 * ledger expensive: each outlived V8's young generation, so every minor GC copied the entries
 * made since the last one and then promoted them, and major GCs traced the whole ring. With
 * the default 100,000 entries that cost more than the rest of a governed call. In columns, an
 * entry writes references to strings and objects it shares with every other call of its kind
 * (scope, model, usage text, cost text) plus its own id, and two numbers into double arrays.
 * A read builds the entry again, a plain object with the same fields in the same order.
 *
 * An entry given by other code (`appendLedger`, audit records, a `commit` by a user) is kept as
 * the object it is: it may carry fields this ring has no column for.
 */
import type { Scope } from '../core/index.js';
import type { LedgerEntry, LedgerStatus } from './store.js';

type Usage = LedgerEntry['usage'];
type Data = LedgerEntry['data'];

export class LedgerRing {
  /** Sequence number of the oldest kept entry. */
  start = 0;
  /** Entries ever appended. */
  count = 0;
  // One column per field; a slot is seq % max. `objects[slot]` is set when the entry was kept whole.
  private readonly objects: (LedgerEntry | undefined)[] = [];
  private readonly ids: string[] = [];
  private readonly ats: number[] = [];
  private readonly kinds: string[] = [];
  private readonly statuses: LedgerStatus[] = [];
  private readonly scopes: Scope[] = [];
  private readonly names: (string | undefined)[] = [];
  private readonly providers: (string | undefined)[] = [];
  private readonly models: (string | undefined)[] = [];
  private readonly usages: Usage[] = [];
  private readonly costs: string[] = [];
  private readonly currencies: string[] = [];
  private readonly estimates: (boolean | undefined)[] = [];
  /** NaN: no duration (a double column stays unboxed only while it holds numbers alone). */
  private readonly durations: number[] = [];
  private readonly codes: (string | undefined)[] = [];
  private readonly messages: (string | undefined)[] = [];
  private readonly datas: Data[] = [];

  constructor(private readonly max: number) {}

  get size(): number {
    return this.count - this.start;
  }

  /** Keep `e` as the object it is. */
  push(e: LedgerEntry): void {
    const slot = this.next();
    if (slot === this.objects.length) {
      this.objects.push(e);
      this.ids.push('');
      this.ats.push(0);
      this.kinds.push('');
      this.statuses.push('ok');
      this.scopes.push(EMPTY_SCOPE);
      this.names.push(undefined);
      this.providers.push(undefined);
      this.models.push(undefined);
      this.usages.push(EMPTY_USAGE);
      this.costs.push('');
      this.currencies.push('');
      this.estimates.push(undefined);
      this.durations.push(NaN);
      this.codes.push(undefined);
      this.messages.push(undefined);
      this.datas.push(undefined);
      return;
    }
    this.objects[slot] = e;
    // Let go of what the slot's earlier entry held.
    this.ids[slot] = '';
    this.scopes[slot] = EMPTY_SCOPE;
    this.usages[slot] = EMPTY_USAGE;
    this.messages[slot] = undefined;
    this.datas[slot] = undefined;
  }

  /**
   * Keep a governed call's entry by its fields. Only for entries built with exactly the fields
   * of {@link LedgerEntry} (the governor's): anything else would be lost.
   */
  pushFields(e: LedgerEntry): void {
    const slot = this.next();
    if (slot === this.objects.length) {
      this.objects.push(undefined);
      this.ids.push(e.id);
      this.ats.push(e.at);
      this.kinds.push(e.kind);
      this.statuses.push(e.status);
      this.scopes.push(e.scope);
      this.names.push(e.name);
      this.providers.push(e.provider);
      this.models.push(e.model);
      this.usages.push(e.usage);
      this.costs.push(e.cost);
      this.currencies.push(e.currency);
      this.estimates.push(e.estimated);
      this.durations.push(e.durationMs ?? NaN);
      this.codes.push(e.code);
      this.messages.push(e.message);
      this.datas.push(e.data);
      return;
    }
    this.objects[slot] = undefined;
    this.ids[slot] = e.id;
    this.ats[slot] = e.at;
    this.kinds[slot] = e.kind;
    this.statuses[slot] = e.status;
    this.scopes[slot] = e.scope;
    this.names[slot] = e.name;
    this.providers[slot] = e.provider;
    this.models[slot] = e.model;
    this.usages[slot] = e.usage;
    this.costs[slot] = e.cost;
    this.currencies[slot] = e.currency;
    this.estimates[slot] = e.estimated;
    this.durations[slot] = e.durationMs ?? NaN;
    this.codes[slot] = e.code;
    this.messages[slot] = e.message;
    this.datas[slot] = e.data;
  }

  // Reads by sequence number, start <= seq < count; the filters of a query read single fields.
  at(seq: number): number {
    const slot = seq % this.max;
    return this.objects[slot]?.at ?? (this.ats[slot] as number);
  }

  kind(seq: number): string {
    const slot = seq % this.max;
    return this.objects[slot]?.kind ?? (this.kinds[slot] as string);
  }

  status(seq: number): LedgerStatus {
    const slot = seq % this.max;
    return this.objects[slot]?.status ?? (this.statuses[slot] as LedgerStatus);
  }

  scope(seq: number): Scope {
    const slot = seq % this.max;
    return this.objects[slot]?.scope ?? (this.scopes[slot] as Scope);
  }

  /** The entry `seq`: the object kept, or a new one with the fields of the columns (the governor's key order). */
  entry(seq: number): LedgerEntry {
    const slot = seq % this.max;
    const o = this.objects[slot];
    if (o !== undefined) return o;
    const d = this.durations[slot] as number;
    return {
      id: this.ids[slot] as string,
      at: this.ats[slot] as number,
      kind: this.kinds[slot] as string,
      status: this.statuses[slot] as LedgerStatus,
      scope: this.scopes[slot] as Scope,
      name: this.names[slot],
      provider: this.providers[slot],
      model: this.models[slot],
      usage: this.usages[slot] as Usage,
      cost: this.costs[slot] as string,
      currency: this.currencies[slot] as string,
      estimated: this.estimates[slot],
      durationMs: Number.isNaN(d) ? undefined : d,
      code: this.codes[slot],
      message: this.messages[slot],
      data: this.datas[slot],
    };
  }

  /** The slot of the next entry, dropping the oldest when the ring is full. */
  private next(): number {
    const slot = this.count % this.max;
    this.count++;
    if (this.count - this.start > this.max) this.start++;
    return slot;
  }
}

const EMPTY_SCOPE: Scope = Object.freeze({});
const EMPTY_USAGE: Usage = Object.freeze({});
