/**
 * Gradient checks: analytic gradients of a plan against central finite differences of its own
 * loss in float64, either every entry (`full`) or one random direction (`direction`, the
 * dot-product test ⟨u, ∇E⟩ ≈ (E(θ + εu) − E(θ − εu)) / 2ε, as JAX's `check_grads` does).
 *
 * In `direction` mode the difference is Richardson-extrapolated (steps ε and ε/2, ε = 1e-3), so
 * its truncation error is O(ε⁴) and its rounding error small even for losses summed over
 * thousands of steps.
 *
 * An entry agrees when |analytic − numeric| ≤ atol + rtol · max(|analytic|, |numeric|).
 * Central differences have truncation error O(ε²) and rounding error O(u·|E|/ε); with ε = 1e-6
 * in float64 both stay near 1e-10 for losses of order 1, so the float64 defaults are tight
 * (rtol 1e-6). A float32 analytic gradient carries single-precision rounding (u ≈ 6e-8) that
 * grows with T and the sizes: its defaults are rtol 1e-3, atol 1e-4, said here rather than
 * failing spuriously.
 *
 * The rounding part of a central difference is not relative to the derivative but to the loss:
 * about 2⁻⁵² · |E| / ε. For a loss summed over thousands of steps it can exceed rtol times a
 * small derivative, so that bound (times 8) is added to atol: a disagreement smaller than the
 * finite difference can resolve is not reported as a wrong gradient.
 */
import { issue, LoopgradError } from './errors';
import { compile, type Batch, type ParamValues } from './plan';
import type { Dtype } from './program';
import { mulberry32, uniformArray } from './random';
import { numel } from './shape';
import type { Unrolled } from './unroll';

/** Options of {@link gradcheck}. @since 0.1.0 @category model */
export interface GradcheckOptions {
  /**
   * `full`: every entry (central differences with step `eps`); `direction`: one random unit
   * direction (fast, for large cases), with Richardson extrapolation of central differences at
   * steps `eps` and `eps / 2`. Default `full`.
   */
  readonly mode?: 'full' | 'direction';
  /** The dtype of the analytic gradient under test; finite differences are always float64. */
  readonly dtype?: Dtype;
  /** Finite-difference step; default 1e-6 in `full` mode, 1e-3 in `direction` mode. */
  readonly eps?: number;
  readonly rtol?: number;
  readonly atol?: number;
  /** Seed of the random direction. */
  readonly seed?: number;
  /** Also check ∂E/∂inputs and ∂E/∂s_0 (default true). */
  readonly inputs?: boolean;
  /** Most mismatches listed in the report (default 20). */
  readonly maxReported?: number;
}

/** One disagreeing entry, named by parameter, index and (for inputs) time step. @since 0.1.0 @category model */
export interface Mismatch {
  /** A param name, `inputs`, or `initialState.<field>`. */
  readonly name: string;
  /** Flat index into the named array. */
  readonly index: number;
  /** The same index as a multi-index: [row, col] for matrices, [t, b, i] for inputs. */
  readonly at: readonly number[];
  /** The gate the entry belongs to, for the built-in GRU and LSTM stacked weights. */
  readonly gate?: string;
  readonly analytic: number;
  readonly numeric: number;
  readonly relError: number;
}

/** What a gradient check found. @since 0.1.0 @category model */
export interface GradcheckReport {
  readonly ok: boolean;
  readonly mode: 'full' | 'direction';
  readonly dtype: Dtype;
  /** Entries compared (1 in direction mode). */
  readonly checked: number;
  /** Largest |a − n| / max(|a|, |n|, atol′ / rtol) seen, atol′ = atol + the rounding floor. */
  readonly maxRelError: number;
  readonly rtol: number;
  readonly atol: number;
  readonly mismatches: readonly Mismatch[];
}

/** Default tolerances by dtype of the analytic gradient. @since 0.1.0 @category constants */
export const defaultTolerances = {
  float64: { rtol: 1e-6, atol: 1e-8 },
  float32: { rtol: 1e-3, atol: 1e-4 },
} as const;

const gateNames: Readonly<Record<string, readonly string[]>> = { gru: ['r', 'z', 'n'], lstm: ['i', 'f', 'g', 'o'] };

const multiIndex = (i: number, shape: readonly number[]): number[] => {
  const at: number[] = [];
  for (let k = shape.length - 1; k >= 0; k--) {
    at.unshift(i % shape[k]!);
    i = Math.floor(i / shape[k]!);
  }
  return at;
};

/**
 * Checks a plan's analytic gradients against finite differences at the given params and
 * batch. Nothing passed in is mutated.
 *
 * ```ts
 * const report = gradcheck(unroll(cell, { steps: 5, readout: { output: 2 } }), params, batch);
 * if (!report.ok) console.log(formatGradcheck(report));
 * ```
 * @since 0.1.0
 * @category destructors
 */
export const gradcheck = <PN extends string, SN extends string>(
  u: Unrolled<PN, SN>,
  params: ParamValues<PN>,
  batch: Batch<SN>,
  options: GradcheckOptions = {},
): GradcheckReport => {
  const mode = options.mode ?? 'full';
  const dtype = options.dtype ?? 'float64';
  const { rtol, atol } = { ...defaultTolerances[dtype], ...options };
  const eps = options.eps ?? (mode === 'full' ? 1e-6 : 1e-3);
  const perExample = u.steps * u.inputSize;
  const B = batch.inputs.length / perExample;
  if (!Number.isSafeInteger(B) || B < 1) {
    throw new LoopgradError([issue('InputError', ['batch', 'inputs'], `inputs has ${batch.inputs.length} numbers, not a positive multiple of T ${u.steps} × I ${u.inputSize} = ${perExample}`)]);
  }
  const analyticPlan = compile(u, { batch: B, dtype });
  const exact = dtype === 'float64' ? analyticPlan : compile(u, { batch: B, dtype: 'float64' });

  // Every checked quantity as a float64 copy, with where its analytic gradient lives.
  const T = u.steps, I = u.inputSize;
  const r = analyticPlan.valueAndGrad(params, batch);
  const entries: { name: string; shape: readonly number[]; value: Float64Array; grad: Float64Array; gates?: readonly string[] }[] = [];
  for (const p of u.params) {
    const gates = gateNames[u.cell.name];
    entries.push({
      name: p.name,
      shape: p.shape,
      value: Float64Array.from((params as Record<string, ArrayLike<number>>)[p.name]!),
      grad: Float64Array.from((r.grads as Record<string, ArrayLike<number>>)[p.name]!),
      ...(gates && !p.name.startsWith('readout.') ? { gates } : {}),
    });
  }
  if (options.inputs ?? true) {
    entries.push({ name: 'inputs', shape: [T, B, I], value: Float64Array.from(batch.inputs), grad: Float64Array.from(r.inputGrads) });
    for (const s of u.initialState) {
      const given = (batch.initialState as Record<string, ArrayLike<number>> | undefined)?.[s.name];
      entries.push({
        name: `initialState.${s.name}`,
        shape: [B, numel(s.shape)],
        value: given ? Float64Array.from(given) : new Float64Array(B * numel(s.shape)),
        grad: Float64Array.from((r.initialStateGrads as Record<string, ArrayLike<number>>)[s.name]!),
      });
    }
  }
  const lossAt = (): number => {
    const ps: Record<string, Float64Array> = {};
    const init: Record<string, Float64Array> = {};
    let inputs: ArrayLike<number> = batch.inputs;
    for (const e of entries) {
      if (e.name === 'inputs') inputs = e.value;
      else if (e.name.startsWith('initialState.')) init[e.name.slice('initialState.'.length)] = e.value;
      else ps[e.name] = e.value;
    }
    const f = exact.forward(ps as unknown as ParamValues<PN>, { ...batch, inputs, initialState: { ...batch.initialState, ...init } });
    // a seed on the final state is the gradient of ⟨seed, s_T⟩: the function checked is E + ⟨seed, s_T⟩
    let extra = 0;
    for (const [k, seed] of Object.entries((batch.finalStateGrad ?? {}) as Record<string, ArrayLike<number> | undefined>)) {
      const s = (f.finalState as Record<string, ArrayLike<number>>)[k];
      if (seed !== undefined && s !== undefined) for (let i = 0; i < seed.length; i++) extra += seed[i]! * s[i]!;
    }
    return f.loss + extra;
  };

  const roundingFloor = (8 * 2 ** -52 * Math.abs(r.loss)) / eps;
  const tol = atol + roundingFloor;
  const mismatches: Mismatch[] = [];
  let maxRel = 0, checked = 0;
  const compare = (name: string, index: number, at: number[], gate: string | undefined, a: number, n: number): void => {
    checked++;
    const rel = Math.abs(a - n) / Math.max(Math.abs(a), Math.abs(n), tol / rtol);
    if (rel > maxRel) maxRel = rel;
    if (Math.abs(a - n) > tol + rtol * Math.max(Math.abs(a), Math.abs(n))) {
      mismatches.push({ name, index, at, ...(gate !== undefined ? { gate } : {}), analytic: a, numeric: n, relError: rel });
    }
  };

  if (mode === 'full') {
    for (const e of entries) {
      const rows = e.shape[0]!;
      for (let i = 0; i < e.value.length; i++) {
        const x = e.value[i]!;
        e.value[i] = x + eps;
        const up = lossAt();
        e.value[i] = x - eps;
        const down = lossAt();
        e.value[i] = x;
        const at = multiIndex(i, e.shape);
        const gate = e.gates ? e.gates[Math.floor((at[0]! * e.gates.length) / rows)] : undefined;
        compare(e.name, i, at, gate, e.grad[i]!, (up - down) / (2 * eps));
      }
    }
  } else {
    const rand = mulberry32(options.seed ?? 1);
    const dirs = entries.map((e) => uniformArray(rand, e.value.length, -1, 1));
    let norm2 = 0;
    for (const d of dirs) for (const x of d) norm2 += x * x;
    const scale = 1 / Math.sqrt(norm2);
    let dot = 0;
    entries.forEach((e, k) => dirs[k]!.forEach((d, i) => (dot += d * scale * e.grad[i]!)));
    const base = entries.map((e) => Float64Array.from(e.value));
    const move = (s: number): number => {
      entries.forEach((e, k) => e.value.forEach((_, i) => (e.value[i] = base[k]![i]! + s * dirs[k]![i]! * scale)));
      return lossAt();
    };
    // D(h) = E′ + c·h² + O(h⁴), so (4·D(h/2) − D(h)) / 3 = E′ + O(h⁴): a large step with a
    // small truncation error keeps the rounding error (∝ |E| / h) small on long sequences too.
    const central = (h: number): number => (move(h) - move(-h)) / (2 * h);
    const coarse = central(eps);
    const fine = central(eps / 2);
    const numeric = (4 * fine - coarse) / 3;
    move(0);
    compare('direction', 0, [], undefined, dot, numeric);
  }
  mismatches.sort((a, b) => b.relError - a.relError);
  return {
    ok: mismatches.length === 0,
    mode,
    dtype,
    checked,
    maxRelError: maxRel,
    rtol,
    atol,
    mismatches: mismatches.slice(0, options.maxReported ?? 20),
  };
};

/**
 * A human-readable report, one line per mismatch; `rename` maps parameter names for display
 * (the CLI shows the model file's `weight_ih_l0` for `weight_ih`).
 * @since 0.1.0
 * @category destructors
 */
export const formatGradcheck = (r: GradcheckReport, rename: (name: string) => string = (n) => n): string => {
  const head = `gradcheck (${r.mode}, ${r.dtype}, rtol ${r.rtol}, atol ${r.atol}): ${r.ok ? 'ok' : 'FAILED'}, ${r.checked} ${r.checked === 1 ? 'entry' : 'entries'}, max relative error ${r.maxRelError.toExponential(2)}`;
  const lines = r.mismatches.map((m) => {
    const where = m.name === 'inputs' ? `inputs[t=${m.at[0]}, b=${m.at[1]}, i=${m.at[2]}]` : `${m.name.startsWith('initialState.') || m.name === 'direction' ? m.name : rename(m.name)}[${m.at.join(', ')}]`;
    return `  ${where}${m.gate ? ` (gate ${m.gate})` : ''}: analytic ${m.analytic.toPrecision(8)} vs numeric ${m.numeric.toPrecision(8)}, relative error ${m.relError.toExponential(2)}`;
  });
  return [head, ...lines].join('\n');
};
