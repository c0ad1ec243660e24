/**
 * Compute pricing (seeds 000 and 004): cpu core-hours, memory GB-hours, gpu-hours, storage
 * GB-months, bandwidth GB and sandbox execution-minutes. Durations count to the
 * millisecond; each component is an exact fraction of a pico-unit rounded up once, and a
 * total is the sum of its components, so breakdowns always add up.
 */
import { Decimal } from 'decimal.js';
import { ceilDiv, formatUnits, InvalidInputError, toUnits, unitsToDecimal, type MoneyInput } from '../core/index.js';
import { PLAIN, type Scaling } from './model-price.js';

/** Compute prices in currency units. */
export interface ComputePrices {
  /** Per cpu core-hour (default 0.05). */
  readonly cpuCoreHour?: MoneyInput;
  /** Per GB of memory held for an hour (default 0.01). */
  readonly memoryGbHour?: MoneyInput;
  /** Per gpu-hour (default 1.50). */
  readonly gpuHour?: MoneyInput;
  /** Per GB stored for a month (default 0.10). */
  readonly storageGbMonth?: MoneyInput;
  /** Per GB (10^9 bytes) transferred (default 0.12). */
  readonly bandwidthGb?: MoneyInput;
  /** Per minute of sandbox execution (default 0.002). */
  readonly sandboxMinute?: MoneyInput;
  /** Per GB of VM disk per hour, used by `calculateVmHourlyCost` (seed 000: 0.001). */
  readonly storageGbHour?: MoneyInput;
  /** Currency of these prices (default `'USD'`). */
  readonly currency?: string;
}

/** The defaults of seeds 000 and 004, in USD. */
export const COMPUTE_DEFAULTS = {
  cpuCoreHour: '0.05',
  memoryGbHour: '0.01',
  gpuHour: '1.50',
  storageGbMonth: '0.10',
  bandwidthGb: '0.12',
  sandboxMinute: '0.002',
  storageGbHour: '0.001',
} as const;

/** Seed 000's VM type multipliers. */
export const VM_TYPE_MULTIPLIERS: Readonly<Record<string, string>> = {
  standard: '1.0',
  hub: '1.2',
  high_memory: '1.5',
  compute_optimized: '1.3',
};

/** A compute resource type, as seed 004 names them. */
export type ResourceType = 'cpu' | 'memory' | 'gpu' | 'storage' | 'bandwidth' | 'sandbox';

/** The cost of one resource. `usage` is in `unit`. */
export interface ResourceCost {
  readonly resource: ResourceType;
  readonly cost: Decimal;
  readonly usage: Decimal;
  readonly unit: string;
}

/** A priced piece of compute: the total (sum of the components) and each component. */
export interface ComputeCost {
  readonly total: Decimal;
  readonly currency: string;
  readonly byResource: readonly ResourceCost[];
}

/** Compute usage in the pipeline's meter units (cpuSeconds etc. at scale 6, networkBytes whole). */
export interface ComputeUnits {
  cpuSeconds?: bigint | undefined;
  memoryGbSeconds?: bigint | undefined;
  gpuSeconds?: bigint | undefined;
  networkBytes?: bigint | undefined;
  sandboxSeconds?: bigint | undefined;
  storageGbMonths?: bigint | undefined;
}

interface Compiled {
  cpu: bigint;
  memory: bigint;
  gpu: bigint;
  storageMonth: bigint;
  bandwidth: bigint;
  sandbox: bigint;
  storageHour: bigint;
}

const MICRO = 1_000_000n;
const HOUR_MICROS = 3_600n * MICRO;
const MINUTE_MICROS = 60n * MICRO;
const GB = 1_000_000_000n;

/** How each compute meter is priced: its price per `per` units of the meter, and how its usage reads. */
const METERS: readonly {
  readonly field: keyof ComputeUnits;
  readonly resource: ResourceType;
  readonly price: keyof Compiled;
  readonly per: bigint;
  /** The meter is at scale 6 (micro-units): usage is shown in whole units. */
  readonly micro: boolean;
  readonly unit: string;
}[] = [
  { field: 'cpuSeconds', resource: 'cpu', price: 'cpu', per: HOUR_MICROS, micro: true, unit: 'core-second' },
  { field: 'memoryGbSeconds', resource: 'memory', price: 'memory', per: HOUR_MICROS, micro: true, unit: 'gb-second' },
  { field: 'gpuSeconds', resource: 'gpu', price: 'gpu', per: HOUR_MICROS, micro: true, unit: 'gpu-second' },
  { field: 'storageGbMonths', resource: 'storage', price: 'storageMonth', per: MICRO, micro: true, unit: 'gb-month' },
  { field: 'networkBytes', resource: 'bandwidth', price: 'bandwidth', per: GB, micro: false, unit: 'byte' },
  { field: 'sandboxSeconds', resource: 'sandbox', price: 'sandbox', per: MINUTE_MICROS, micro: true, unit: 'second' },
];

/** One resource's pico-units and usage, for the ledger and for breakdowns. */
export interface ResourceUnits {
  readonly resource: ResourceType;
  readonly units: bigint;
  /** Usage as a decimal string in `unit`. */
  readonly usage: string;
  readonly unit: string;
}

/** Compiled compute prices. */
export class ComputePricing {
  private readonly p: Compiled;
  readonly currency: string;

  constructor(
    prices: ComputePrices = {},
    private readonly scaling: Scaling = PLAIN,
    field = 'compute',
  ) {
    const get = (k: keyof typeof COMPUTE_DEFAULTS): bigint => toUnits(prices[k] ?? COMPUTE_DEFAULTS[k], `${field}.${k}`);
    this.p = {
      cpu: get('cpuCoreHour'),
      memory: get('memoryGbHour'),
      gpu: get('gpuHour'),
      storageMonth: get('storageGbMonth'),
      bandwidth: get('bandwidthGb'),
      sandbox: get('sandboxMinute'),
      storageHour: get('storageGbHour'),
    };
    this.currency = prices.currency ?? 'USD';
  }

  /** Round `num / den` pico-units up, after the currency conversion (the scaling maps pico × 1e6 to pico). */
  private pico(num: bigint, den: bigint): bigint {
    return ceilDiv(num * MICRO * this.scaling.mul, den * this.scaling.div);
  }

  /** Price compute meters (cpu/memory/gpu seconds at scale 6, bytes, sandbox seconds at scale 6, storage GB-months at scale 6). */
  units(u: ComputeUnits): ResourceUnits[] {
    const out: ResourceUnits[] = [];
    for (const m of METERS) {
      const v = u[m.field];
      if (v === undefined || v <= 0n) continue;
      out.push({ resource: m.resource, units: this.pico(v * this.p[m.price], m.per), usage: m.micro ? micro(v) : String(v), unit: m.unit });
    }
    return out;
  }

  /**
   * A sandbox run, exact: cores and MB at scale 6, duration in microseconds (whole
   * milliseconds). Memory MB → GB divides by 1,024, a finite decimal, so usages print exactly.
   */
  sandbox(cores: bigint, memoryMb: bigint, micros: bigint): ResourceUnits[] {
    const p = this.p;
    const coreUs = cores * micros; // core-seconds at scale 12
    const mbUs = memoryMb * micros; // MB-seconds at scale 12
    const out: ResourceUnits[] = [];
    if (coreUs > 0n)
      out.push({
        resource: 'cpu',
        units: this.pico(coreUs * p.cpu, HOUR_MICROS * MICRO),
        usage: formatUnits(coreUs, 12),
        unit: 'core-second',
      });
    if (mbUs > 0n)
      out.push({
        resource: 'memory',
        units: this.pico(mbUs * p.memory, HOUR_MICROS * MICRO * 1024n),
        // 1 / 1024 = 0.0009765625 exactly.
        usage: formatUnits(mbUs * 9_765_625n, 22),
        unit: 'gb-second',
      });
    if (micros > 0n)
      out.push({ resource: 'sandbox', units: this.pico(micros * p.sandbox, MINUTE_MICROS), usage: formatUnits(micros, 6), unit: 'second' });
    return out;
  }

  /** Seed 000's VM hourly cost: (cores × core-hour + GB × GB-hour + disk GB × disk GB-hour) × the VM type's multiplier. */
  vmHourly(cpuCores: bigint, memoryGb: bigint, storageGb: bigint, multiplier: bigint): bigint {
    // Quantities at scale 6, multiplier at scale 6: one exact fraction, rounded up once.
    const raw = (cpuCores * this.p.cpu + memoryGb * this.p.memory + storageGb * this.p.storageHour) * multiplier;
    return this.pico(raw, MICRO * MICRO);
  }
}

function micro(u: bigint): string {
  return unitsToDecimal(u, 6).toFixed();
}

/** Sum resource units into a {@link ComputeCost}. */
export function computeCost(parts: readonly ResourceUnits[], currency: string): ComputeCost {
  let total = 0n;
  for (const r of parts) total += r.units;
  return {
    total: unitsToDecimal(total),
    currency,
    byResource: parts.map((r) => ({ resource: r.resource, cost: unitsToDecimal(r.units), usage: new Decimal(r.usage), unit: r.unit })),
  };
}

/** A quantity at scale 6 (rounded up past it), refusing negatives and non-numbers with the field named. */
export function quantity(v: unknown, field: string): bigint {
  return toUnits(v, field, { scale: 6, roundUp: true });
}

/** Seconds to whole milliseconds (finer values rounded up), as microseconds. */
export function durationMicros(v: unknown, field: string): bigint {
  const ms = toUnits(v, field, { scale: 3, roundUp: true });
  return ms * 1000n;
}

/** A VM type's multiplier at scale 6, or `invalid_input` naming the known types. */
export function vmMultiplier(types: Readonly<Record<string, bigint>>, vmType: unknown, field: string): bigint {
  const m = typeof vmType === 'string' ? types[vmType] : undefined;
  if (m === undefined) throw new InvalidInputError(field, `must be one of ${Object.keys(types).join(', ')}`, vmType);
  return m;
}
