/**
 * The primitive table: one entry per {@link OpTag}, checked exhaustive by its type, so a tag
 * without its shape rule, kernels, VJP, JVP, saved values and domain is a compile error.
 */
import type { OpTag } from '../ir';
import type { Primitive } from './types';
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
