// Slow, obviously-correct scalar reverse-mode autodiff (micrograd-sized): a second gradient oracle for the tests.

/** One number in the graph, with the local derivative d(this)/d(parent) for each parent. */
export class Scalar {
  readonly data: number;
  readonly parents: ReadonlyArray<readonly [parent: Scalar, localDerivative: number]>;
  /** d root / d this, filled in by backward(root). */
  grad = 0;

  constructor(data: number, parents: ReadonlyArray<readonly [Scalar, number]> = []) {
    this.data = data;
    this.parents = parents;
  }
}

/** A leaf (parameter, input or constant). */
export function scalar(x: number): Scalar {
  return new Scalar(x);
}

export function add(a: Scalar, b: Scalar): Scalar {
  return new Scalar(a.data + b.data, [[a, 1], [b, 1]]); // d(a + b) = da + db
}

export function sub(a: Scalar, b: Scalar): Scalar {
  return new Scalar(a.data - b.data, [[a, 1], [b, -1]]); // d(a - b) = da - db
}

export function mul(a: Scalar, b: Scalar): Scalar {
  return new Scalar(a.data * b.data, [[a, b.data], [b, a.data]]); // d(ab) = b da + a db
}

export function neg(a: Scalar): Scalar {
  return new Scalar(-a.data, [[a, -1]]); // d(-a) = -da
}

export function scale(a: Scalar, c: number): Scalar {
  return new Scalar(c * a.data, [[a, c]]); // d(c a) = c da
}

export function tanh(a: Scalar): Scalar {
  const y = Math.tanh(a.data);
  return new Scalar(y, [[a, 1 - y * y]]); // d tanh(x) = (1 - y²) dx
}

export function sigmoid(a: Scalar): Scalar {
  // Two branches so exp() only ever sees a non-positive argument: no overflow, no 0 · ∞.
  const x = a.data;
  const y = x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
  return new Scalar(y, [[a, y * (1 - y)]]); // d σ(x) = y (1 - y) dx
}

export function relu(a: Scalar): Scalar {
  const x = a.data;
  return new Scalar(x > 0 ? x : 0, [[a, x > 0 ? 1 : 0]]); // d relu(x) = [x > 0] dx (0 at the kink, as PyTorch)
}

export function exp(a: Scalar): Scalar {
  const y = Math.exp(a.data);
  return new Scalar(y, [[a, y]]); // d exp(x) = y dx
}

export function log(a: Scalar): Scalar {
  return new Scalar(Math.log(a.data), [[a, 1 / a.data]]); // d log(x) = dx / x
}

/** Σ values as ONE node (not a chain of adds), so long sums stay shallow. */
export function sum(values: readonly Scalar[]): Scalar {
  let total = 0;
  for (const v of values) total += v.data;
  return new Scalar(total, values.map((v) => [v, 1] as const)); // d Σ vᵢ = Σ dvᵢ
}

/**
 * Sets .grad = d root / d node on every node reachable from root (resetting old grads first,
 * so calling it twice gives the same answer). The topological sort uses an explicit stack,
 * not recursion, so graphs that are 100k nodes deep do not overflow the call stack.
 */
export function backward(root: Scalar): void {
  // Post-order DFS: a node is appended only after all its parents, so `order` runs inputs → root.
  const order: Scalar[] = [];
  const visited = new Set<Scalar>();
  const stack: Array<[node: Scalar, parentsDone: boolean]> = [[root, false]];
  let top: [Scalar, boolean] | undefined;
  while ((top = stack.pop()) !== undefined) {
    const [node, parentsDone] = top;
    if (parentsDone) {
      order.push(node);
      continue;
    }
    if (visited.has(node)) continue;
    visited.add(node);
    stack.push([node, true]);
    for (const [parent] of node.parents) if (!visited.has(parent)) stack.push([parent, false]);
  }

  for (const node of order) node.grad = 0;
  root.grad = 1;
  // Reverse topological order: each node's grad is complete before it is pushed to its parents.
  // `+=` accumulates over every use of a value that fans out (including x·x, where x is listed twice).
  for (const node of order.reverse()) {
    for (const [parent, local] of node.parents) parent.grad += local * node.grad;
  }
}
