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

pub mod portable;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod wasm32;

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
}
