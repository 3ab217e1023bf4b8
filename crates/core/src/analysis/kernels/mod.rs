//! The two inner loops of every analysis — a dot product and `y += s·x` — behind one
//! dispatcher, laid out as fast_image_resize lays out its convolutions: one file per
//! instruction set ([`portable`] for every target, [`wasm32`] for WebAssembly SIMD) and
//! this module choosing between them.
//!
//! The choice is made at compile time, not at run time: a wasm module either was built
//! with `simd128` (then every instruction in it may be SIMD, and the browser refuses to
//! load it otherwise) or was not, so there is nothing to detect; natively the portable
//! code is what LLVM vectorises for the build's baseline (SSE2 on x86-64, NEON on
//! aarch64) without any `unsafe`. Callers use [`dot`], [`dot_unclamped`] and [`axpy`]
//! (re-exported by `analysis`) and never name an implementation.
//!
//! [`dots_2x4`] (2 rows against 4) and [`axpy4`] (four rows' share of a gradient) are
//! the register-blocked steps of the outlier scores, kNN and the classifier's training.
//!
//! [`gram`] and [`gram_symmetric`] — every row of one matrix against every row of
//! another — are the similarity heatmap's kernel. A plain double loop of [`dot`] over
//! 2 048 rows of 1024 floats streams the whole 8 MB right-hand matrix past every left
//! row, so it runs at the speed of the last-level cache or of memory, not of the
//! arithmetic. The Gram kernel is cache-blocked as a matrix product is: the right rows
//! are taken in tiles of [`TILE_BYTES`] (256 KB, well inside a 512 KB–2 MB L2), every
//! left row streams past a tile while the tile stays in L2, and the innermost step
//! ([`dot_2x2`], one per instruction set) computes a 2 × 2 block of products, so each
//! loaded value serves two products and eight independent accumulators hide the
//! latency of the additions. The tiling is shared code here; only the 2 × 2 step
//! differs per architecture: explicit SIMD on wasm32 and on x86-64 (SSE2, the
//! baseline, for the native tests and benchmarks: LLVM does not vectorise this step
//! reliably, see [`x86_64`]), the portable one elsewhere. Each value is bit for bit the `dot_unclamped` of its
//! pair (same lanes, same order), which the tests check against the plain loop.

pub mod portable;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod wasm32;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

/// Dot product, clamped to a cosine's range (rounding can take the cosine of two
/// normalised vectors a hair past ±1, and `acos` or a colour scale would then misbehave).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    (dot_unclamped(a, b) as f32).clamp(-1.0, 1.0)
}

/// `Σ aᵢ·bᵢ` over the shorter of the two slices, accumulated in 8 independent f32 lanes
/// and summed in f64.
#[inline]
pub fn dot_unclamped(a: &[f32], b: &[f32]) -> f64 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        wasm32::dot_unclamped(a, b)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        portable::dot_unclamped(a, b)
    }
}

/// `y += s·x` over the shorter of the two slices (gradients, covariance products).
#[inline]
pub fn axpy(s: f32, x: &[f32], y: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        wasm32::axpy(s, x, y)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        portable::axpy(s, x, y)
    }
}

/// `a0·b0, a0·b1, a1·b0, a1·b1`, each exactly as [`dot_unclamped`] computes it, over
/// the shortest of the four slices.
#[inline]
pub fn dot_2x2(a0: &[f32], a1: &[f32], b0: &[f32], b1: &[f32]) -> [f64; 4] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        wasm32::dot_2x2(a0, a1, b0, b1)
    }
    #[cfg(target_arch = "x86_64")]
    {
        x86_64::dot_2x2(a0, a1, b0, b1)
    }
    #[cfg(not(any(
        all(target_arch = "wasm32", target_feature = "simd128"),
        target_arch = "x86_64"
    )))]
    {
        portable::dot_2x2(a0, a1, b0, b1)
    }
}

/// The 8 dot products of 2 vectors with 4 others (all of one length, else the shortest
/// counts), in f32: 4 lanes per product, the 6 blocks of 4 loaded per step serving 8
/// multiplications, the lanes summed as `(l0 + l2) + (l1 + l3)` at the end and the tail
/// (a length not a multiple of 4) added in order. Every implementation sums in that
/// order, so all give the same bits; they agree with [`dot`] to rounding. Explicit SIMD
/// on x86-64 and wasm32, because LLVM vectorises the portable form badly: its SLP
/// vectoriser packs *across* products (a transpose by shuffles on every step, seen in
/// the x86-64 disassembly, slower than the plain dot product), and for wasm32 it does not
/// vectorise such loops at all. The outlier scores, kNN and the classifier use it.
#[inline]
pub fn dots_2x4(a: [&[f32]; 2], b: [&[f32]; 4]) -> [[f32; 4]; 2] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        wasm32::dots_2x4(a, b)
    }
    #[cfg(target_arch = "x86_64")]
    {
        x86_64::dots_2x4(a, b)
    }
    #[cfg(not(any(
        all(target_arch = "wasm32", target_feature = "simd128"),
        target_arch = "x86_64"
    )))]
    {
        portable::dots_2x4(a, b)
    }
}

/// `y += ((s₀·x₀ + s₁·x₁) + s₂·x₂) + s₃·x₃` over the shortest slice: four rows' share of
/// a gradient with one load and one store of `y` (an `axpy` per row is bound by them).
pub fn axpy4(s: [f32; 4], x: [&[f32]; 4], y: &mut [f32]) {
    let n = x.iter().map(|v| v.len()).fold(y.len(), usize::min);
    let y = &mut y[..n];
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = wasm32::axpy4(s, x, y);
    #[cfg(target_arch = "x86_64")]
    let done = x86_64::axpy4(s, x, y);
    #[cfg(not(any(
        all(target_arch = "wasm32", target_feature = "simd128"),
        target_arch = "x86_64"
    )))]
    let done = portable::axpy4(s, x, y);
    for i in done..n {
        y[i] += s[0] * x[0][i] + s[1] * x[1][i] + s[2] * x[2][i] + s[3] * x[3][i];
    }
}

/// The size of a tile of right-hand rows the Gram kernel keeps cache-resident: a
/// quarter of a typical 1 MB L2 (half of the smallest common one), leaving room for the
/// streamed left rows and the output.
pub const TILE_BYTES: usize = 256 * 1024;

/// Right-hand rows per tile for rows of `dim` floats: even (the 2 × 2 step), at least 2.
fn tile_rows(dim: usize) -> usize {
    let rows = TILE_BYTES / (dim.max(1) * std::mem::size_of::<f32>());
    (rows.clamp(2, 4096) / 2) * 2
}

/// `out[i·n + j] = a_i · b_j` (unclamped, as [`dot_unclamped`] rounded to f32) for the
/// `m` rows of `a` and the `n` rows of `b`, both row-major with `dim` floats a row:
/// `a.len() = m·dim`, `b.len() = n·dim`, `out.len() = m·n`. With `dim = 0` every
/// product is 0 (and `out` says how many there are).
///
/// # Panics
/// If a length is not a multiple of `dim` or `out` has the wrong size.
pub fn gram(a: &[f32], b: &[f32], dim: usize, out: &mut [f32]) {
    if dim == 0 {
        out.fill(0.0);
        return;
    }
    assert!(
        a.len().is_multiple_of(dim) && b.len().is_multiple_of(dim),
        "rows of {dim} values"
    );
    let (m, n) = (a.len() / dim, b.len() / dim);
    assert_eq!(out.len(), m * n, "an output of {m} × {n}");
    let tile = tile_rows(dim);
    for j0 in (0..n).step_by(tile) {
        block(a, 0..m, b, j0..(j0 + tile).min(n), dim, out, n);
    }
}

/// The square Gram matrix of the `m` rows of `a` (`out.len() = m·m`): as [`gram`] of
/// `a` with itself, every value the same bits, but only the upper triangle is computed
/// (tile by tile, the left rows up to the tile's last) and mirrored, as `a·b = b·a`
/// exactly in floating point (products commute; the sums are in the same order).
pub fn gram_symmetric(a: &[f32], dim: usize, out: &mut [f32]) {
    if dim == 0 {
        out.fill(0.0);
        return;
    }
    assert!(a.len().is_multiple_of(dim), "rows of {dim} values");
    let m = a.len() / dim;
    assert_eq!(out.len(), m * m, "an output of {m} × {m}");
    let tile = tile_rows(dim);
    for j0 in (0..m).step_by(tile) {
        let j1 = (j0 + tile).min(m);
        block(a, 0..j1, a, j0..j1, dim, out, m);
    }
    // Everything with i ≤ j is computed; copy it below the diagonal.
    for i in 1..m {
        for j in 0..i {
            out[i * m + j] = out[j * m + i];
        }
    }
}

/// Rows `ri` of `a` against rows `rj` of `b` (one cache tile), into `out` with rows of
/// `stride` values: pairs of left rows against pairs of right rows through
/// [`dot_2x2`], an odd row or column through [`dot_unclamped`].
fn block(
    a: &[f32],
    ri: std::ops::Range<usize>,
    b: &[f32],
    rj: std::ops::Range<usize>,
    dim: usize,
    out: &mut [f32],
    stride: usize,
) {
    fn row(m: &[f32], i: usize, dim: usize) -> &[f32] {
        &m[i * dim..(i + 1) * dim]
    }
    let mut i = ri.start;
    while i < ri.end {
        let pair = i + 1 < ri.end;
        let mut j = rj.start;
        while j < rj.end {
            if pair && j + 1 < rj.end {
                let [p00, p01, p10, p11] = dot_2x2(
                    row(a, i, dim),
                    row(a, i + 1, dim),
                    row(b, j, dim),
                    row(b, j + 1, dim),
                );
                out[i * stride + j] = p00 as f32;
                out[i * stride + j + 1] = p01 as f32;
                out[(i + 1) * stride + j] = p10 as f32;
                out[(i + 1) * stride + j + 1] = p11 as f32;
                j += 2;
            } else {
                out[i * stride + j] = dot_unclamped(row(a, i, dim), row(b, j, dim)) as f32;
                if pair {
                    out[(i + 1) * stride + j] =
                        dot_unclamped(row(a, i + 1, dim), row(b, j, dim)) as f32;
                }
                j += 1;
            }
        }
        i += if pair { 2 } else { 1 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values that make a sloppy kernel show: signs alternating so that sums cancel,
    /// magnitudes from 1e-30 to 1e4 (products that underflow f32 next to ones that
    /// dominate), exact zeros and a subnormal, all deterministic.
    fn awkward(n: usize, seed: u32) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9E37_79B9) | 1;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let unit = (x >> 8) as f32 / (1u32 << 24) as f32; // [0, 1)
                let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
                match i % 7 {
                    0 => 0.0,
                    1 => sign * unit * 1e4,
                    2 => sign * unit * 1e-30,
                    3 => f32::from_bits(0x0000_0400), // subnormal
                    4 => sign * (1.0 + unit * f32::EPSILON),
                    _ => sign * unit,
                }
            })
            .collect()
    }

    /// The reference: every product and the sum in f64.
    fn plain(a: &[f32], b: &[f32]) -> (f64, f64) {
        a.iter().zip(b).fold((0.0, 0.0), |(s, m), (x, y)| {
            let p = f64::from(*x) * f64::from(*y);
            (s + p, m + p.abs())
        })
    }

    /// The smallest f32 step: below `f32::MIN_POSITIVE` rounding is absolute, not
    /// relative (products of subnormals flush to zero).
    const TINY: f64 = 1.401_298_464_324_817e-45;

    /// f32 lanes of `n / 8` terms each: each term and each addition rounds by at most
    /// half an f32 ulp of the running magnitude, which `Σ|aᵢ·bᵢ|` bounds, or by half the
    /// smallest subnormal.
    fn tolerance(n: usize, magnitude: f64) -> f64 {
        (n as f64 / 8.0 + 2.0) * (f64::from(f32::EPSILON) * magnitude + TINY)
    }

    fn lengths() -> impl Iterator<Item = usize> {
        (0..=40).chain([1024])
    }

    #[test]
    fn dot_agrees_with_an_f64_sum_at_every_awkward_length() {
        for n in lengths() {
            let (a, b) = (awkward(n, 1), awkward(n, 2));
            let (expected, magnitude) = plain(&a, &b);
            let got = dot_unclamped(&a, &b);
            assert!(
                (got - expected).abs() <= tolerance(n, magnitude),
                "n = {n}: {got} vs {expected} (Σ|ab| = {magnitude})"
            );
            // Small values only, so the f32 lanes are exact enough to compare tightly.
            let (a, b): (Vec<f32>, Vec<f32>) = (
                (0..n).map(|i| (i as f32 * 0.37).sin()).collect(),
                (0..n).map(|i| (i as f32 * 0.11).cos()).collect(),
            );
            let (expected, magnitude) = plain(&a, &b);
            let got = dot_unclamped(&a, &b);
            assert!(
                (got - expected).abs() <= tolerance(n, magnitude),
                "n = {n}: {got} vs {expected}"
            );
        }
    }

    #[test]
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    fn the_dispatcher_is_the_portable_kernel_natively() {
        for n in lengths() {
            let (a, b) = (awkward(n, 3), awkward(n, 4));
            assert_eq!(
                dot_unclamped(&a, &b).to_bits(),
                portable::dot_unclamped(&a, &b).to_bits()
            );
        }
    }

    #[test]
    fn dot_uses_the_shorter_slice_and_clamps() {
        let a = awkward(29, 5);
        let b = awkward(17, 6);
        assert_eq!(dot_unclamped(&a, &b), dot_unclamped(&a[..17], &b));
        assert_eq!(dot_unclamped(&b, &a), dot_unclamped(&b, &a[..17]));
        let big = vec![2.0f32; 9];
        assert_eq!(dot_unclamped(&big, &big), 36.0);
        assert_eq!(dot(&big, &big), 1.0);
        let minus: Vec<f32> = big.iter().map(|v| -v).collect();
        assert_eq!(dot(&big, &minus), -1.0);
        assert_eq!(dot(&[], &[]), 0.0);
    }

    #[test]
    fn axpy_agrees_with_a_scalar_loop_at_every_awkward_length() {
        for n in lengths() {
            let (x, y0) = (awkward(n, 7), awkward(n, 8));
            for s in [0.0f32, 1.0, -0.5, 3.0e-3, 1.0e5] {
                let mut y = y0.clone();
                axpy(s, &x, &mut y);
                for (i, ((got, x), y)) in y.iter().zip(&x).zip(&y0).enumerate() {
                    // The same two f32 roundings as the kernels (no fused multiply-add).
                    assert_eq!(got.to_bits(), (y + s * x).to_bits(), "n = {n}, i = {i}");
                    let exact = f64::from(*y) + f64::from(s) * f64::from(*x);
                    let bound = f64::from(f32::EPSILON)
                        * (f64::from(y.abs()) + f64::from(s.abs() * x.abs()))
                        + 2.0 * TINY;
                    assert!((f64::from(*got) - exact).abs() <= bound, "n = {n}, i = {i}");
                }
            }
        }
    }

    #[test]
    fn axpy_stops_at_the_shorter_slice() {
        let x = vec![1.0f32; 13];
        let mut y = vec![0.0f32; 20];
        axpy(2.0, &x, &mut y);
        assert_eq!(&y[..13], &[2.0; 13]);
        assert_eq!(&y[13..], &[0.0; 7]);
        let mut short = vec![1.0f32; 5];
        axpy(2.0, &x, &mut short);
        assert_eq!(short, vec![3.0; 5]);
    }

    /// The naive double loop the Gram kernel replaces.
    fn naive(a: &[f32], b: &[f32], dim: usize) -> Vec<f32> {
        let (ra, rb) = (a.chunks(dim), b.chunks(dim));
        ra.flat_map(|x| rb.clone().map(move |y| dot_unclamped(x, y) as f32))
            .collect()
    }

    #[test]
    fn gram_is_the_naive_loop_bit_for_bit() {
        // Odd and even row counts (the 2 × 2 step's edges), widths around 8, and rows
        // wide enough (8192 floats: tiles of 8 rows) that 21 right rows span 3 tiles.
        for (m, n, dim) in [
            (0, 3, 8),
            (1, 1, 1),
            (3, 5, 7),
            (4, 4, 8),
            (5, 2, 9),
            (7, 9, 17),
            (6, 11, 40),
            (9, 21, 8192),
        ] {
            let a = awkward(m * dim, 11 + m as u32);
            let b = awkward(n * dim, 13 + n as u32);
            let mut out = vec![f32::NAN; m * n];
            gram(&a, &b, dim, &mut out);
            let want = naive(&a, &b, dim);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&out), bits(&want), "{m} × {n} × {dim}");
        }
        assert!(tile_rows(8192) < 21, "the last case spans several tiles");
    }

    #[test]
    fn the_symmetric_gram_is_the_full_one() {
        for (m, dim) in [(0, 4), (1, 3), (2, 8), (5, 9), (13, 33), (19, 8192)] {
            let a = awkward(m * dim, 17 + m as u32);
            let mut full = vec![f32::NAN; m * m];
            gram(&a, &a, dim, &mut full);
            let mut sym = vec![f32::NAN; m * m];
            gram_symmetric(&a, dim, &mut sym);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&sym), bits(&full), "{m} × {dim}");
            assert_eq!(bits(&sym), bits(&naive(&a, &a, dim)), "{m} × {dim}");
        }
    }

    #[test]
    fn gram_of_nothing_wide_is_zeros_and_sizes_are_checked() {
        let mut out = vec![1.0f32; 6];
        gram(&[], &[], 0, &mut out);
        assert_eq!(out, vec![0.0; 6]);
        let bad = std::panic::catch_unwind(|| {
            let mut out = vec![0.0f32; 3];
            gram(&[1.0; 4], &[1.0; 4], 2, &mut out);
        });
        assert!(bad.is_err(), "a 2 × 2 product into 3 values must panic");
    }

    #[test]
    fn dot_2x2_is_four_dots_in_every_implementation() {
        for n in lengths() {
            let v: Vec<Vec<f32>> = (0..4).map(|s| awkward(n, 20 + s)).collect();
            let want = [
                dot_unclamped(&v[0], &v[2]),
                dot_unclamped(&v[0], &v[3]),
                dot_unclamped(&v[1], &v[2]),
                dot_unclamped(&v[1], &v[3]),
            ];
            let got = dot_2x2(&v[0], &v[1], &v[2], &v[3]);
            assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "n = {n}");
            // The portable step is what other targets run: held to the same bits.
            let portable = portable::dot_2x2(&v[0], &v[1], &v[2], &v[3]);
            assert_eq!(
                portable.map(f64::to_bits),
                want.map(f64::to_bits),
                "n = {n}"
            );
        }
        // Slices of different lengths: each product over the shortest.
        let (a, b) = (awkward(19, 1), awkward(27, 2));
        let got = dot_2x2(&a, &b, &b, &a);
        assert_eq!(got[0].to_bits(), dot_unclamped(&a, &b[..19]).to_bits());
    }
}
