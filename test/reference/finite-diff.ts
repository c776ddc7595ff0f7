// Engine-free central finite differences: a third, independent gradient check.

/** ∂f/∂x_i ≈ (f(x + eps·e_i) − f(x − eps·e_i)) / (2·eps) for every i; x itself is never mutated. */
export function centralDifference(f: (x: number[]) => number, x: number[], eps = 1e-6): number[] {
  return x.map((xi, i) => {
    const plus = x.slice();
    const minus = x.slice();
    plus[i] = xi + eps;
    minus[i] = xi - eps;
    // Divide by the step actually taken: xi ± eps is rounded, so it is not exactly 2·eps apart.
    return (f(plus) - f(minus)) / ((xi + eps) - (xi - eps));
  });
}
