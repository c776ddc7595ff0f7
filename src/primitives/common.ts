/** Shape-rule helpers shared by the primitive families. */
import * as E from 'fp-ts/Either';
import { sameShape, showShape, type Shape } from '../shape';
import type { Operand } from './types';

/** Any input shape; the output has the same shape (unary element-wise ops). */
export const sameAsInput = (ins: readonly Operand[]): E.Either<string, Shape> => E.right(ins[0]!.shape);

/** Two inputs of one shape (binary element-wise ops). */
export const equalShapes = (ins: readonly Operand[]): E.Either<string, Shape> => {
  const [a, b] = ins as [Operand, Operand];
  return sameShape(a.shape, b.shape)
    ? E.right(a.shape)
    : E.left(`${a.label} is ${showShape(a.shape)} but ${b.label} is ${showShape(b.shape)}; element-wise ops need equal shapes`);
};

/** One vector input; the output has its shape (softmax and friends). */
export const vectorIn = (ins: readonly Operand[]): E.Either<string, Shape> => {
  const a = ins[0]!;
  return a.shape.length === 1 ? E.right(a.shape) : E.left(`${a.label} is ${showShape(a.shape)} but a vector [n] is expected`);
};
