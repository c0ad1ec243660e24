/**
 * The statistics behind the reports: nearest-rank percentiles, a log-bucketed latency
 * sketch for windows too large to keep every value, and ordinary least squares with
 * Student-t prediction intervals for the forecasts. Pure functions over numbers.
 */

/** Nearest-rank percentile of ascending `sorted`: the smallest value with at least `p`% of values at or below it. */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

/** Relative accuracy of the latency sketch: a reported percentile is within 1 % of a true value of the window. */
export const SKETCH_ACCURACY = 0.01;
const GAMMA = (1 + SKETCH_ACCURACY) / (1 - SKETCH_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
/** Values below this (ms) fall in the zero bucket. */
const SKETCH_MIN = 1e-3;

/** The zero bucket's number in {@link sketchBucket}. */
export const ZERO_BUCKET = -1_000_000;

/** The sketch bucket of a latency in ms as a number ({@link ZERO_BUCKET} for ~0), as DDSketch indexes them. */
export function sketchBucket(ms: number): number {
  return ms >= SKETCH_MIN ? Math.ceil(Math.log(ms) / LOG_GAMMA) : ZERO_BUCKET;
}

/** The sketch bucket of a latency in ms as its field suffix (`'z'` for ~0). */
export function sketchIndex(ms: number): string {
  const b = sketchBucket(ms);
  return b === ZERO_BUCKET ? 'z' : String(b);
}

/** The value a sketch bucket stands for: within {@link SKETCH_ACCURACY} of every value in it. */
export function sketchValue(index: string): number {
  if (index === 'z') return 0;
  const i = Number(index);
  return (2 * GAMMA ** i) / (GAMMA + 1);
}

/** Nearest-rank percentile from sketch counts (bucket index → count). */
export function sketchPercentile(counts: ReadonlyMap<string, number>, p: number): number | null {
  const buckets = [...counts].filter(([, c]) => c > 0).sort((a, b) => sketchValue(a[0]) - sketchValue(b[0]));
  let n = 0;
  for (const [, c] of buckets) n += c;
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  let seen = 0;
  for (const [i, c] of buckets) {
    seen += c;
    if (seen >= rank) return sketchValue(i);
  }
  return null;
}

// ---- least squares --------------------------------------------------------------------

/** Solve `A x = b` by Gaussian elimination with partial pivoting; undefined when singular. */
function solve(a: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i] as number]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[piv]![c]!)) piv = r;
    if (Math.abs(m[piv]![c]!) < 1e-12) return undefined;
    [m[c], m[piv]] = [m[piv]!, m[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      if (f === 0) continue;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

/** Invert a symmetric positive-definite matrix column by column. */
function invert(a: number[][]): number[][] | undefined {
  const n = a.length;
  const cols: number[][] = [];
  for (let j = 0; j < n; j++) {
    const e = Array.from({ length: n }, (_, i) => (i === j ? 1 : 0));
    const x = solve(a, e);
    if (x === undefined) return undefined;
    cols.push(x);
  }
  return Array.from({ length: n }, (_, i) => cols.map((c) => c[i] as number));
}

/** An ordinary least squares fit. */
export interface LeastSquaresFit {
  readonly coefficients: readonly number[];
  /** (XᵀX)⁻¹ */
  readonly xtxInverse: readonly (readonly number[])[];
  /** Residual standard error `sqrt(SSR / (n − p))`. */
  readonly sigma: number;
  readonly degreesOfFreedom: number;
}

/** Fit `y ≈ X β` by least squares (normal equations); undefined when X is rank-deficient or n ≤ p. */
export function leastSquares(x: readonly (readonly number[])[], y: readonly number[]): LeastSquaresFit | undefined {
  const n = y.length;
  const p = x[0]?.length ?? 0;
  if (n <= p || p === 0) return undefined;
  const xtx = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const xty = new Array<number>(p).fill(0);
  for (let r = 0; r < n; r++) {
    const row = x[r] as readonly number[];
    for (let i = 0; i < p; i++) {
      xty[i]! += row[i]! * y[r]!;
      for (let j = 0; j < p; j++) xtx[i]![j]! += row[i]! * row[j]!;
    }
  }
  const inv = invert(xtx);
  if (inv === undefined) return undefined;
  const beta = inv.map((row) => row.reduce((s, v, j) => s + v * xty[j]!, 0));
  let ssr = 0;
  for (let r = 0; r < n; r++) {
    const e = y[r]! - dot(x[r] as readonly number[], beta);
    ssr += e * e;
  }
  return { coefficients: beta, xtxInverse: inv, sigma: Math.sqrt(ssr / (n - p)), degreesOfFreedom: n - p };
}

/** Dot product. */
export function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** `uᵀ M v` */
export function quadratic(u: readonly number[], m: readonly (readonly number[])[], v: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < u.length; i++) s += u[i]! * dot(m[i] as readonly number[], v);
  return s;
}

// ---- Student's t ----------------------------------------------------------------------

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9): ~15 significant digits.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0] as number;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularized incomplete beta (Numerical Recipes `betacf`). */
function betacf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

function incompleteBeta(a: number, b: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betacf(a, b, x)) / a : 1 - (front * betacf(b, a, 1 - x)) / b;
}

/** The CDF of Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(df / 2, 0.5, x);
  return t >= 0 ? 1 - tail : tail;
}

/** The `q` quantile of Student's t (q in (0.5, 1)), by bisection on the CDF to 1e-10. */
export function studentTQuantile(q: number, df: number): number {
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < q) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-10; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
