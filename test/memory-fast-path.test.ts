// The governor reserves and commits on its default MemoryStore at the time it already read
// (one clock read less per call). A store whose reserve or commit was replaced — a spy, a
// subclass — must still be called through its own methods.
import { describe, expect, it, vi } from 'vitest';
import { createGovernor, MemoryStore, type CommitRequest, type ReserveRequest } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

const budget = [{ id: 'b', scope: { project: 'p' }, amount: '1' }];
const call = { scope: { project: 'p' }, estimate: { cost: '0.25' } };

describe('the MemoryStore fast path', () => {
  it('calls a spied reserve and commit, with the same requests as the fast path would make', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const reserve = vi.spyOn(store, 'reserve');
    const commit = vi.spyOn(store, 'commit');
    const gov = createGovernor({ clock, store, budgets: budget });
    await gov.guard(call, (ctx) => ctx.report({ cost: '0.1' }));
    expect(reserve).toHaveBeenCalledTimes(1);
    expect(commit).toHaveBeenCalledTimes(1);
    expect((reserve.mock.calls[0]![0] as ReserveRequest).counters).toEqual([
      expect.objectContaining({ amount: 250_000_000_000n, cap: 1_000_000_000_000n }),
    ]);
    expect((commit.mock.calls[0]![0] as CommitRequest).counters).toEqual([expect.objectContaining({ amount: 100_000_000_000n })]);
    expect((await gov.getStatus({ project: 'p' }))[0]!.used.toFixed()).toBe('0.1');
  });

  it('calls a subclass’s reserve and commit', async () => {
    const seen: string[] = [];
    class Audited extends MemoryStore {
      override reserve(r: ReserveRequest) {
        seen.push('reserve');
        return super.reserve(r);
      }
      override commit(r: CommitRequest) {
        seen.push('commit');
        return super.commit(r);
      }
    }
    const clock = new ManualClock();
    const gov = createGovernor({ clock, store: new Audited({ clock }), budgets: budget });
    await gov.guard(call, () => 1);
    await gov.guard(call, () => 1);
    expect(seen).toEqual(['reserve', 'commit', 'reserve', 'commit']);
  });
});
