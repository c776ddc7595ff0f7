/**
 * loopgrad's WebAssembly SIMD kernels (AssemblyScript source; compiled by scripts/build-wasm.ts
 * into src/kernels/wasm-binary.ts, loaded by src/kernels/wasm.ts).
 *
 * The three GEMMs of matvec with a shared matrix A [m, n] and batched x, for f32 (f32x4) and
 * f64 (f64x2). Every pointer is a BYTE offset into the imported memory; every matrix is
 * row-major and contiguous (X [rows, n], A [m, n], Y [rows, m]). No allocation, no runtime, no
 * globals: a kernel reads and writes only the bytes its arguments name. Any size ≥ 0 works in
 * every dimension: register blocks cover the bulk, scalar and narrower paths the remainders.
 * Outputs must not overlap inputs.
 */

// ---------------------------------------------------------------------------------------------
// Generic bodies (T is f32 or f64; a v128 holds 16 / sizeof<T>() lanes).
// ---------------------------------------------------------------------------------------------

/** The sum of a vector's lanes. */
// @ts-ignore: decorator
@inline function hsum<T>(v: v128): T {
  if (sizeof<T>() == 4) {
    return <T>(f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3)));
  } else {
    return <T>(f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1));
  }
}

/** Σ_k P[k] · Q[k] over nb BYTES (vectors up to vb, then scalars). */
// @ts-ignore: decorator
@inline function dot<T>(p: usize, q: usize, vb: usize, nb: usize): T {
  let acc = v128.splat<T>(<T>0);
  let kb: usize = 0;
  for (; kb < vb; kb += 16) acc = v128.add<T>(acc, v128.mul<T>(v128.load(p + kb), v128.load(q + kb)));
  let s: T = hsum<T>(acc);
  for (; kb < nb; kb += sizeof<T>()) s += load<T>(p + kb) * load<T>(q + kb);
  return s;
}

/**
 * Y[r, i] = Σ_k X[r, k] · A[i, k] (overwrites Y [rows, m]; X [rows, n], A [m, n]).
 * Blocks of 2 rows of X × 4 rows of A: eight vector accumulators over k (one vector per step),
 * so each vector load feeds two or four multiply-adds; lane sums and the scalar k tail at the end.
 */
function nt<T>(y: usize, x: usize, a: usize, rows: i32, m: i32, n: i32): void {
  const E: usize = sizeof<T>();
  const nb: usize = <usize>n * E; // bytes of a row of X or A
  const mb: usize = <usize>m * E; // bytes of a row of Y
  const vb: usize = nb & ~(<usize>15); // bytes covered by whole vectors
  let r = 0;
  for (; r + 2 <= rows; r += 2) {
    const x0 = x + <usize>r * nb, x1 = x0 + nb;
    const y0 = y + <usize>r * mb, y1 = y0 + mb;
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const a0 = a + <usize>i * nb, a1 = a0 + nb, a2 = a1 + nb, a3 = a2 + nb;
      let c00 = v128.splat<T>(<T>0), c01 = c00, c02 = c00, c03 = c00;
      let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
      let kb: usize = 0;
      for (; kb < vb; kb += 16) {
        const u0 = v128.load(x0 + kb), u1 = v128.load(x1 + kb);
        let w = v128.load(a0 + kb);
        c00 = v128.add<T>(c00, v128.mul<T>(u0, w)); c10 = v128.add<T>(c10, v128.mul<T>(u1, w));
        w = v128.load(a1 + kb);
        c01 = v128.add<T>(c01, v128.mul<T>(u0, w)); c11 = v128.add<T>(c11, v128.mul<T>(u1, w));
        w = v128.load(a2 + kb);
        c02 = v128.add<T>(c02, v128.mul<T>(u0, w)); c12 = v128.add<T>(c12, v128.mul<T>(u1, w));
        w = v128.load(a3 + kb);
        c03 = v128.add<T>(c03, v128.mul<T>(u0, w)); c13 = v128.add<T>(c13, v128.mul<T>(u1, w));
      }
      let s00: T = hsum<T>(c00), s01: T = hsum<T>(c01), s02: T = hsum<T>(c02), s03: T = hsum<T>(c03);
      let s10: T = hsum<T>(c10), s11: T = hsum<T>(c11), s12: T = hsum<T>(c12), s13: T = hsum<T>(c13);
      for (; kb < nb; kb += E) {
        const e0 = load<T>(x0 + kb), e1 = load<T>(x1 + kb);
        const b0 = load<T>(a0 + kb), b1 = load<T>(a1 + kb), b2 = load<T>(a2 + kb), b3 = load<T>(a3 + kb);
        s00 += e0 * b0; s01 += e0 * b1; s02 += e0 * b2; s03 += e0 * b3;
        s10 += e1 * b0; s11 += e1 * b1; s12 += e1 * b2; s13 += e1 * b3;
      }
      const o0 = y0 + <usize>i * E, o1 = y1 + <usize>i * E;
      store<T>(o0, s00); store<T>(o0 + E, s01); store<T>(o0 + 2 * E, s02); store<T>(o0 + 3 * E, s03);
      store<T>(o1, s10); store<T>(o1 + E, s11); store<T>(o1 + 2 * E, s12); store<T>(o1 + 3 * E, s13);
    }
    for (; i < m; i++) {
      const ai = a + <usize>i * nb;
      store<T>(y0 + <usize>i * E, dot<T>(x0, ai, vb, nb));
      store<T>(y1 + <usize>i * E, dot<T>(x1, ai, vb, nb));
    }
  }
  for (; r < rows; r++) {
    const x0 = x + <usize>r * nb, y0 = y + <usize>r * mb;
    for (let i = 0; i < m; i++) store<T>(y0 + <usize>i * E, dot<T>(x0, a + <usize>i * nb, vb, nb));
  }
}

/**
 * O[p, k] += Σ_q S[p, q] · B[q, k] for p < P, q < Q, k < n, where O [P, n] and B [Q, n] are
 * row-major and S[p, q] is at s + p·sp + q·sq (byte strides, so S may be read transposed).
 * Vectorised along k with S broadcast: blocks of 4 rows of O × 2 vectors of k (eight
 * accumulators; each loaded B vector feeds four multiply-adds), then 4 rows × 1 vector, then
 * scalars; leftover rows of O one at a time. The sum over q runs in registers and is added to O
 * once, so O is read and written once per block.
 */
function accBroadcast<T>(o: usize, s: usize, sp: usize, sq: usize, b: usize, P: i32, Q: i32, n: i32): void {
  const E: usize = sizeof<T>();
  const nb: usize = <usize>n * E;
  const sEnd: usize = <usize>Q * sq; // span of a row of S
  let p = 0;
  for (; p + 4 <= P; p += 4) {
    const o0 = o + <usize>p * nb, o1 = o0 + nb, o2 = o1 + nb, o3 = o2 + nb;
    const t0 = s + <usize>p * sp, t1 = t0 + sp, t2 = t1 + sp, t3 = t2 + sp;
    let kb: usize = 0;
    for (; kb + 32 <= nb; kb += 32) {
      let c00 = v128.splat<T>(<T>0), c01 = c00, c10 = c00, c11 = c00;
      let c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      let bq = b + kb, sqb: usize = 0;
      for (; sqb < sEnd; sqb += sq, bq += nb) {
        const w0 = v128.load(bq), w1 = v128.load(bq, 16);
        let d = v128.load_splat<T>(t0 + sqb);
        c00 = v128.add<T>(c00, v128.mul<T>(d, w0)); c01 = v128.add<T>(c01, v128.mul<T>(d, w1));
        d = v128.load_splat<T>(t1 + sqb);
        c10 = v128.add<T>(c10, v128.mul<T>(d, w0)); c11 = v128.add<T>(c11, v128.mul<T>(d, w1));
        d = v128.load_splat<T>(t2 + sqb);
        c20 = v128.add<T>(c20, v128.mul<T>(d, w0)); c21 = v128.add<T>(c21, v128.mul<T>(d, w1));
        d = v128.load_splat<T>(t3 + sqb);
        c30 = v128.add<T>(c30, v128.mul<T>(d, w0)); c31 = v128.add<T>(c31, v128.mul<T>(d, w1));
      }
      v128.store(o0 + kb, v128.add<T>(v128.load(o0 + kb), c00)); v128.store(o0 + kb, v128.add<T>(v128.load(o0 + kb, 16), c01), 16);
      v128.store(o1 + kb, v128.add<T>(v128.load(o1 + kb), c10)); v128.store(o1 + kb, v128.add<T>(v128.load(o1 + kb, 16), c11), 16);
      v128.store(o2 + kb, v128.add<T>(v128.load(o2 + kb), c20)); v128.store(o2 + kb, v128.add<T>(v128.load(o2 + kb, 16), c21), 16);
      v128.store(o3 + kb, v128.add<T>(v128.load(o3 + kb), c30)); v128.store(o3 + kb, v128.add<T>(v128.load(o3 + kb, 16), c31), 16);
    }
    for (; kb + 16 <= nb; kb += 16) {
      let c0 = v128.splat<T>(<T>0), c1 = c0, c2 = c0, c3 = c0;
      let bq = b + kb, sqb: usize = 0;
      for (; sqb < sEnd; sqb += sq, bq += nb) {
        const w = v128.load(bq);
        c0 = v128.add<T>(c0, v128.mul<T>(v128.load_splat<T>(t0 + sqb), w));
        c1 = v128.add<T>(c1, v128.mul<T>(v128.load_splat<T>(t1 + sqb), w));
        c2 = v128.add<T>(c2, v128.mul<T>(v128.load_splat<T>(t2 + sqb), w));
        c3 = v128.add<T>(c3, v128.mul<T>(v128.load_splat<T>(t3 + sqb), w));
      }
      v128.store(o0 + kb, v128.add<T>(v128.load(o0 + kb), c0));
      v128.store(o1 + kb, v128.add<T>(v128.load(o1 + kb), c1));
      v128.store(o2 + kb, v128.add<T>(v128.load(o2 + kb), c2));
      v128.store(o3 + kb, v128.add<T>(v128.load(o3 + kb), c3));
    }
    for (; kb < nb; kb += E) {
      let s0: T = <T>0, s1: T = <T>0, s2: T = <T>0, s3: T = <T>0;
      let bq = b + kb, sqb: usize = 0;
      for (; sqb < sEnd; sqb += sq, bq += nb) {
        const w = load<T>(bq);
        s0 += load<T>(t0 + sqb) * w; s1 += load<T>(t1 + sqb) * w;
        s2 += load<T>(t2 + sqb) * w; s3 += load<T>(t3 + sqb) * w;
      }
      store<T>(o0 + kb, load<T>(o0 + kb) + s0); store<T>(o1 + kb, load<T>(o1 + kb) + s1);
      store<T>(o2 + kb, load<T>(o2 + kb) + s2); store<T>(o3 + kb, load<T>(o3 + kb) + s3);
    }
  }
  for (; p < P; p++) {
    const o0 = o + <usize>p * nb, t0 = s + <usize>p * sp;
    let kb: usize = 0;
    for (; kb + 32 <= nb; kb += 32) {
      let c0 = v128.splat<T>(<T>0), c1 = c0;
      let bq = b + kb, sqb: usize = 0;
      for (; sqb < sEnd; sqb += sq, bq += nb) {
        const d = v128.load_splat<T>(t0 + sqb);
        c0 = v128.add<T>(c0, v128.mul<T>(d, v128.load(bq)));
        c1 = v128.add<T>(c1, v128.mul<T>(d, v128.load(bq, 16)));
      }
      v128.store(o0 + kb, v128.add<T>(v128.load(o0 + kb), c0));
      v128.store(o0 + kb, v128.add<T>(v128.load(o0 + kb, 16), c1), 16);
    }
    for (; kb + 16 <= nb; kb += 16) {
      let c0 = v128.splat<T>(<T>0);
      let bq = b + kb, sqb: usize = 0;
      for (; sqb < sEnd; sqb += sq, bq += nb) c0 = v128.add<T>(c0, v128.mul<T>(v128.load_splat<T>(t0 + sqb), v128.load(bq)));
      v128.store(o0 + kb, v128.add<T>(v128.load(o0 + kb), c0));
    }
    for (; kb < nb; kb += E) {
      let s0: T = <T>0;
      let bq = b + kb, sqb: usize = 0;
      for (; sqb < sEnd; sqb += sq, bq += nb) s0 += load<T>(t0 + sqb) * load<T>(bq);
      store<T>(o0 + kb, load<T>(o0 + kb) + s0);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Exports. Pointers are byte offsets; sizes are element counts.
// ---------------------------------------------------------------------------------------------

/** Y[r, i] = Σ_k X[r, k] · A[i, k]  (Y [rows, m] overwritten; X [rows, n]; A [m, n]; f32). */
export function gemmNT_f32(y: usize, x: usize, a: usize, rows: i32, m: i32, n: i32): void {
  nt<f32>(y, x, a, rows, m, n);
}

/** dA[i, k] += Σ_r dY[r, i] · X[r, k]  (dA [m, n]; dY [rows, m]; X [rows, n]; f32). */
export function gemmTNacc_f32(da: usize, dy: usize, x: usize, rows: i32, m: i32, n: i32): void {
  // O = dA (P = m), S[i, r] = dY[r, i] (stride 4 along i, m·4 along r), B = X (Q = rows)
  accBroadcast<f32>(da, dy, 4, <usize>m * 4, x, m, rows, n);
}

/** dX[r, k] += Σ_i dY[r, i] · A[i, k]  (dX [rows, n]; dY [rows, m]; A [m, n]; f32). */
export function gemmNNacc_f32(dx: usize, dy: usize, a: usize, rows: i32, m: i32, n: i32): void {
  // O = dX (P = rows), S[r, i] = dY[r, i] (stride m·4 along r, 4 along i), B = A (Q = m)
  accBroadcast<f32>(dx, dy, <usize>m * 4, 4, a, rows, m, n);
}

/** Y[r, i] = Σ_k X[r, k] · A[i, k]  (Y [rows, m] overwritten; X [rows, n]; A [m, n]; f64). */
export function gemmNT_f64(y: usize, x: usize, a: usize, rows: i32, m: i32, n: i32): void {
  nt<f64>(y, x, a, rows, m, n);
}

/** dA[i, k] += Σ_r dY[r, i] · X[r, k]  (dA [m, n]; dY [rows, m]; X [rows, n]; f64). */
export function gemmTNacc_f64(da: usize, dy: usize, x: usize, rows: i32, m: i32, n: i32): void {
  accBroadcast<f64>(da, dy, 8, <usize>m * 8, x, m, rows, n);
}

/** dX[r, k] += Σ_i dY[r, i] · A[i, k]  (dX [rows, n]; dY [rows, m]; A [m, n]; f64). */
export function gemmNNacc_f64(dx: usize, dy: usize, a: usize, rows: i32, m: i32, n: i32): void {
  accBroadcast<f64>(dx, dy, <usize>m * 8, 8, a, rows, m, n);
}
