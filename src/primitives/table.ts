/**
 * The primitive table: one entry per {@link OpTag}, checked exhaustive by its type, so a tag
 * without its shape rule, kernels, VJP, JVP, saved values and domain is a compile error.
 */
import { InternalError } from '../errors';
import type { Eqn, OpTag } from '../ir';
import type { Customs, Primitive, Rule } from './types';
import { add, copy, exp, log, mul, neg, relu, scale, shift, sigmoid, sub, tanh } from './elementwise';
import { matvec } from './linalg';
import { concat, fill, slice } from './structural';
import { batchMean, logSoftmax, mean, softmax, sum } from './reduce';

/**
 * Every primitive's rules, by tag.
 * @since 0.1.0
 * @category instances
 */
export const primitives = {
  matvec, add, sub, mul, neg, scale, shift, tanh, sigmoid, relu, exp, log,
  concat, slice, sum, mean, softmax, logSoftmax, fill, copy, batchMean,
} as const satisfies { readonly [K in OpTag]: Primitive<K> };

/** The rules of one tag, typed loosely for interpreters that dispatch on `eqn.op`. @since 0.1.0 @category destructors */
export const primitiveOf = (op: OpTag): Primitive<OpTag> => primitives[op] as unknown as Primitive<OpTag>;

/**
 * The rules of an eqn: the table's for a built-in tag, the user's for a custom primitive,
 * found by name among `customs`. An unknown name is an `internal:` error here: graphs are
 * validated (traced or decoded with their primitives) before they are run.
 * @since 0.1.0
 * @category destructors
 */
export const ruleOf = (e: { readonly op: Eqn['op']; readonly params: unknown }, customs?: Customs): Rule<never> => {
  if (e.op !== 'custom') return primitives[e.op] as unknown as Rule<never>;
  const name = (e.params as { readonly name: string }).name;
  const c = customs?.get(name);
  if (c === undefined) throw new InternalError(`custom primitive '${name}' has no rules here`);
  return c as unknown as Rule<never>;
};
