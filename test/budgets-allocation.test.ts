// The allocation strategies of seeds 000 and 001 as pure functions, against the seeds' own figures.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allocateByGreediness,
  allocateByPriority,
  allocateDynamic,
  allocateFixed,
  Decimal,
  InvalidInputError,
  readjustGreediness,
  rebalance,
  type AllocationResult,
} from 'agent-governor';
import { distributeUnits } from '../src/budgets/index.js';
import { invalid } from './helpers.js';

const fixed = (r: AllocationResult): Record<string, string> =>
  Object.fromEntries(Object.entries(r.allocations).map(([k, v]) => [k, v.toFixed()]));

describe('fixed and dynamic allocation (seed 001)', () => {
  it('fixed keeps each amount and sums them', () => {
    const r = allocateFixed([
      { id: 'a', amount: '100.0' },
      { id: 'b', amount: new Decimal('0.000000000001') },
    ]);
    expect(fixed(r)).toEqual({ a: '100', b: '0.000000000001' });
    expect(r.distributed.toFixed()).toBe('100.000000000001');
  });

  it('dynamic is the average recent usage × 1.2, never below the base, the base without history', () => {
    expect(allocateDynamic(['10', '20', '30'], '5').toFixed()).toBe('24');
    expect(allocateDynamic(['10', '20', '30'], '50.0').toFixed()).toBe('50');
    expect(allocateDynamic([], '50.0').toFixed()).toBe('50');
    // 4/3 × 1.2 = 1.6 exactly: the division happens once, after the multiplication.
    expect(allocateDynamic(['1', '1', '2'], '0').toFixed()).toBe('1.6');
    expect(allocateDynamic(['1', '1', '2'], '0', '1.5').toFixed()).toBe('2');
    // 1/3 × 1 rounds half up at the money scale.
    expect(allocateDynamic(['1', '0', '0'], '0', 1).toFixed()).toBe('0.333333333333');
    expect(allocateDynamic(['2', '0', '0'], '0', 1).toFixed()).toBe('0.666666666667');
  });
});

describe('priority-based allocation (seed 001)', () => {
  const team = [
    { id: 'a', priority: 9 },
    { id: 'b', priority: 8 },
    { id: 'c', priority: 5 },
    { id: 'd', priority: 3 },
  ];

  it('gives critical agents (>= 8) 50 first, then shares the rest by priority; the sum is exactly what is available', () => {
    const r = allocateByPriority(team, '200');
    // 200 - 2 × 50 = 100 shared 9:8:5:3 (of 25) = 36, 32, 20, 12.
    expect(fixed(r)).toEqual({ a: '86', b: '82', c: '20', d: '12' });
    expect([r.distributed.toFixed(), r.undistributed.toFixed(), r.notes]).toEqual(['200', '0', []]);
  });

  it('never allocates more than available: minimums cut short in priority order, and it says so', () => {
    const r = allocateByPriority(
      [
        { id: 'a', priority: 9 },
        { id: 'b', priority: 8 },
        { id: 'c', priority: 10 },
        { id: 'd', priority: 2 },
      ],
      '120',
    );
    expect(fixed(r)).toEqual({ a: '50', b: '20', c: '50', d: '0' });
    expect(r.distributed.toFixed()).toBe('120');
    expect(r.notes).toEqual([
      'minimums of 150 for 3 critical agents exceed the 120 available: critical agents were served in priority order and nothing was left for the others',
    ]);
  });

  it('hands the rounding remainder out deterministically, to the earlier entry on ties', () => {
    const r = allocateByPriority(
      ['x', 'y', 'z'].map((id) => ({ id, priority: 1 })),
      '100',
    );
    expect(fixed(r)).toEqual({ x: '33.333333333334', y: '33.333333333333', z: '33.333333333333' });
    expect(r.distributed.toFixed()).toBe('100');
    expect(fixed(allocateByPriority(team, '100', { minimum: '10', criticalPriority: 9 }))).toEqual({
      a: '42.4',
      b: '28.8',
      c: '18',
      d: '10.8',
    });
  });

  it.each([
    ['priority 0', [{ id: 'a', priority: 0 }], '10', 'agents[0].priority'],
    ['priority 11', [{ id: 'a', priority: 11 }], '10', 'agents[0].priority'],
    ['fractional priority', [{ id: 'a', priority: 2.5 }], '10', 'agents[0].priority'],
    [
      'duplicate ids',
      [
        { id: 'a', priority: 1 },
        { id: 'a', priority: 2 },
      ],
      '10',
      'agents[1].id',
    ],
    ['negative available', [{ id: 'a', priority: 1 }], '-1', 'available'],
    ['NaN available', [{ id: 'a', priority: 1 }], Number.NaN, 'available'],
  ])('refuses %s naming the field', (_name, agents, available, field) => {
    expect(invalid(() => allocateByPriority(agents, available as string)).field).toBe(field);
  });
});

describe('greediness (seed 000)', () => {
  it('turns the biweekly 42 into 3 a day and shares every resource by greediness, exactly as in the seed', () => {
    const r = allocateByGreediness(
      [
        { id: 'autovibe-core', greediness: 0.42 },
        { id: 'crypto-profit', greediness: 0.1 },
        { id: 'the-rest', greediness: 0.48 },
      ],
      { money: { amount: '42.0', days: 14 }, computeHours: 24, apiCalls: 1000, storageGb: 500 },
    );
    const show = (id: string): string[] => {
      const s = r.shares[id]!;
      return [s.money.toFixed(), s.computeHours.toFixed(), s.apiCalls.toFixed(), s.storageGb.toFixed()];
    };
    expect(show('autovibe-core')).toEqual(['1.26', '10.08', '420', '210']);
    expect(show('crypto-profit')).toEqual(['0.3', '2.4', '100', '50']);
    expect(show('the-rest')).toEqual(['1.44', '11.52', '480', '240']);
    expect(r.daily.money.toFixed()).toBe('3');
    expect(r.notes).toEqual([]);
  });

  it('shares sum exactly to the daily total, whole API calls included, and says when a multi-day budget did not divide', () => {
    const r = allocateByGreediness(
      [
        { id: 'a', greediness: '0.3' },
        { id: 'b', greediness: '0.3' },
        { id: 'c', greediness: '0.3' },
      ],
      { money: { amount: '10', days: 3 }, apiCalls: 100 },
    );
    const money = Object.values(r.shares).map((s) => s.money.toFixed());
    const calls = Object.values(r.shares).map((s) => s.apiCalls.toFixed());
    expect(money).toEqual(['1.111111111111', '1.111111111111', '1.111111111111']);
    expect(calls).toEqual(['34', '33', '33']);
    expect(r.daily.money.toFixed()).toBe('3.333333333333');
    expect(r.notes).toEqual(["money 10 over 3 days was rounded down to a day's 3.333333333333"]);
  });

  it('refuses greediness outside 0.0–1.0 and a bad day count', () => {
    expect(invalid(() => allocateByGreediness([{ id: 'a', greediness: 1.5 }], { money: 1 })).field).toBe('projects[0].greediness');
    expect(invalid(() => allocateByGreediness([{ id: 'a', greediness: -0.1 }], { money: 1 })).field).toBe('projects[0].greediness');
    expect(invalid(() => allocateByGreediness([{ id: 'a', greediness: 0.5 }], { money: { amount: 1, days: 0 } })).field).toBe(
      'totals.money.days',
    );
  });

  it('readjusts greediness toward efficiency: 80/20 blend, bounded to 0.01–1.0', () => {
    const r = readjustGreediness([
      { id: 'a', greediness: '0.5', efficiency: 3 },
      { id: 'b', greediness: '0.5', efficiency: 1 },
      { id: 'c', greediness: '0.01', efficiency: 0 },
    ]);
    // a: 0.8 × 0.5 + 0.2 × (0.8 × 3/4) = 0.52; b: 0.4 + 0.2 × 0.2 = 0.44; c: 0.008 → floor bound 0.01.
    expect(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.toFixed()]))).toEqual({ a: '0.52', b: '0.44', c: '0.01' });
    const third = readjustGreediness([
      { id: 'a', greediness: '0.3', efficiency: 1 },
      { id: 'b', greediness: '0.3', efficiency: 2 },
    ]);
    expect([third.a!.toFixed(), third.b!.toFixed()]).toEqual(['0.293333333333', '0.346666666667']);
  });
});

describe('rebalance (seed 001)', () => {
  it('weighs 70 % priority and 30 % average usage (1.0 without history) over the remaining budget', () => {
    const r = rebalance(
      [
        { id: 'a', priority: 8, averageUsage: '2' },
        { id: 'b', priority: 4 },
      ],
      '90',
    );
    // 0.7 × 8 + 0.3 × 2 = 6.2 and 0.7 × 4 + 0.3 × 1 = 3.1: two thirds and one third.
    expect(fixed(r)).toEqual({ a: '60', b: '30' });
    expect(r.distributed.toFixed()).toBe('90');
  });
});

describe('ratio inputs (multiplier, greediness, efficiency, averageUsage)', () => {
  it('refuses malformed strings and non-numbers with invalid_input naming the field', () => {
    const cases: [() => unknown, string, unknown][] = [
      [() => allocateDynamic(['1'], '1', 'abc'), 'multiplier', 'abc'],
      [() => allocateDynamic(['1'], '1', '0x10'), 'multiplier', '0x10'],
      [() => allocateDynamic(['1'], '1', null as unknown as string), 'multiplier', null],
      [() => allocateByGreediness([{ id: 'a', greediness: 'lots' }], { money: 1 }), 'projects[0].greediness', 'lots'],
      [() => readjustGreediness([{ id: 'a', greediness: 1, efficiency: 'x' }]), 'projects[0].efficiency', 'x'],
      [() => rebalance([{ id: 'a', priority: 1, averageUsage: {} as unknown as string }], 1), 'agents[0].averageUsage', {}],
    ];
    for (const [fn, field, value] of cases) {
      const e = invalid(fn);
      expect(e.field).toBe(field);
      expect(e.value).toEqual(value);
    }
    expect(allocateDynamic(['10'], '1', ' 1.5 ').toFixed()).toBe('15');
  });
});

describe('allocation arguments', () => {
  it('refuse non-arrays, unknown and malformed options with invalid_input naming the field', () => {
    const cases: [() => unknown, string][] = [
      [() => allocateFixed(null as unknown as []), 'agents'],
      [() => allocateFixed([{ id: 'a\n', amount: 1 }]), 'agents[0].id'],
      [() => allocateDynamic('x' as unknown as [], '1'), 'history'],
      [() => allocateByPriority([{ id: 'a', priority: 1 }], 1, { minimun: 5 } as unknown as {}), 'options.minimun'],
      [() => allocateByPriority([{ id: 'a', priority: 1 }], 1, null as unknown as {}), 'options'],
      [() => allocateByGreediness([{ id: 'a', greediness: 1 }], null as unknown as {}), 'totals'],
      [() => allocateByGreediness([{ id: 'a', greediness: 1 }], { money: 1, compute: 2 } as unknown as {}), 'totals.compute'],
      [() => allocateByGreediness([{ id: 'a', greediness: 1 }], { money: null } as unknown as {}), 'totals.money'],
      [
        () => allocateByGreediness([{ id: 'a', greediness: 1 }], { money: { amount: 1, days: 2, weeks: 1 } } as unknown as {}),
        'totals.money.weeks',
      ],
    ];
    for (const [fn, field] of cases) expect(invalid(fn).field).toBe(field);
  });
});

describe('distributeUnits', () => {
  it('sums exactly to the total and each share is within one unit of its exact proportion', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 18n }),
        fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.bigInt({ min: 1n, max: 10n ** 6n })), { minLength: 1, maxLength: 12 }),
        (total, weights) => {
          const shares = distributeUnits(total, weights);
          const anyWeight = weights.some(([n]) => n > 0n);
          const sum = shares.reduce((s, x) => s + x, 0n);
          expect(sum).toBe(anyWeight ? total : 0n);
          // share × Σw vs total × w, on a common denominator.
          let lcm = 1n;
          const g = (a: bigint, b: bigint): bigint => (b === 0n ? a : g(b, a % b));
          for (const [, d] of weights) lcm = (lcm / g(lcm, d)) * d;
          const ints = weights.map(([n, d]) => n * (lcm / d));
          const W = ints.reduce((s, w) => s + w, 0n);
          if (W === 0n) return;
          shares.forEach((s, i) => {
            const diff = s * W - total * (ints[i] as bigint);
            expect(diff > -W && diff < W).toBe(true);
          });
        },
      ),
    );
  });

  it('is an InvalidInputError family member for bad amounts', () => {
    expect(() => allocateFixed([{ id: 'a', amount: 'lots' }])).toThrow(InvalidInputError);
  });
});
