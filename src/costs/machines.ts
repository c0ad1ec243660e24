/**
 * Machine selection (seed 000): pick the machine type with the best success per unit of
 * cost from recorded runs, within the caller's constraints. Scores are exact Decimals.
 */
import { Decimal } from 'decimal.js';
import { InvalidInputError, toUnits, unitsToDecimal, type MoneyInput } from '../core/index.js';

/** A machine type one can run work on. */
export interface MachineType {
  readonly cpuCores: number;
  readonly memoryGb: number;
  readonly storageGb: number;
  /** One of the VM types with a multiplier (`standard`, `hub`, `high_memory`, `compute_optimized`, or your own). */
  readonly vmType: string;
  readonly gpus?: number | undefined;
  /** Words or patterns that make a prompt a good fit for this machine (seed 000's prompt compatibility). */
  readonly promptKeywords?: readonly string[] | undefined;
}

/** The machine types used when none are configured (documented in docs/costs.md). */
export const DEFAULT_MACHINE_TYPES: Readonly<Record<string, MachineType>> = {
  'standard-2': { cpuCores: 2, memoryGb: 4, storageGb: 20, vmType: 'standard' },
  'standard-4': { cpuCores: 4, memoryGb: 8, storageGb: 40, vmType: 'standard' },
  'high-memory-4': { cpuCores: 4, memoryGb: 32, storageGb: 40, vmType: 'high_memory', promptKeywords: ['dataset', 'dataframe', 'index'] },
  'compute-8': { cpuCores: 8, memoryGb: 16, storageGb: 40, vmType: 'compute_optimized', promptKeywords: ['compile', 'build', 'benchmark'] },
  'hub-2': { cpuCores: 2, memoryGb: 4, storageGb: 20, vmType: 'hub', promptKeywords: ['coordinate', 'orchestrate'] },
};

/** With no history, a machine is assumed to succeed this often (Laplace's rule: (0 + 1) / (0 + 2)). */
export const PRIOR_SUCCESS_RATE = '0.5';
/** How much a prompt that matches a machine's keywords multiplies its score. */
export const PROMPT_MATCH_BOOST = '1.5';

/** Limits a chosen machine must respect. */
export interface MachineConstraints {
  readonly maxHourlyCost?: MoneyInput | undefined;
  readonly minCpuCores?: number | undefined;
  readonly minMemoryGb?: number | undefined;
  readonly minStorageGb?: number | undefined;
  readonly minGpus?: number | undefined;
  /** Only these VM types. */
  readonly vmTypes?: readonly string[] | undefined;
  /** Only these machine types. */
  readonly machineTypes?: readonly string[] | undefined;
}

/** One finished run on a machine type. */
export interface MachineRun {
  readonly machineType: string;
  readonly success: boolean;
  /** What the run cost. */
  readonly cost: MoneyInput;
}

/** How a machine type scored. */
export interface MachineScore {
  readonly machineType: string;
  readonly score: Decimal;
  readonly successRate: Decimal;
  /** Mean cost of a recorded run, or the hourly cost (one hour) without history. */
  readonly averageCost: Decimal;
  readonly hourlyCost: Decimal;
  readonly runs: number;
  readonly promptMatch: boolean;
}

/** The answer of `selectMachine`: the best type and every candidate's score, best first. */
export interface MachineChoice {
  readonly machineType: string;
  /** `history` when the winner has recorded runs, else `defaults`. */
  readonly basis: 'history' | 'defaults';
  readonly candidates: readonly MachineScore[];
}

interface History {
  runs: number;
  successes: number;
  cost: bigint;
}

/** Recorded runs per machine type and the scoring of seed 000's `select_resource_efficient_machine`. */
export class MachineSelector {
  private readonly history = new Map<string, History>();

  constructor(
    private readonly types: Readonly<Record<string, MachineType>>,
    private readonly hourly: (m: MachineType) => bigint,
  ) {}

  /** Record a finished run. */
  record(run: MachineRun): void {
    if (run === null || typeof run !== 'object') throw new InvalidInputError('run', 'must be an object', run);
    if (this.types[run.machineType] === undefined)
      throw new InvalidInputError('run.machineType', `must be one of ${Object.keys(this.types).join(', ')}`, run.machineType);
    if (typeof run.success !== 'boolean') throw new InvalidInputError('run.success', 'must be a boolean', run.success);
    const cost = toUnits(run.cost, 'run.cost', { roundUp: true });
    const h = this.history.get(run.machineType) ?? { runs: 0, successes: 0, cost: 0n };
    h.runs++;
    if (run.success) h.successes++;
    h.cost += cost;
    this.history.set(run.machineType, h);
  }

  /** Pick the machine type with the best (success rate / average cost) × prompt match, within `constraints`. */
  select(constraints: MachineConstraints = {}, prompt?: string): MachineChoice {
    if (constraints === null || typeof constraints !== 'object')
      throw new InvalidInputError('constraints', 'must be an object', constraints);
    if (prompt !== undefined && typeof prompt !== 'string') throw new InvalidInputError('prompt', 'must be a string', prompt);
    const maxHourly = constraints.maxHourlyCost === undefined ? undefined : toUnits(constraints.maxHourlyCost, 'constraints.maxHourlyCost');
    const min = (v: unknown, field: string): number => {
      if (v === undefined) return 0;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InvalidInputError(field, 'must be a non-negative number', v);
      return v;
    };
    const minCpu = min(constraints.minCpuCores, 'constraints.minCpuCores');
    const minMem = min(constraints.minMemoryGb, 'constraints.minMemoryGb');
    const minDisk = min(constraints.minStorageGb, 'constraints.minStorageGb');
    const minGpus = min(constraints.minGpus, 'constraints.minGpus');
    const text = prompt?.toLowerCase();
    const scores: MachineScore[] = [];
    for (const [name, m] of Object.entries(this.types)) {
      if (constraints.machineTypes !== undefined && !constraints.machineTypes.includes(name)) continue;
      if (constraints.vmTypes !== undefined && !constraints.vmTypes.includes(m.vmType)) continue;
      if (m.cpuCores < minCpu || m.memoryGb < minMem || m.storageGb < minDisk || (m.gpus ?? 0) < minGpus) continue;
      const hourly = this.hourly(m);
      if (maxHourly !== undefined && hourly > maxHourly) continue;
      const h = this.history.get(name);
      const successRate = new Decimal((h?.successes ?? 0) + 1).div((h?.runs ?? 0) + 2);
      const averageCost = h === undefined || h.runs === 0 ? unitsToDecimal(hourly) : unitsToDecimal(h.cost).div(h.runs);
      const promptMatch = text !== undefined && (m.promptKeywords ?? []).some((k) => text.includes(k.toLowerCase()));
      // A free machine has infinite efficiency; scored by its success rate alone among free ones.
      const efficiency = averageCost.isZero() ? successRate.mul('1e30') : successRate.div(averageCost);
      const score = promptMatch ? efficiency.mul(PROMPT_MATCH_BOOST) : efficiency;
      scores.push({
        machineType: name,
        score,
        successRate,
        averageCost,
        hourlyCost: unitsToDecimal(hourly),
        runs: h?.runs ?? 0,
        promptMatch,
      });
    }
    if (scores.length === 0) throw new InvalidInputError('constraints', 'leave no machine type to choose from', constraints);
    scores.sort((a, b) => b.score.comparedTo(a.score) || a.machineType.localeCompare(b.machineType));
    const best = scores[0] as MachineScore;
    return { machineType: best.machineType, basis: best.runs > 0 ? 'history' : 'defaults', candidates: scores };
  }

  /** Recorded history, as plain JSON. */
  toJSON(): Record<string, { runs: number; successes: number; cost: string }> {
    const out: Record<string, { runs: number; successes: number; cost: string }> = {};
    for (const [k, h] of this.history) out[k] = { runs: h.runs, successes: h.successes, cost: unitsToDecimal(h.cost).toFixed() };
    return out;
  }
}
