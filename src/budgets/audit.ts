/**
 * Seed 001's audit log: every change of a budget is a `budget.changed` ledger record
 * (written by the engine's audit path); this reads them back as `AuditRecord`s.
 */
import { Decimal } from 'decimal.js';
import { InvalidInputError, validateId, type Scope } from '../core/index.js';
import type { LedgerEntry } from '../storage/index.js';
import type { BudgetHost } from './host.js';
import { checkOptions } from './options.js';
import type { AuditQuery, AuditRecord } from './types.js';

/** The audit log: every change of a budget (set, allocate, rebalance, emergency, reset, top-up), oldest first. */
export async function getAuditLog(host: BudgetHost, query: AuditQuery = {}): Promise<{ records: AuditRecord[]; next: string | undefined }> {
  checkOptions(query, ['agent', 'pool', 'budget', 'from', 'to', 'limit', 'cursor'], 'query');
  if (query.agent !== undefined && query.pool !== undefined)
    throw new InvalidInputError('query.pool', 'must not be given with query.agent', query.pool);
  const scope: Scope | undefined =
    query.agent !== undefined
      ? { agent: validateId(query.agent, 'query.agent') }
      : query.pool !== undefined
        ? { pool: validateId(query.pool, 'query.pool') }
        : undefined;
  const page = await host.queryLedger({
    kinds: ['budget.changed'],
    scope,
    from: query.from,
    to: query.to,
    limit: query.limit,
    cursor: query.cursor,
  });
  const records = page.entries.map(auditRecord).filter((r) => query.budget === undefined || r.budget === query.budget);
  return { records, next: page.next };
}

function auditRecord(e: LedgerEntry): AuditRecord {
  const d = (e.data ?? {}) as Record<string, unknown>;
  const dec = (v: unknown): Decimal | null => (typeof v === 'string' ? new Decimal(v) : null);
  return {
    id: e.id,
    at: e.at,
    budget: String(d.limit),
    scope: e.scope,
    before: dec(d.before),
    after: dec(d.after),
    delta: new Decimal(typeof d.delta === 'string' ? d.delta : '0'),
    reason: String(d.reason ?? ''),
    action: typeof d.action === 'string' ? d.action : undefined,
    actor: typeof d.actor === 'string' ? d.actor : undefined,
    currency: e.currency,
  };
}
