/**
 * What a tracked pid adds to a governed call's admission (`gov.guard()`): the pid's
 * counters, capped by its quota, reserved and charged by the governor's pipeline like any
 * other hard limit; or a refusal decided before the store is touched (time is up, or the
 * call asks for more tokens than one call may).
 */
import { scopeKey, type Scope } from '../core/index.js';
import type { TrackerContext } from './context.js';
import { FIELDS, SUFFIX } from './fields.js';
import type { PidState } from './pid-state.js';
import type { QuotaCap } from './quota.js';
import { observe } from './timeouts.js';

/** A counter of the pipeline's admission (the governor reads it as one of its plan counters). */
export interface TrackerCounter {
  readonly base: string;
  readonly meter: string;
  readonly scope: Scope;
  readonly scopeKey: string;
  readonly limits: readonly QuotaCap[];
  readonly cap: bigint | undefined;
  readonly capLimit: QuotaCap | undefined;
  readonly tracker: undefined;
  periodId: string;
  key: string;
  expiresAt: number | undefined;
  periodStart: number;
  periodEnd: number;
}

/** What a tracked pid adds to a governed call's admission. */
export interface TrackerAdmission {
  readonly pid: string;
  /** Counters to reserve and charge, tightest first. */
  readonly counters: readonly TrackerCounter[];
  /** Set when the call is refused before any store operation: its time is up or it asks for more tokens than one call may. */
  readonly refused: { readonly counter: TrackerCounter; readonly amount: bigint; readonly used: bigint } | undefined;
  /** The limiter user whose limits apply (the pid, when its quota has a `rateLimit`). */
  readonly rateLimitUser: string | undefined;
  /** @internal */
  readonly state: unknown;
}

/** The call-count field a call kind counts on (-1: none). */
const KIND_FIELD: Readonly<Record<string, number>> = { call: -1, llm: 0, tool: 1, agentHop: 2, iteration: 3 };
const KIND_SLOT: Readonly<Record<string, number>> = { call: 0, llm: 1, tool: 2, agentHop: 3, iteration: 4 };
/** Fields the pipeline charges on every call (the others only the tracker's own methods record). */
const PIPELINE_FIELDS = [4, 5, 6, 10];
const API_CALLS = 7;
/** Call-count fields whose calls are also API calls: llmCalls, toolCalls. */
const API_CALL_KINDS = [0, 1];

/** The admission of a call of `kind` on tracked pid `pid`, with the call's estimate by meter. */
export function admissionOf(
  ctx: TrackerContext,
  pid: string,
  st: PidState,
  kind: string,
  estimate: ReadonlyMap<string, bigint>,
): TrackerAdmission {
  const q = st.quota;
  const elapsedMs = observe(ctx, pid, st);
  const rateLimitUser = q.rateLimit === undefined ? undefined : pid;
  let refused: TrackerAdmission['refused'];
  if (elapsedMs >= q.deadlineMs) {
    refused = { counter: counter(ctx, st, pid, '', q.deadline), amount: 0n, used: BigInt(Math.floor(elapsedMs * 1000)) };
  } else {
    const input = estimate.get('inputTokens') ?? 0n;
    const output = estimate.get('outputTokens') ?? 0n;
    const per = q.perCall;
    const over =
      input > per.input.max ? per.input : output > per.output.max ? per.output : input + output > per.context.max ? per.context : undefined;
    if (over !== undefined) {
      const amount = over === per.input ? input : over === per.output ? output : input + output;
      refused = { counter: counter(ctx, st, pid, '', over), amount, used: 0n };
    }
  }
  const slot = KIND_SLOT[kind] ?? 0;
  const plans = (st.plans ??= []);
  const counters = plans[slot] ?? (plans[slot] = plan(ctx, st, pid, KIND_FIELD[kind] ?? -1));
  return { pid, counters, refused, rateLimitUser, state: st };
}

function counter(
  ctx: TrackerContext,
  st: PidState,
  pid: string,
  suffix: string,
  cap: QuotaCap | undefined,
  meter?: string,
): TrackerCounter {
  const scope = ctx.scopeOf(pid);
  const key = st.prefix + suffix;
  return {
    base: key,
    meter: meter ?? (cap as QuotaCap).meter,
    scope,
    scopeKey: scopeKey(scope),
    limits: cap === undefined ? [] : [cap],
    cap: cap?.max,
    capLimit: cap,
    tracker: undefined,
    periodId: '',
    key,
    expiresAt: undefined,
    periodStart: -Infinity,
    periodEnd: -Infinity,
  };
}

/** The admission counters of a call counting on `kindField` (-1: none): its call count, then tokens, money, storage and user meters. */
function plan(ctx: TrackerContext, st: PidState, pid: string, kindField: number): TrackerCounter[] {
  const q = st.quota;
  const out: TrackerCounter[] = [];
  if (kindField >= 0) out.push(counter(ctx, st, pid, SUFFIX[kindField] as string, q.caps[kindField], FIELDS[kindField]!.meter));
  // Seed 000's api_calls counts calls to paid services: an LLM or tool call is one. The counter follows the call count's
  // meter, so the pipeline reserves and charges it one per call.
  if (API_CALL_KINDS.includes(kindField))
    out.push(counter(ctx, st, pid, SUFFIX[API_CALLS] as string, q.caps[API_CALLS], FIELDS[kindField]!.meter));
  for (const i of PIPELINE_FIELDS) out.push(counter(ctx, st, pid, SUFFIX[i] as string, q.caps[i], FIELDS[i]!.meter));
  for (const m of ctx.userMeters) out.push(counter(ctx, st, pid, `m:${m}`, q.meterCaps.get(m), m));
  return out;
}
