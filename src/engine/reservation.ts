/**
 * A reservation: the estimate held on every limit of a call until it is settled at the
 * actual usage, released, or its lease runs out. `guard()` handles one for you; streams
 * and callbacks use `gov.reserve()` and settle it themselves.
 */
import type { Decimal } from 'decimal.js';
import { GovernorError, type Scope } from '../core/index.js';
import type { LedgerEntry } from '../storage/index.js';
import type { ServiceLevel } from '../budgets/index.js';
import type { UsageReport } from './request.js';

/** What a settle charged. */
export interface SettleResult {
  /** Money charged, in `currency`. */
  readonly cost: Decimal;
  readonly currency: string;
  /** Usage per meter, as decimal strings. */
  readonly usage: { readonly [meter: string]: string };
  /** True when some figure was taken from the estimate rather than reported. */
  readonly estimated: boolean;
  /** True when the lease had already expired: the usage still counts, but nothing was held any more. */
  readonly leaseExpired: boolean;
  readonly durationMs: number;
  readonly entry: LedgerEntry;
}

/** How a usage report is to be read. */
export interface ReportOptions {
  /** The figures are estimates (e.g. tokens counted from the text a cut stream delivered): the ledger entry says `estimated: true`. */
  readonly estimated?: boolean | undefined;
}

/** How a reservation reaches back into the pipeline. */
export interface ReservationOwner {
  settleReservation(r: Reservation, status: 'ok' | 'error', error?: unknown): SettleResult | PromiseLike<SettleResult>;
  releaseReservation(r: Reservation, error?: unknown): boolean | PromiseLike<boolean>;
  validateReport(r: Reservation, usage: UsageReport, field: string): void;
}

/** An open reservation. Also the context object a guarded function receives. */
export class Reservation {
  /** Units reported so far (last value per meter wins), or undefined when nothing was reported. */
  reported: Map<string, bigint> | undefined;
  reportedModel: string | undefined;
  /** The agent's service level when the call was admitted, if the agent has service levels (`gov.budgets.setServiceLevels`). */
  serviceLevel: ServiceLevel | undefined = undefined;
  /** True when a report said its figures are themselves estimates (a cut stream's tokens counted from its text). */
  reportedEstimated = false;
  private state: 'open' | 'closed' = 'open';

  constructor(
    private readonly owner: ReservationOwner,
    /** The reservation id (also the ledger entry id). */
    readonly id: string,
    /** The scope of the call. */
    readonly scope: Scope,
    /** Epoch ms when the hold expires by itself. */
    readonly expiresAt: number,
    /** The call's abort signal, if any. */
    readonly signal: AbortSignal | undefined,
    /** Internal: the prepared request and admission data. */
    readonly internal: unknown,
  ) {}

  /** True until settled or released. */
  get open(): boolean {
    return this.state === 'open';
  }

  /**
   * Report usage so far (cumulative figures: the last value reported per meter wins).
   * Validated at once: bad figures throw `invalid_input` here, and nothing is recorded.
   */
  report(usage: UsageReport, options?: ReportOptions): void {
    this.assertOpen('report');
    this.owner.validateReport(this, usage, 'usage');
    if (options?.estimated === true) this.reportedEstimated = true;
  }

  /** Commit at the actual usage (the reported figures merged with `usage`), release the rest, write the ledger. */
  settle(usage?: UsageReport, options?: ReportOptions): Promise<SettleResult> {
    try {
      this.assertOpen('settle');
      if (usage !== undefined) this.owner.validateReport(this, usage, 'usage');
    } catch (e) {
      return Promise.reject(e);
    }
    if (options?.estimated === true) this.reportedEstimated = true;
    // Closed at once: a second settle is refused even while this one is still being written.
    this.state = 'closed';
    return settled(() => this.owner.settleReservation(this, 'ok'));
  }

  /** Release the hold without charging (reported usage, if any, is still charged: it was spent). */
  release(): Promise<boolean> {
    if (this.state !== 'open') return Promise.resolve(false);
    this.state = 'closed';
    return settled(() => this.owner.releaseReservation(this));
  }

  /** Internal: settle on the pipeline's success path; synchronous when the store is. */
  settleNow(): SettleResult | PromiseLike<SettleResult> {
    this.state = 'closed';
    return this.owner.settleReservation(this, 'ok');
  }

  /** Internal: close on the pipeline's failure path: charge what was reported, else release. */
  fail(error: unknown): unknown {
    if (this.state !== 'open') return undefined;
    this.state = 'closed';
    return this.reported !== undefined ? this.owner.settleReservation(this, 'error', error) : this.owner.releaseReservation(this, error);
  }

  private assertOpen(what: string): void {
    if (this.state !== 'open') {
      throw new GovernorError(
        'reservation_closed',
        `reservation_closed: cannot ${what} reservation ${this.id}: it is already settled or released`,
      );
    }
  }
}

/** A value, a promise or a throw of `f`, as a promise. */
function settled<T>(f: () => T | PromiseLike<T>): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e);
  }
}
