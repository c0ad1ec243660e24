import { describe, expect, it } from 'vitest';
import { TypedEvents } from '../src/core/index.js';

type Events = {
  tick: { n: number };
  done: { ok: boolean };
};

function setup(): { events: TypedEvents<Events>; faults: Array<[unknown, string]> } {
  const faults: Array<[unknown, string]> = [];
  const events = new TypedEvents<Events>((error, event) => {
    faults.push([error, event]);
  });
  return { events, faults };
}

/** Let pending promise reactions run. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('TypedEvents.on', () => {
  it('delivers payloads to listeners in subscription order', () => {
    const { events, faults } = setup();
    const seen: string[] = [];
    events.on('tick', (p) => seen.push(`a${p.n}`));
    events.on('tick', (p) => seen.push(`b${p.n}`));
    events.on('done', (p) => seen.push(`done:${p.ok}`));
    events.emit('tick', { n: 1 });
    events.emit('tick', { n: 2 });
    events.emit('done', { ok: true });
    expect(seen).toEqual(['a1', 'b1', 'a2', 'b2', 'done:true']);
    expect(faults).toEqual([]);
  });

  it('passes the very payload object', () => {
    const { events } = setup();
    const payload = { n: 7 };
    let got: unknown;
    events.on('tick', (p) => {
      got = p;
    });
    events.emit('tick', payload);
    expect(got).toBe(payload);
  });

  it('returns a disposer that unsubscribes (and is safe to call twice)', () => {
    const { events } = setup();
    const seen: number[] = [];
    const dispose = events.on('tick', (p) => seen.push(p.n));
    events.emit('tick', { n: 1 });
    dispose();
    events.emit('tick', { n: 2 });
    dispose();
    events.emit('tick', { n: 3 });
    expect(seen).toEqual([1]);
  });

  it('disposing one subscription leaves the others', () => {
    const { events } = setup();
    const seen: string[] = [];
    const listener = (p: { n: number }): void => {
      seen.push(`l${p.n}`);
    };
    const d1 = events.on('tick', listener);
    events.on('tick', listener);
    events.on('tick', (p) => seen.push(`o${p.n}`));
    events.emit('tick', { n: 1 });
    d1();
    events.emit('tick', { n: 2 });
    expect(seen).toEqual(['l1', 'l1', 'o1', 'l2', 'o2']);
  });

  it('emitting with no listeners does nothing', () => {
    const { events, faults } = setup();
    expect(() => events.emit('done', { ok: false })).not.toThrow();
    expect(faults).toEqual([]);
  });
});

describe('TypedEvents.once', () => {
  it('fires once', () => {
    const { events } = setup();
    const seen: number[] = [];
    events.once('tick', (p) => seen.push(p.n));
    events.emit('tick', { n: 1 });
    events.emit('tick', { n: 2 });
    expect(seen).toEqual([1]);
    expect(events.has('tick')).toBe(false);
  });

  it('its disposer cancels it before it fires', () => {
    const { events } = setup();
    const seen: number[] = [];
    const dispose = events.once('tick', (p) => seen.push(p.n));
    expect(events.has('tick')).toBe(true);
    dispose();
    expect(events.has('tick')).toBe(false);
    events.emit('tick', { n: 1 });
    expect(seen).toEqual([]);
  });

  it('a throwing once-listener is reported and still removed', () => {
    const { events, faults } = setup();
    const boom = new Error('boom');
    let calls = 0;
    events.once('tick', () => {
      calls++;
      throw boom;
    });
    events.emit('tick', { n: 1 });
    events.emit('tick', { n: 2 });
    expect(calls).toBe(1);
    expect(faults).toEqual([[boom, 'tick']]);
    expect(faults[0]?.[0]).toBe(boom);
  });
});

describe('TypedEvents.next', () => {
  it('resolves with the next payload', async () => {
    const { events } = setup();
    const p = events.next('tick');
    expect(events.has('tick')).toBe(true);
    const payload = { n: 42 };
    events.emit('tick', payload);
    events.emit('tick', { n: 43 });
    await expect(p).resolves.toBe(payload);
    expect(events.has('tick')).toBe(false);
  });

  it('only the event asked for resolves it', async () => {
    const { events } = setup();
    const p = events.next('done');
    events.emit('tick', { n: 1 });
    events.emit('done', { ok: true });
    await expect(p).resolves.toEqual({ ok: true });
  });

  it('rejects with the reason when the signal aborts, and unsubscribes', async () => {
    const { events } = setup();
    const ac = new AbortController();
    const reason = new Error('stop waiting');
    const p = events.next('tick', ac.signal);
    expect(events.has('tick')).toBe(true);
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(events.has('tick')).toBe(false);
  });

  it('a signal aborted after the payload arrived changes nothing', async () => {
    const { events } = setup();
    const ac = new AbortController();
    const p = events.next('tick', ac.signal);
    events.emit('tick', { n: 5 });
    ac.abort(new Error('late'));
    await expect(p).resolves.toEqual({ n: 5 });
  });

  it('rejects at once when the signal is already aborted', async () => {
    const { events } = setup();
    const reason = new Error('already aborted');
    const p = events.next('tick', AbortSignal.abort(reason));
    const outcome = await Promise.race([
      p.then(
        () => 'resolved',
        (e: unknown) => e,
      ),
      new Promise((resolve) => setTimeout(() => resolve('still pending after 50 ms'), 50)),
    ]);
    expect(outcome).toBe(reason);
    expect(events.has('tick')).toBe(false);
  });
});

describe('listener faults', () => {
  it('a throwing listener is reported with the event name and does not stop the others', () => {
    const { events, faults } = setup();
    const seen: string[] = [];
    const boom = new Error('listener broke');
    events.on('tick', (p) => seen.push(`first${p.n}`));
    events.on('tick', () => {
      throw boom;
    });
    events.on('tick', (p) => seen.push(`third${p.n}`));
    expect(() => events.emit('tick', { n: 1 })).not.toThrow();
    expect(seen).toEqual(['first1', 'third1']);
    expect(faults).toEqual([[boom, 'tick']]);
    expect(faults[0]?.[0]).toBe(boom);
  });

  it('a thrown non-Error value is reported as is', () => {
    const { events, faults } = setup();
    events.on('done', () => {
      throw 'just a string';
    });
    events.emit('done', { ok: false });
    expect(faults).toEqual([['just a string', 'done']]);
  });

  it('a rejecting async listener is reported with the event name and does not stop the others', async () => {
    const { events, faults } = setup();
    const seen: number[] = [];
    const bad = new Error('async listener broke');
    events.on('done', async () => {
      await Promise.resolve();
      throw bad;
    });
    events.on('done', () => seen.push(1));
    events.emit('done', { ok: true });
    expect(seen).toEqual([1]);
    expect(faults).toEqual([]);
    await settle();
    expect(faults).toEqual([[bad, 'done']]);
    expect(faults[0]?.[0]).toBe(bad);
  });

  it('a resolving async listener reports nothing', async () => {
    const { events, faults } = setup();
    let done = false;
    events.on('tick', async () => {
      await Promise.resolve();
      done = true;
    });
    events.emit('tick', { n: 1 });
    await settle();
    expect(done).toBe(true);
    expect(faults).toEqual([]);
  });

  it('a throwing error handler is swallowed', async () => {
    const events = new TypedEvents<Events>(() => {
      throw new Error('handler broke too');
    });
    const seen: number[] = [];
    events.on('tick', () => {
      throw new Error('listener broke');
    });
    events.on('tick', async () => {
      throw new Error('async listener broke');
    });
    events.on('tick', (p) => seen.push(p.n));
    expect(() => events.emit('tick', { n: 9 })).not.toThrow();
    await settle();
    expect(seen).toEqual([9]);
  });
});

describe('TypedEvents.has and clear', () => {
  it('has() reflects the listeners of each event', () => {
    const { events } = setup();
    expect(events.has('tick')).toBe(false);
    expect(events.has('done')).toBe(false);
    const d1 = events.on('tick', () => undefined);
    const d2 = events.on('tick', () => undefined);
    expect(events.has('tick')).toBe(true);
    expect(events.has('done')).toBe(false);
    d1();
    expect(events.has('tick')).toBe(true);
    d2();
    expect(events.has('tick')).toBe(false);
  });

  it('clear() removes every listener', () => {
    const { events } = setup();
    const seen: string[] = [];
    events.on('tick', () => seen.push('tick'));
    events.on('done', () => seen.push('done'));
    events.clear();
    expect(events.has('tick')).toBe(false);
    expect(events.has('done')).toBe(false);
    events.emit('tick', { n: 1 });
    events.emit('done', { ok: true });
    expect(seen).toEqual([]);
  });
});
