//! The kernels in plain, safe Rust, for every target: written so that LLVM vectorises
//! them by itself with whatever SIMD the build's baseline has (SSE2 `mulps`/`addps` on
//! x86-64, NEON on aarch64), which is why they look the way they do.
//!
//! A dot product summed into one `f32` cannot be vectorised: reassociating float
//! additions changes the result, and LLVM may not do that without fast-math. So the sum
//! is split by hand into 8 independent lanes over fixed-size `[f32; 8]` blocks — the
//! array type removes the bounds checks, and 8 lanes are two SSE or one AVX register —
//! and the lanes are added up at the end in f64 (the remainder too). `axpy` has no
//! loop-carried sum, so a zip is already vectorised.
//!
//! Checked in the x86-64 disassembly (`objdump -d` of the release test binary): the
//! dot loop is `movups`/`mulps`/`addps` on two `xmm` accumulators (the SSE2 baseline),
//! unrolled twice, and `vmulps`/`vaddps` on `ymm` with `-C target-cpu=x86-64-v3`; no
//! `vfmadd`, because Rust never contracts `a * b + c` into a fused multiply-add on its
//! own. This needs opt-level 3, which the release profile gives the core: at opt-level
//! 2 (the dev profile) the same loop is scalar `mulss`/`addss`, and so is the
//! `--emit asm` of a release *rlib*, which under `lto = true` is only LTO's pre-link
//! stage (vectorisation happens after linking).

/// `Σ aᵢ·bᵢ` over the shorter slice: 8 f32 lanes, then summed in f64.
pub fn dot_unclamped(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0f32; 8];
    // `as_chunks` hands out `[f32; 8]` arrays: fixed-size, so the loop has no bounds
    // checks and no panic path, and LLVM sees eight independent accumulators.
    let (ca, ra) = a.as_chunks::<8>();
    let (cb, rb) = b.as_chunks::<8>();
    for (x, y) in ca.iter().zip(cb) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    // Lanes k and k + 4 are added in f32 first, then the four sums in f64 onto 0.0:
    // exactly the wasm32 kernel's `s0 + s1` and lane extraction, so both kernels give
    // the same bits. The shape also decides the loop's code (checked in the x86-64
    // disassembly, and fragile): widening all 8 lanes to f64 separately, as this code
    // once did, or starting the sum from lane 0 instead of 0.0, makes LLVM's SLP
    // vectoriser pack only some lanes (2 + 4, or pairs of 2 via `movsd`) and run the
    // rest as scalar `mulss`/`addss`; this form gets the loop vectoriser's full
    // `movups`/`mulps`/`addps` on 4-wide registers.
    let mut sum = 0f64;
    for k in 0..4 {
        sum += f64::from(lanes[k] + lanes[k + 4]);
    }
    for (x, y) in ra.iter().zip(rb) {
        sum += f64::from(x * y);
    }
    sum
}

/// `y += s·x` over the shorter slice.
pub fn axpy(s: f32, x: &[f32], y: &mut [f32]) {
    y.iter_mut().zip(x).for_each(|(o, v)| *o += s * v);
}

/// Four dot products at once — `a0·b0`, `a0·b1`, `a1·b0`, `a1·b1` — for the Gram
/// kernel's inner tile, each with the very operations of [`dot_unclamped`] (8 f32
/// lanes in the same order, folded and summed in f64 the same way), so every value is
/// bit for bit the one a plain double loop of `dot_unclamped` gives. What changes is
/// the memory traffic: each loaded block of 8 values of a row feeds two products, so a
/// multiply-add costs one load instead of two, and four accumulator pairs keep the
/// (SSE2: 16) registers busy without spilling. All four slices must be `n` long.
pub fn dot_2x2(a0: &[f32], a1: &[f32], b0: &[f32], b1: &[f32]) -> [f64; 4] {
    let n = a0.len().min(a1.len()).min(b0.len()).min(b1.len());
    let (a0, a1, b0, b1) = (&a0[..n], &a1[..n], &b0[..n], &b1[..n]);
    let (mut l00, mut l01, mut l10, mut l11) = ([0f32; 8], [0f32; 8], [0f32; 8], [0f32; 8]);
    let (c0, r0) = a0.as_chunks::<8>();
    let (c1, r1) = a1.as_chunks::<8>();
    let (d0, s0) = b0.as_chunks::<8>();
    let (d1, s1) = b1.as_chunks::<8>();
    for (((x0, x1), y0), y1) in c0.iter().zip(c1).zip(d0).zip(d1) {
        for k in 0..8 {
            l00[k] += x0[k] * y0[k];
            l01[k] += x0[k] * y1[k];
            l10[k] += x1[k] * y0[k];
            l11[k] += x1[k] * y1[k];
        }
    }
    let fold = |lanes: [f32; 8], x: &[f32], y: &[f32]| {
        let mut sum = 0f64;
        for k in 0..4 {
            sum += f64::from(lanes[k] + lanes[k + 4]);
        }
        for (p, q) in x.iter().zip(y) {
            sum += f64::from(p * q);
        }
        sum
    };
    [
        fold(l00, r0, s0),
        fold(l01, r0, s1),
        fold(l10, r1, s0),
        fold(l11, r1, s1),
    ]
}

/// [`super::dots_2x4`], in plain Rust.
pub fn dots_2x4(a: [&[f32]; 2], b: [&[f32]; 4]) -> [[f32; 4]; 2] {
    let n = a.iter().chain(&b).map(|v| v.len()).min().unwrap_or(0);
    let blocks = n / 4;
    let mut lanes = [[[0f32; 4]; 4]; 2];
    for i in 0..blocks {
        for (r, row) in lanes.iter_mut().enumerate() {
            for (c, acc) in row.iter_mut().enumerate() {
                for (l, v) in acc.iter_mut().enumerate() {
                    *v += a[r][i * 4 + l] * b[c][i * 4 + l];
                }
            }
        }
    }
    finish_2x4(a, b, lanes, blocks * 4, n)
}

/// `axpy4` on the whole blocks of 4 — none here: the caller's tail loop does all of
/// them; returns where the tail starts.
pub fn axpy4(_s: [f32; 4], _x: [&[f32]; 4], _y: &mut [f32]) -> usize {
    0
}

/// Lanes summed as `(l0 + l2) + (l1 + l3)`, then the tail from `from` to `n`.
pub fn finish_2x4(
    a: [&[f32]; 2],
    b: [&[f32]; 4],
    lanes: [[[f32; 4]; 4]; 2],
    from: usize,
    n: usize,
) -> [[f32; 4]; 2] {
    let mut out = lanes.map(|row| row.map(|l| (l[0] + l[2]) + (l[1] + l[3])));
    for (r, row) in out.iter_mut().enumerate() {
        for (c, sum) in row.iter_mut().enumerate() {
            for i in from..n {
                *sum += a[r][i] * b[c][i];
            }
        }
    }
    out
}
