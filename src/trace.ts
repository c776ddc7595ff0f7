/**
 * Tracing: the DSL's ops run once on symbolic values and record eqns. A `Sym` is only a
 * handle (a var id and a rank); no number ever flows through it. Shapes are checked as each eqn
 * is recorded, so a mismatch is found before any number runs, with the op and both shapes.
 */
import * as E from 'fp-ts/Either';
import type { Eqn, OpParams, OpTag, VarId, VarInfo } from './ir';
import { issue, LoopgradError, type LoopgradIssue } from './errors';
import { ruleOf } from './primitives/table';
import type { CustomPrimitive } from './primitives/types';
import type { Shape } from './shape';

/** Rank of a per-example value: 0 scalar, 1 vector, 2 matrix. @since 0.1.0 @category model */
export type Rank = 0 | 1 | 2;

/**
 * A symbolic value inside a traced step: a var of the graph being built. Its rank is part of
 * its type, so a vector passed where a matrix belongs does not compile.
 * @since 0.1.0
 * @category model
 */
export class Sym<R extends Rank = Rank> {
  /** @internal */
  constructor(
    /** @internal */ readonly tracer: Tracer,
    readonly id: VarId,
    readonly rank: R,
  ) {}
}

/** A traced scalar. @since 0.1.0 @category model */
export type Scalar = Sym<0>;
/** A traced vector `[n]`. @since 0.1.0 @category model */
export type Vec = Sym<1>;
/** A traced matrix `[m, n]`. @since 0.1.0 @category model */
export type Mat = Sym<2>;

/** Longest operand label kept inside a derived label. */
const MAX_OPERAND = 16;

/**
 * Records vars and eqns while a step function runs. Shape errors are collected, not thrown:
 * the var they would have produced is marked poisoned, and eqns reading a poisoned var record
 * no further error, so one mistake yields one message.
 * @internal
 */
export class Tracer {
  readonly vars: VarInfo[] = [];
  readonly eqns: Eqn[] = [];
  readonly issues: LoopgradIssue[] = [];
  private readonly poisoned = new Set<VarId>();

  constructor(
    readonly path: readonly string[],
    /** The user-declared primitives this trace may call, by name. */
    readonly customs: Map<string, CustomPrimitive> = new Map(),
  ) {}

  input(shape: Shape, batched: boolean, label: string): Sym {
    this.vars.push({ shape, batched, label });
    return new Sym(this, this.vars.length - 1, shape.length as Rank);
  }

  relabel(s: Sym, label: string): void {
    const own = this.own('name', s, 0);
    this.vars[own.id] = { ...this.vars[own.id]!, label };
  }

  /** Records a shape problem found outside a rule (e.g. an indivisible chunk); returns a poisoned value. */
  fail(op: string, message: string): Sym {
    this.issues.push(issue('ShapeError', [...this.path, `eqn ${this.eqns.length} (${op})`], message, op));
    this.poisoned.add(this.vars.length);
    this.vars.push({ shape: [], batched: true, label: `${op}#${this.eqns.length}` });
    return new Sym(this, this.vars.length - 1, 1);
  }

  /** Makes a user-declared primitive callable in this trace; two different ones may not share a name. */
  register(p: CustomPrimitive): void {
    const known = this.customs.get(p.name);
    if (known !== undefined && known !== p) {
      throw new LoopgradError([issue('CellSpecError', [...this.path, p.name], `two different custom primitives are named '${p.name}'`)]);
    }
    this.customs.set(p.name, p);
  }

  emit<K extends OpTag>(op: K, params: OpParams[K], args: readonly unknown[], labelAs?: string): Sym;
  emit(op: Eqn['op'], params: unknown, args: readonly unknown[], labelAs?: string): Sym;
  emit(op: Eqn['op'], params: unknown, args: readonly unknown[], labelAs?: string): Sym {
    const inputs = args.map((a, i) => this.own(op, a, i));
    const rule = ruleOf({ op, params }, this.customs);
    if (rule.arity !== 'variadic' && rule.arity !== inputs.length) {
      throw new LoopgradError([issue('CellSpecError', [...this.path, `eqn ${this.eqns.length} (${op})`], `${op} takes ${rule.arity} inputs, got ${inputs.length}`)]);
    }
    const eqnIndex = this.eqns.length;
    const ins = inputs.map((s) => this.vars[s.id]!);
    const label = labelAs ?? derivedLabel(op, ins.map((v) => v.label), params);
    const batched = rule.batching === 'reduce' ? false : ins.some((v) => v.batched);
    let shape: Shape;
    if (inputs.some((s) => this.poisoned.has(s.id))) {
      shape = [];
      this.poisoned.add(this.vars.length);
    } else {
      const r = rule.shape(ins, params as never);
      if (E.isLeft(r)) {
        const name = op === 'custom' ? (params as { name: string }).name : op;
        this.issues.push(issue('ShapeError', [...this.path, `eqn ${eqnIndex} (${name})`], r.left, name));
        this.poisoned.add(this.vars.length);
        shape = [];
      } else shape = r.right;
    }
    this.vars.push({ shape, batched, label });
    const out = this.vars.length - 1;
    this.eqns.push({ op, params, inputs: inputs.map((s) => s.id), out } as Eqn);
    return new Sym(this, out, shape.length as Rank);
  }

  /** Only this trace's own values may be used: anything else is a mistake in the step. */
  private own(op: string, a: unknown, i: number): Sym {
    if (a instanceof Sym && a.tracer === this) return a;
    const what = a instanceof Sym ? 'a value traced in another cell or step' : a === undefined ? 'undefined' : typeof a;
    throw new LoopgradError([
      issue('CellSpecError', [...this.path, `eqn ${this.eqns.length} (${op})`],
        `argument ${i + 1} is ${what}, not a value of this step (a misspelt param or state name?)`),
    ]);
  }
}

/**
 * A readable name for a computed value, in math notation: `[x; f ⊙ h]`, `W·x + b`. Long
 * operands shrink to `…`, so a label stays short enough for a message.
 */
const derivedLabel = (op: string, labels: readonly string[], params: unknown): string => {
  const short = labels.map((l) => (l.length > MAX_OPERAND ? '…' : l));
  // operands of infix ops are parenthesised when they are infix expressions themselves
  const [a, b] = short.map((l) => (/\s/.test(l) && !/^\[.*\]$/.test(l) ? `(${l})` : l));
  switch (op) {
    case 'matvec': return `${a}·${b}`;
    case 'add': return `${a} + ${b}`;
    case 'sub': return `${a} − ${b}`;
    case 'mul': return `${a} ⊙ ${b}`;
    case 'neg': return `−${a}`;
    case 'concat': return `[${short.join('; ')}]`;
    case 'slice': {
      const { start, size } = params as { start: number; size: number };
      return `${a}[${start}:${start + size}]`;
    }
    default: return `${op}(${short.join(', ')})`;
  }
};

let active: Tracer | undefined;

/** Runs `f` with `t` as the trace that input-less ops (constants) record into. @internal */
export const withTracer = <A>(t: Tracer, f: () => A): A => {
  const previous = active;
  active = t;
  try {
    return f();
  } finally {
    active = previous;
  }
};

/** The trace in progress, for ops without symbolic inputs. @internal */
export const activeTracer = (op: string): Tracer => {
  if (active === undefined) {
    throw new LoopgradError([issue('CellSpecError', [op], `${op} was called outside a cell's step function`)]);
  }
  return active;
};
