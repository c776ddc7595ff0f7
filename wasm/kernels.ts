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
// @ts-ignore: decorator
@inline function accBroadcastCols<T>(o: usize, s: usize, sp: usize, sq: usize, b: usize, bs: usize, P: i32, Q: i32, nb: usize, k0: usize, k1: usize): void {
  const E: usize = sizeof<T>();
  const sEnd: usize = <usize>Q * sq; // span of a row of S
  let p = 0;
  for (; p + 4 <= P; p += 4) {
    const o0 = o + <usize>p * nb, o1 = o0 + nb, o2 = o1 + nb, o3 = o2 + nb;
    const t0 = s + <usize>p * sp, t1 = t0 + sp, t2 = t1 + sp, t3 = t2 + sp;
    let kb: usize = k0;
    for (; kb + 32 <= k1; kb += 32) {
      let c00 = v128.splat<T>(<T>0), c01 = c00, c10 = c00, c11 = c00;
      let c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      let bq = b + kb, sqb: usize = 0;
      for (; sqb < sEnd; sqb += sq, bq += bs) {
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
    for (; kb + 16 <= k1; kb += 16) {
      let c0 = v128.splat<T>(<T>0), c1 = c0, c2 = c0, c3 = c0;
      let bq = b + kb, sqb: usize = 0;
      for (; sqb < sEnd; sqb += sq, bq += bs) {
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
    for (; kb < k1; kb += E) {
      let s0: T = <T>0, s1: T = <T>0, s2: T = <T>0, s3: T = <T>0;
      let bq = b + kb, sqb: usize = 0;
      for (; sqb < sEnd; sqb += sq, bq += bs) {
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
    let kb: usize = k0;
    for (; kb + 32 <= k1; kb += 32) {
      let c0 = v128.splat<T>(<T>0), c1 = c0;
      let bq = b + kb, sqb: usize = 0;
      for (; sqb < sEnd; sqb += sq, bq += bs) {
        const d = v128.load_splat<T>(t0 + sqb);
        c0 = v128.add<T>(c0, v128.mul<T>(d, v128.load(bq)));
        c1 = v128.add<T>(c1, v128.mul<T>(d, v128.load(bq, 16)));
      }
      v128.store(o0 + kb, v128.add<T>(v128.load(o0 + kb), c0));
      v128.store(o0 + kb, v128.add<T>(v128.load(o0 + kb, 16), c1), 16);
    }
    for (; kb + 16 <= k1; kb += 16) {
      let c0 = v128.splat<T>(<T>0);
      let bq = b + kb, sqb: usize = 0;
      for (; sqb < sEnd; sqb += sq, bq += bs) c0 = v128.add<T>(c0, v128.mul<T>(v128.load_splat<T>(t0 + sqb), v128.load(bq)));
      v128.store(o0 + kb, v128.add<T>(v128.load(o0 + kb), c0));
    }
    for (; kb < k1; kb += E) {
      let s0: T = <T>0;
      let bq = b + kb, sqb: usize = 0;
      for (; sqb < sEnd; sqb += sq, bq += bs) s0 += load<T>(t0 + sqb) * load<T>(bq);
      store<T>(o0 + kb, load<T>(o0 + kb) + s0);
    }
  }
}

/**
 * Bytes of scratch {@link accBroadcast} needs to pack: a panel of B (Q rows × the panel width)
 * and, when S is read down its columns (tnAcc), a row block of S (4 × Q values).
 */
// @ts-ignore: decorator
@inline function packBytes(Q: i32, pw: usize, packS: bool, E: usize): usize {
  return <usize>Q * pw + (packS ? <usize>Q * 4 * E : 0);
}

/**
 * {@link accBroadcastCols} over all of k, PACKED: B in panels of its columns (about 16 KiB:
 * Q rows × the panel width), copied to contiguous scratch once per panel and reused by every
 * row block of O; and S, when it is read down its columns (sq ≠ one element: tnAcc, where S is
 * dY transposed), copied per row block to 4 contiguous values per q. Without packing, rows 4 KiB
 * apart (dY [B, 512] in float64, [B, 1024] in float32: the workload's LSTM medium and large)
 * all fall in one L1 set and evict each other: tnAcc ran at 13 GFLOP/s in float64 against 24
 * with a 4160-byte stride. Each O element still sums its q terms in order into a register and
 * is added to O once: the same bits as unpacked, whatever the panel. Where packing does not pay
 * (below), or with less than the needed scratch (`wb` bytes at `w`), it runs unpacked.
 */
function accBroadcast<T>(o: usize, s: usize, sp: usize, sq: usize, b: usize, P: i32, Q: i32, n: i32, w: usize, wb: usize): void {
  const E: usize = sizeof<T>();
  const nb: usize = <usize>n * E;
  let pw: usize = (<usize>16384 / <usize>max(Q, 1)) & ~(<usize>31);
  if (pw < 32) pw = 32;
  const packS = sq != E;
  // measured (2 cores, Zen 4): packing pays for tnAcc when S's columns step a multiple of 2 KiB
  // (rows of dY in few L1 sets) over up to Q = 512 rows (beyond, the 4·Q copies of S per row
  // block and panel cost more than they save; at other strides the copies cost 0–14%), and for
  // nnAcc when B is 1 MiB or more (a smaller B stays in L2 and its copies cost more than the
  // conflicts: 768 KiB float32 lost 7%)
  const pays = packS ? Q <= 512 && sq % 2048 == 0 : <usize>Q * nb >= 1048576;
  if (!pays || Q <= 0 || wb < packBytes(Q, pw, packS, E)) {
    accBroadcastCols<T>(o, s, sp, sq, b, nb, P, Q, nb, 0, nb);
    return;
  }
  const bp = w, sk = w + <usize>Q * pw;
  // S whole, when the scratch holds it: each row block's 4 × Q values packed once, not once per
  // panel (at 1024 × 64 × 256 those copies were ~12% of the product)
  const blockBytes: usize = <usize>Q * 4 * E;
  const whole = packS && wb >= <usize>Q * pw + <usize>((P + 3) >> 2) * blockBytes;
  if (whole) {
    for (let p = 0; p < P; p += 4) {
      const rows = P - p < 4 ? P - p : 4;
      const t = s + <usize>p * sp, dst = sk + <usize>(p >> 2) * blockBytes;
      for (let q = 0; q < Q; q++) {
        const from = t + <usize>q * sq, to = dst + <usize>q * 4 * E;
        for (let j = 0; j < rows; j++) store<T>(to + <usize>j * E, load<T>(from + <usize>j * sp));
      }
    }
  }
  for (let k0: usize = 0; k0 < nb; k0 += pw) {
    const width: usize = nb - k0 < pw ? nb - k0 : pw;
    const vw: usize = width & ~(<usize>15);
    for (let q = 0; q < Q; q++) {
      const from = b + <usize>q * nb + k0, to = bp + <usize>q * pw;
      let i: usize = 0;
      for (; i < vw; i += 16) v128.store(to + i, v128.load(from + i));
      for (; i < width; i += E) store<T>(to + i, load<T>(from + i));
    }
    if (!packS) {
      accBroadcastCols<T>(o + k0, s, sp, sq, bp, pw, P, Q, nb, 0, width);
      continue;
    }
    if (whole) {
      for (let p = 0; p < P; p += 4) {
        const rows = P - p < 4 ? P - p : 4;
        accBroadcastCols<T>(o + <usize>p * nb + k0, sk + <usize>(p >> 2) * blockBytes, E, 4 * E, bp, pw, rows, Q, nb, 0, width);
      }
      continue;
    }
    for (let p = 0; p < P; p += 4) {
      const rows = P - p < 4 ? P - p : 4;
      const t = s + <usize>p * sp;
      for (let q = 0; q < Q; q++) {
        const from = t + <usize>q * sq, to = sk + <usize>q * 4 * E;
        for (let j = 0; j < rows; j++) store<T>(to + <usize>j * E, load<T>(from + <usize>j * sp));
      }
      accBroadcastCols<T>(o + <usize>p * nb + k0, sk, E, 4 * E, bp, pw, rows, Q, nb, 0, width);
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
export function gemmTNacc_f32(da: usize, dy: usize, x: usize, rows: i32, m: i32, n: i32, w: usize, wb: usize): void {
  // O = dA (P = m), S[i, r] = dY[r, i] (stride 4 along i, m·4 along r), B = X (Q = rows)
  accBroadcast<f32>(da, dy, 4, <usize>m * 4, x, m, rows, n, w, wb);
}

/** dX[r, k] += Σ_i dY[r, i] · A[i, k]  (dX [rows, n]; dY [rows, m]; A [m, n]; f32). */
export function gemmNNacc_f32(dx: usize, dy: usize, a: usize, rows: i32, m: i32, n: i32, w: usize, wb: usize): void {
  // O = dX (P = rows), S[r, i] = dY[r, i] (stride m·4 along r, 4 along i), B = A (Q = m)
  accBroadcast<f32>(dx, dy, <usize>m * 4, 4, a, rows, m, n, w, wb);
}

/**
 * O[p, k] += Σ_q S[p, q] · B[q, k] with S addressed by BYTE strides sp, sq (f32): the kernel
 * under gemmTNacc / gemmNNacc, exported so a caller can hand a block of O's rows to another
 * thread (src/kernels/threads.ts). Each O element sums its q terms in order whatever P is, so
 * any split of the rows gives the same bits.
 */
export function accBroadcast_f32(o: usize, s: usize, sp: usize, sq: usize, b: usize, P: i32, Q: i32, n: i32, w: usize, wb: usize): void {
  accBroadcast<f32>(o, s, sp, sq, b, P, Q, n, w, wb);
}

/** {@link accBroadcast_f32} for f64. */
export function accBroadcast_f64(o: usize, s: usize, sp: usize, sq: usize, b: usize, P: i32, Q: i32, n: i32, w: usize, wb: usize): void {
  accBroadcast<f64>(o, s, sp, sq, b, P, Q, n, w, wb);
}

/** Y[r, i] = Σ_k X[r, k] · A[i, k]  (Y [rows, m] overwritten; X [rows, n]; A [m, n]; f64). */
export function gemmNT_f64(y: usize, x: usize, a: usize, rows: i32, m: i32, n: i32): void {
  nt<f64>(y, x, a, rows, m, n);
}

/** dA[i, k] += Σ_r dY[r, i] · X[r, k]  (dA [m, n]; dY [rows, m]; X [rows, n]; f64). */
export function gemmTNacc_f64(da: usize, dy: usize, x: usize, rows: i32, m: i32, n: i32, w: usize, wb: usize): void {
  accBroadcast<f64>(da, dy, 8, <usize>m * 8, x, m, rows, n, w, wb);
}

/** dX[r, k] += Σ_i dY[r, i] · A[i, k]  (dX [rows, n]; dY [rows, m]; A [m, n]; f64). */
export function gemmNNacc_f64(dx: usize, dy: usize, a: usize, rows: i32, m: i32, n: i32, w: usize, wb: usize): void {
  accBroadcast<f64>(dx, dy, <usize>m * 8, 8, a, rows, m, n, w, wb);
}

// ---------------------------------------------------------------------------------------------
// Element-wise kernels. Runs of `rows × n` elements: the output (or the accumulated cotangent
// of a batched operand) is [rows, n] contiguous; every other operand is either [rows, n] too
// (row stride n) or one shared [n] vector reused for every row (row stride 0). A contiguous run
// of `count` elements is rows = 1, n = count. Strides are ELEMENT counts, pointers bytes.
//
// Determinism: a result depends only on its element's inputs (and, for a shared accumulated
// cotangent, on the rows added to it in row order), never on where the element sits in the run:
// the arithmetic kernels do the same IEEE operations in the vector body and the scalar tail, and
// the transcendental ones run the tail through the same vector code (one element splatted).
// Outputs may coincide exactly with an input (y = a) but must not partially overlap one.
// ---------------------------------------------------------------------------------------------

const OP_ADD = 0, OP_SUB = 1, OP_MUL = 2;

// @ts-ignore: decorator
@inline function binV<T>(op: i32, a: v128, b: v128): v128 {
  if (op == OP_ADD) return v128.add<T>(a, b);
  if (op == OP_SUB) return v128.sub<T>(a, b);
  return v128.mul<T>(a, b);
}

// @ts-ignore: decorator
@inline function binS<T>(op: i32, a: T, b: T): T {
  if (op == OP_ADD) return a + b;
  if (op == OP_SUB) return a - b;
  return a * b;
}

/** y[r, i] = a[r·as + i] ∘ b[r·bs + i]  (y [rows, n]). */
// @ts-ignore: decorator
@inline function binary<T>(op: i32, y: usize, a: usize, as: i32, b: usize, bs: i32, rows: i32, n: i32): void {
  const E: usize = sizeof<T>();
  const nb: usize = <usize>n * E, vb: usize = nb & ~(<usize>15);
  const asb: usize = <usize>as * E, bsb: usize = <usize>bs * E;
  for (let r = 0; r < rows; r++) {
    let i: usize = 0;
    for (; i < vb; i += 16) v128.store(y + i, binV<T>(op, v128.load(a + i), v128.load(b + i)));
    for (; i < nb; i += E) store<T>(y + i, binS<T>(op, load<T>(a + i), load<T>(b + i)));
    y += nb; a += asb; b += bsb;
  }
}

/**
 * g[r·gs + i] += dy[r, i]  (or −= for op = OP_SUB); g[r·gs + i] += dy[r, i] · o[r·os + i] for
 * op = OP_MUL. gs = 0 sums over the rows, in row order.
 */
// @ts-ignore: decorator
@inline function accumulate<T>(op: i32, g: usize, gs: i32, dy: usize, o: usize, os: i32, rows: i32, n: i32): void {
  const E: usize = sizeof<T>();
  const nb: usize = <usize>n * E, vb: usize = nb & ~(<usize>15);
  const gsb: usize = <usize>gs * E, osb: usize = <usize>os * E;
  for (let r = 0; r < rows; r++) {
    let i: usize = 0;
    if (op == OP_MUL) {
      for (; i < vb; i += 16) v128.store(g + i, v128.add<T>(v128.load(g + i), v128.mul<T>(v128.load(dy + i), v128.load(o + i))));
      for (; i < nb; i += E) store<T>(g + i, load<T>(g + i) + load<T>(dy + i) * load<T>(o + i));
    } else {
      for (; i < vb; i += 16) v128.store(g + i, binV<T>(op, v128.load(g + i), v128.load(dy + i)));
      for (; i < nb; i += E) store<T>(g + i, binS<T>(op, load<T>(g + i), load<T>(dy + i)));
    }
    g += gsb; dy += nb; o += osb;
  }
}

/** g[i] += (1 − y²) dy (op 0, tanh) or y (1 − y) dy (op 1, sigmoid), from the saved output y. */
// @ts-ignore: decorator
@inline function accUnaryGrad<T>(sig: bool, g: usize, dy: usize, y: usize, count: i32): void {
  const E: usize = sizeof<T>();
  const nb: usize = <usize>count * E, vb: usize = nb & ~(<usize>15);
  const one = v128.splat<T>(<T>1);
  let i: usize = 0;
  for (; i < vb; i += 16) {
    const yv = v128.load(y + i);
    const d = sig ? v128.mul<T>(yv, v128.sub<T>(one, yv)) : v128.sub<T>(one, v128.mul<T>(yv, yv));
    v128.store(g + i, v128.add<T>(v128.load(g + i), v128.mul<T>(d, v128.load(dy + i))));
  }
  for (; i < nb; i += E) {
    const yi = load<T>(y + i);
    const d: T = sig ? yi * (<T>1 - yi) : <T>1 - yi * yi;
    store<T>(g + i, load<T>(g + i) + d * load<T>(dy + i));
  }
}

// --- f64x2 transcendentals (a few ulp; see test/wasm-kernels.test.ts) -------------------------

/**
 * eˣ per lane, fdlibm's method: x = k·ln2 + r with |r| ≤ ln2/2 (Cody–Waite, ln2 split in a
 * 32-bit-exact high part and a low part), e^r = 1 + r + r·c/(2 − c) with c = r − r²·P(r²)
 * (P of degree 5, error < 2⁻⁵⁹), then the scale 2ᵏ built from the exponent bits in two halves
 * so that overflow gives ∞ and underflow a correctly scaled subnormal or 0. x is clamped to
 * ±1000 first (e^±1000 is already ∞ / 0), which keeps k an exact small integer; min/max
 * propagate NaN.
 */
// @ts-ignore: decorator
@inline function expV(x: v128): v128 {
  x = f64x2.min(f64x2.max(x, f64x2.splat(-1000.0)), f64x2.splat(1000.0));
  const k = f64x2.nearest(f64x2.mul(x, f64x2.splat(1.44269504088896338700e+00)));
  const hi = f64x2.sub(x, f64x2.mul(k, f64x2.splat(6.93147180369123816490e-01)));
  const lo = f64x2.mul(k, f64x2.splat(1.90821492927058770002e-10));
  const r = f64x2.sub(hi, lo);
  const t = f64x2.mul(r, r);
  let p = f64x2.splat(4.13813679705723846039e-08);
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(-1.65339022054652515390e-06));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(6.61375632143793436117e-05));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(-2.77777777770155933842e-03));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(1.66666666666666019037e-01));
  const c = f64x2.sub(r, f64x2.mul(t, p));
  const q = f64x2.div(f64x2.mul(r, c), f64x2.sub(f64x2.splat(2.0), c));
  const y = f64x2.sub(f64x2.splat(1.0), f64x2.sub(f64x2.sub(lo, q), hi));
  // k as an i64 per lane: the low bits of k + 1.5·2⁵² (exact for |k| < 2⁵¹)
  const magic = f64x2.splat(6755399441055744.0);
  const ki = i64x2.sub(f64x2.add(k, magic), magic);
  const k1 = i64x2.shr_s(ki, 1), k2 = i64x2.sub(ki, k1);
  const bias = i64x2.splat(1023);
  const s1 = i64x2.shl(i64x2.add(k1, bias), 52), s2 = i64x2.shl(i64x2.add(k2, bias), 52);
  return f64x2.mul(f64x2.mul(y, s1), s2);
}

/**
 * tanh per lane: for |x| < 0.625 Cephes' rational x + x·z·P(z)/Q(z), z = x² (relative error
 * ~1e-16), else 1 − 2/(e^{2|x|} + 1) (no cancellation there: the result is > 0.55; it
 * saturates to exactly 1 where e^{2|x|} overflows); the sign is copied from x (so tanh(−0) = −0
 * and NaN stays NaN).
 */
// @ts-ignore: decorator
@inline function tanhV(x: v128): v128 {
  const a = f64x2.abs(x);
  const small = f64x2.lt(a, f64x2.splat(0.625));
  // each formula only where some lane needs it (a lane's result is the same either way)
  let m: v128;
  if (i64x2.all_true(small)) m = tanhSmallV(a);
  else if (!v128.any_true(small)) m = tanhBigV(a);
  else m = v128.bitselect(tanhSmallV(a), tanhBigV(a), small);
  const sign = v128.and(x, i64x2.splat(0x8000000000000000));
  return v128.or(m, sign);
}

/** tanh a for 0 ≤ a < 0.625: Cephes' rational a + a·z·P(z)/Q(z), z = a². */
// @ts-ignore: decorator
@inline function tanhSmallV(a: v128): v128 {
  const z = f64x2.mul(a, a);
  let pn = f64x2.splat(-9.64399179425052238628e-01);
  pn = f64x2.add(f64x2.mul(pn, z), f64x2.splat(-9.92877231001918586564e+01));
  pn = f64x2.add(f64x2.mul(pn, z), f64x2.splat(-1.61468768441708447952e+03));
  let pd = f64x2.add(z, f64x2.splat(1.12811678491632931402e+02));
  pd = f64x2.add(f64x2.mul(pd, z), f64x2.splat(2.23548839060100448583e+03));
  pd = f64x2.add(f64x2.mul(pd, z), f64x2.splat(4.84406305325125486048e+03));
  return f64x2.add(a, f64x2.mul(f64x2.mul(a, z), f64x2.div(pn, pd)));
}

/** tanh a for a ≥ 0.625 (and NaN): 1 − 2/(e^{2a} + 1). */
// @ts-ignore: decorator
@inline function tanhBigV(a: v128): v128 {
  const one = f64x2.splat(1.0);
  return f64x2.sub(one, f64x2.div(f64x2.splat(2.0), f64x2.add(expV(f64x2.add(a, a)), one)));
}

/** σ(x) per lane: 1/(1 + e⁻ˣ) for x ≥ 0, eˣ/(1 + eˣ) below (never overflows; NaN stays NaN). */
// @ts-ignore: decorator
@inline function sigmoidV(x: v128): v128 {
  const one = f64x2.splat(1.0);
  const e = expV(f64x2.neg(f64x2.abs(x)));
  const num = v128.bitselect(one, e, f64x2.ge(x, f64x2.splat(0.0)));
  return f64x2.div(num, f64x2.add(one, e));
}

/** f64x2 lanes → f64x2 lanes. */
// @ts-ignore: decorator
@inline function mapV(fn: i32, x: v128): v128 {
  return fn == 0 ? tanhV(x) : sigmoidV(x);
}

/** y[i] = f(x[i]) for f64 (fn 0: tanh, 1: sigmoid); the tail element goes through the same vector code. */
// @ts-ignore: decorator
@inline function unary64(fn: i32, y: usize, x: usize, count: i32): void {
  const nb: usize = <usize>count * 8, vb: usize = nb & ~(<usize>15);
  let i: usize = 0;
  for (; i < vb; i += 16) v128.store(y + i, mapV(fn, v128.load(x + i)));
  if (i < nb) store<f64>(y + i, f64x2.extract_lane(mapV(fn, v128.load_splat<f64>(x + i)), 0));
}

/**
 * eˣ per f64 lane for the f32 kernels, where ~1e-15 relative is plenty: x = k·ln2 + r with
 * |r| ≤ ln2/2, e^r by its Taylor series to r¹¹ (Horner, truncation < 7e-15; no division, unlike
 * {@link expV}), times 2ᵏ from the exponent bits. x must lie in [−700, 700] (the callers clamp).
 */
// @ts-ignore: decorator
@inline function expF32V(x: v128): v128 {
  const k = f64x2.nearest(f64x2.mul(x, f64x2.splat(1.44269504088896338700e+00)));
  const r = f64x2.sub(f64x2.sub(x, f64x2.mul(k, f64x2.splat(6.93147180369123816490e-01))), f64x2.mul(k, f64x2.splat(1.90821492927058770002e-10)));
  let p = f64x2.splat(1.0 / 39916800.0);
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 3628800.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 362880.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 40320.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 5040.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 720.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 120.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 24.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0 / 6.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  const magic = f64x2.splat(6755399441055744.0);
  const ki = i64x2.sub(f64x2.add(k, magic), magic);
  return f64x2.mul(p, i64x2.shl(i64x2.add(ki, i64x2.splat(1023)), 52));
}

/**
 * tanh for the f32 kernels, per f64 lane: 1 − 2/(e^{2|x|} + 1) with |x| clamped to 20 (tanh
 * rounds to 1 in f32 from 9.1), whose cancellation for small |x| costs at most ~1e-15/|x|
 * relative, below 1e-9 down to |x| = 2⁻²⁰, under which tanh x = x to 3e-13; one division for
 * two lanes where {@link tanhV} needs three. The sign is copied from x (tanh(−0) = −0, NaN
 * stays NaN: a NaN lane fails the `lt` and keeps 1 − 2/(NaN + 1)).
 */
// @ts-ignore: decorator
@inline function tanhF32V(x: v128): v128 {
  const a = f64x2.abs(x);
  const one = f64x2.splat(1.0);
  const s = expF32V(f64x2.add(f64x2.min(a, f64x2.splat(20.0)), f64x2.min(a, f64x2.splat(20.0))));
  const t = f64x2.sub(one, f64x2.div(f64x2.splat(2.0), f64x2.add(s, one)));
  const m = v128.bitselect(a, t, f64x2.lt(a, f64x2.splat(9.5367431640625e-07)));
  return v128.or(m, v128.and(x, i64x2.splat(0x8000000000000000)));
}

/**
 * σ for the f32 kernels, per f64 lane: (x ≥ 0 ? 1 : e)/(1 + e) with e = e^{−min(|x|, 200)} (σ
 * rounds to 0 in f32 below −104); e's ~1e-15 relative error moves σ by no more. NaN stays NaN.
 */
// @ts-ignore: decorator
@inline function sigmoidF32V(x: v128): v128 {
  const one = f64x2.splat(1.0);
  const e = expF32V(f64x2.neg(f64x2.min(f64x2.abs(x), f64x2.splat(200.0))));
  const num = v128.bitselect(one, e, f64x2.ge(x, f64x2.splat(0.0)));
  const y = f64x2.div(num, f64x2.add(one, e));
  // min/max above map NaN through, but bitselect on a NaN comparison picks e: keep NaN explicit
  return v128.bitselect(y, x, f64x2.eq(x, x));
}

/** f64x2 lanes → f64x2 lanes, the f32 kernels' variants. */
// @ts-ignore: decorator
@inline function mapF32V(fn: i32, x: v128): v128 {
  return fn == 0 ? tanhF32V(x) : sigmoidF32V(x);
}

/**
 * y[i] = f(x[i]) for f32, computed in f64 (four lanes promoted in two halves, the f64 result,
 * good to ~1e-9 relative, rounded once to f32: within half an f32 ulp plus that, bar a rare
 * double rounding). Tail elements go through the same code.
 */
// @ts-ignore: decorator
@inline function unary32(fn: i32, y: usize, x: usize, count: i32): void {
  const nb: usize = <usize>count * 4, vb: usize = nb & ~(<usize>15);
  let i: usize = 0;
  for (; i < vb; i += 16) {
    const v = v128.load(x + i);
    const lo = mapF32V(fn, f64x2.promote_low_f32x4(v));
    const hi = mapF32V(fn, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
    v128.store(y + i, v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
  }
  for (; i < nb; i += 4) {
    const r = f32x4.demote_f64x2_zero(mapF32V(fn, f64x2.promote_low_f32x4(v128.load_splat<f32>(x + i))));
    store<f32>(y + i, f32x4.extract_lane(r, 0));
  }
}

// --- element-wise exports (pointers bytes; strides, rows, n and counts elements) -------------

/** y[r, i] = a[r·as + i] + b[r·bs + i]  (f32). */
export function add_f32(y: usize, a: usize, as: i32, b: usize, bs: i32, rows: i32, n: i32): void { binary<f32>(OP_ADD, y, a, as, b, bs, rows, n); }
/** y[r, i] = a[r·as + i] − b[r·bs + i]  (f32). */
export function sub_f32(y: usize, a: usize, as: i32, b: usize, bs: i32, rows: i32, n: i32): void { binary<f32>(OP_SUB, y, a, as, b, bs, rows, n); }
/** y[r, i] = a[r·as + i] · b[r·bs + i]  (f32). */
export function mul_f32(y: usize, a: usize, as: i32, b: usize, bs: i32, rows: i32, n: i32): void { binary<f32>(OP_MUL, y, a, as, b, bs, rows, n); }
/** g[r·gs + i] += dy[r, i]  (f32; gs = 0 sums over rows). */
export function accAdd_f32(g: usize, gs: i32, dy: usize, rows: i32, n: i32): void { accumulate<f32>(OP_ADD, g, gs, dy, 0, 0, rows, n); }
/** g[r·gs + i] −= dy[r, i]  (f32). */
export function accSub_f32(g: usize, gs: i32, dy: usize, rows: i32, n: i32): void { accumulate<f32>(OP_SUB, g, gs, dy, 0, 0, rows, n); }
/** g[r·gs + i] += dy[r, i] · o[r·os + i]  (f32). */
export function accMul_f32(g: usize, gs: i32, dy: usize, o: usize, os: i32, rows: i32, n: i32): void { accumulate<f32>(OP_MUL, g, gs, dy, o, os, rows, n); }
/** y = tanh x over count elements (f32). */
export function tanh_f32(y: usize, x: usize, count: i32): void { unary32(0, y, x, count); }
/** y = σ(x) over count elements (f32). */
export function sigmoid_f32(y: usize, x: usize, count: i32): void { unary32(1, y, x, count); }
/** g += (1 − y²) dy (f32). */
export function accTanhGrad_f32(g: usize, dy: usize, y: usize, count: i32): void { accUnaryGrad<f32>(false, g, dy, y, count); }
/** g += y (1 − y) dy (f32). */
export function accSigmoidGrad_f32(g: usize, dy: usize, y: usize, count: i32): void { accUnaryGrad<f32>(true, g, dy, y, count); }

/** y[r, i] = a[r·as + i] + b[r·bs + i]  (f64). */
export function add_f64(y: usize, a: usize, as: i32, b: usize, bs: i32, rows: i32, n: i32): void { binary<f64>(OP_ADD, y, a, as, b, bs, rows, n); }
/** y[r, i] = a[r·as + i] − b[r·bs + i]  (f64). */
export function sub_f64(y: usize, a: usize, as: i32, b: usize, bs: i32, rows: i32, n: i32): void { binary<f64>(OP_SUB, y, a, as, b, bs, rows, n); }
/** y[r, i] = a[r·as + i] · b[r·bs + i]  (f64). */
export function mul_f64(y: usize, a: usize, as: i32, b: usize, bs: i32, rows: i32, n: i32): void { binary<f64>(OP_MUL, y, a, as, b, bs, rows, n); }
/** g[r·gs + i] += dy[r, i]  (f64; gs = 0 sums over rows). */
export function accAdd_f64(g: usize, gs: i32, dy: usize, rows: i32, n: i32): void { accumulate<f64>(OP_ADD, g, gs, dy, 0, 0, rows, n); }
/** g[r·gs + i] −= dy[r, i]  (f64). */
export function accSub_f64(g: usize, gs: i32, dy: usize, rows: i32, n: i32): void { accumulate<f64>(OP_SUB, g, gs, dy, 0, 0, rows, n); }
/** g[r·gs + i] += dy[r, i] · o[r·os + i]  (f64). */
export function accMul_f64(g: usize, gs: i32, dy: usize, o: usize, os: i32, rows: i32, n: i32): void { accumulate<f64>(OP_MUL, g, gs, dy, o, os, rows, n); }
/** y = tanh x over count elements (f64). */
export function tanh_f64(y: usize, x: usize, count: i32): void { unary64(0, y, x, count); }
/** y = σ(x) over count elements (f64). */
export function sigmoid_f64(y: usize, x: usize, count: i32): void { unary64(1, y, x, count); }
/** g += (1 − y²) dy (f64). */
export function accTanhGrad_f64(g: usize, dy: usize, y: usize, count: i32): void { accUnaryGrad<f64>(false, g, dy, y, count); }
/** g += y (1 − y) dy (f64). */
export function accSigmoidGrad_f64(g: usize, dy: usize, y: usize, count: i32): void { accUnaryGrad<f64>(true, g, dy, y, count); }

// ---------------------------------------------------------------------------------------------
// Bulk zeroing (the cotangent slots the reverse walk clears before their first accumulation).
// `TypedArray.prototype.fill` over a SHARED buffer takes a slow element-by-element path in V8
// (about 10× a plain buffer's); `memory.fill` is a memset either way.
// ---------------------------------------------------------------------------------------------

/** Sets `bytes` bytes from byte offset p to zero (0.0 in f32 and f64). */
export function zero(p: usize, bytes: usize): void {
  memory.fill(p, 0, bytes);
}

/**
 * y[r·ys + i] = x[r·xs + i] for r < rows, i < n: a memmove per row (all BYTE strides and sizes;
 * xs = 0 repeats one row). slice and concat's forward: a row of a gate block, a part of [x; h].
 */
export function copyRows(y: usize, ys: usize, x: usize, xs: usize, rows: i32, nb: usize): void {
  for (let r = 0; r < rows; r++) {
    memory.copy(y, x, nb);
    y += ys;
    x += xs;
  }
}

// ---------------------------------------------------------------------------------------------
// Fused element-wise groups (src/fuse.ts builds the programs). A group is a run of element-wise
// eqns over one batch of rows; its program is a list of 64-byte op records that ONE call runs
// for rows r0 ≤ r < r1, chunk by chunk of each row (a chunk ≤ the program's `chunk` elements),
// every op on the chunk before the next chunk: values a later op reads stay in L1, and values
// nobody reads after the group ("registers") never leave a per-call scratch area.
//
// Program header (i32 words): [0] op count, [1] width n (elements of a row), [2] chunk (elements),
// [3] unused; op records follow from byte 16, 64 bytes each:
//   [0] code   [1..3] y: kind, base, row stride   [4..6] a   [7..9] b   [12..13] α (f64)   [14..15] β (f64)
// An operand of kind 0 lives in the arenas: the chunk (r, c0) starts at base + r·stride + c0·E
// (all BYTES; stride 0 = one shared row). Kind 1 is a register: scratch + base (a chunk's slot).
//
// Each op does exactly the IEEE operations of the unfused kernel or TS rule it replaces, per
// element, so a fused plan's values and gradients are bit-identical to the unfused plan's
// (test/fuse.test.ts): add/sub/mul/tanh/sigmoid and their VJPs call the same inline bodies as
// the kernels above; the affine family (neg, scale, shift, copy) computes α·x + β in f64 and
// rounds once, as the TS rule does on a Float32Array; relu is `x > 0 ? x : 0`.
// ---------------------------------------------------------------------------------------------

const F_ADD = 0, F_SUB = 1, F_MUL = 2, F_TANH = 3, F_SIGMOID = 4, F_AFFINE = 5, F_RELU = 6, F_COPY = 7;
const B_ZERO = 8, B_ADD = 9, B_SUB = 10, B_MUL = 11, B_TANH = 12, B_SIGMOID = 13, B_AFFINE = 14, B_RELU = 15;

/** Address of an operand's chunk (see above). */
// @ts-ignore: decorator
@inline function operand(op: usize, at: usize, scratch: usize, r: usize, c0b: usize): usize {
  const kind = load<i32>(op + at), base = <usize>load<u32>(op + at + 4);
  return kind == 0 ? base + r * <usize>load<u32>(op + at + 8) + c0b : scratch + base;
}

/** y[i] = α·x[i] + β in f64, rounded once (f32: the TS rule's arithmetic on a Float32Array). */
// @ts-ignore: decorator
@inline function affineSpan<T>(y: usize, x: usize, alpha: f64, beta: f64, len: i32): void {
  const E: usize = sizeof<T>();
  const nb: usize = <usize>len * E;
  let i: usize = 0;
  const a = f64x2.splat(alpha), c = f64x2.splat(beta);
  if (sizeof<T>() == 8) {
    for (; i + 16 <= nb; i += 16) v128.store(y + i, f64x2.add(f64x2.mul(a, v128.load(x + i)), c));
  } else {
    // four f32 lanes as two f64 halves, each rounded once on the way back
    for (; i + 16 <= nb; i += 16) {
      const v = v128.load(x + i);
      const lo = f64x2.add(f64x2.mul(a, f64x2.promote_low_f32x4(v)), c);
      const hi = f64x2.add(f64x2.mul(a, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1))), c);
      v128.store(y + i, v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
    }
  }
  for (; i < nb; i += E) store<T>(y + i, <T>(alpha * <f64>load<T>(x + i) + beta));
}

/** g[i] = g[i] + α·dy[i] in f64, rounded once (the TS rule's `g += α·dy`). */
// @ts-ignore: decorator
@inline function affineGradSpan<T>(g: usize, dy: usize, alpha: f64, len: i32): void {
  const E: usize = sizeof<T>();
  const nb: usize = <usize>len * E;
  let i: usize = 0;
  const a = f64x2.splat(alpha);
  if (sizeof<T>() == 8) {
    for (; i + 16 <= nb; i += 16) v128.store(g + i, f64x2.add(v128.load(g + i), f64x2.mul(a, v128.load(dy + i))));
  } else {
    for (; i + 16 <= nb; i += 16) {
      const gv = v128.load(g + i), dv = v128.load(dy + i);
      const lo = f64x2.add(f64x2.promote_low_f32x4(gv), f64x2.mul(a, f64x2.promote_low_f32x4(dv)));
      const hi = f64x2.add(f64x2.promote_low_f32x4(v128.shuffle<f32>(gv, gv, 2, 3, 0, 1)), f64x2.mul(a, f64x2.promote_low_f32x4(v128.shuffle<f32>(dv, dv, 2, 3, 0, 1))));
      v128.store(g + i, v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
    }
  }
  for (; i < nb; i += E) store<T>(g + i, <T>(<f64>load<T>(g + i) + alpha * <f64>load<T>(dy + i)));
}

/** y[i] = x[i] > 0 ? x[i] : 0. */
// @ts-ignore: decorator
@inline function reluSpan<T>(y: usize, x: usize, len: i32): void {
  const E: usize = sizeof<T>();
  const nb: usize = <usize>len * E, vb: usize = nb & ~(<usize>15);
  const z = v128.splat<T>(<T>0);
  let i: usize = 0;
  for (; i < vb; i += 16) {
    const v = v128.load(x + i);
    v128.store(y + i, v128.bitselect(v, z, v128.gt<T>(v, z)));
  }
  for (; i < nb; i += E) { const v = load<T>(x + i); store<T>(y + i, v > <T>0 ? v : <T>0); }
}

/** g[i] += dy[i] where the saved output y[i] > 0 (g untouched elsewhere). */
// @ts-ignore: decorator
@inline function reluGradSpan<T>(g: usize, dy: usize, y: usize, len: i32): void {
  const E: usize = sizeof<T>();
  const nb: usize = <usize>len * E, vb: usize = nb & ~(<usize>15);
  const z = v128.splat<T>(<T>0);
  let i: usize = 0;
  for (; i < vb; i += 16) {
    const gv = v128.load(g + i);
    v128.store(g + i, v128.bitselect(v128.add<T>(gv, v128.load(dy + i)), gv, v128.gt<T>(v128.load(y + i), z)));
  }
  for (; i < nb; i += E) if (load<T>(y + i) > <T>0) store<T>(g + i, load<T>(g + i) + load<T>(dy + i));
}

/** Runs a fused program (forward or VJP) over rows r0 ≤ r < r1 with the given scratch area. */
// @ts-ignore: decorator
@inline function fused<T>(prog: usize, scratch: usize, r0: i32, r1: i32): void {
  const E: usize = sizeof<T>();
  const count = load<i32>(prog), n = load<i32>(prog, 4), chunk = load<i32>(prog, 8);
  const ops = prog + 16, end = ops + (<usize>count << 6);
  for (let r = r0; r < r1; r++) {
    const ru = <usize>r;
    for (let c0 = 0; c0 < n; c0 += chunk) {
      const len = min(chunk, n - c0), c0b = <usize>c0 * E;
      for (let op = ops; op < end; op += 64) {
        const code = load<i32>(op);
        const y = operand(op, 4, scratch, ru, c0b);
        if (code == B_ZERO) { memory.fill(y, 0, <usize>len * E); continue; }
        const a = operand(op, 16, scratch, ru, c0b);
        switch (code) {
          case F_ADD: binary<T>(OP_ADD, y, a, 0, operand(op, 28, scratch, ru, c0b), 0, 1, len); break;
          case F_SUB: binary<T>(OP_SUB, y, a, 0, operand(op, 28, scratch, ru, c0b), 0, 1, len); break;
          case F_MUL: binary<T>(OP_MUL, y, a, 0, operand(op, 28, scratch, ru, c0b), 0, 1, len); break;
          case F_TANH: if (sizeof<T>() == 4) unary32(0, y, a, len); else unary64(0, y, a, len); break;
          case F_SIGMOID: if (sizeof<T>() == 4) unary32(1, y, a, len); else unary64(1, y, a, len); break;
          case F_AFFINE: affineSpan<T>(y, a, load<f64>(op, 48), load<f64>(op, 56), len); break;
          case F_RELU: reluSpan<T>(y, a, len); break;
          case F_COPY: memory.copy(y, a, <usize>len * E); break;
          case B_ADD: accumulate<T>(OP_ADD, y, 0, a, 0, 0, 1, len); break;
          case B_SUB: accumulate<T>(OP_SUB, y, 0, a, 0, 0, 1, len); break;
          case B_MUL: accumulate<T>(OP_MUL, y, 0, a, operand(op, 28, scratch, ru, c0b), 0, 1, len); break;
          case B_TANH: accUnaryGrad<T>(false, y, a, operand(op, 28, scratch, ru, c0b), len); break;
          case B_SIGMOID: accUnaryGrad<T>(true, y, a, operand(op, 28, scratch, ru, c0b), len); break;
          case B_AFFINE: affineGradSpan<T>(y, a, load<f64>(op, 48), len); break;
          case B_RELU: reluGradSpan<T>(y, a, operand(op, 28, scratch, ru, c0b), len); break;
          default: unreachable();
        }
      }
    }
  }
}

/** Runs the fused program at byte `prog` over rows [r0, r1), registers at byte `scratch` (f32). */
export function fused_f32(prog: usize, scratch: usize, r0: i32, r1: i32): void { fused<f32>(prog, scratch, r0, r1); }
/** {@link fused_f32} for f64. */
export function fused_f64(prog: usize, scratch: usize, r0: i32, r1: i32): void { fused<f64>(prog, scratch, r0, r1); }
