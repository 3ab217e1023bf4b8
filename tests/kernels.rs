//! The analysis kernels compiled to wasm32 with `simd128`, in headless Chromium: the
//! `f32x4` dot and axpy against plain sums and, bit for bit, the portable kernel; the
//! cache-blocked Gram kernel against the plain loop of dot products.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn simd_dot_and_axpy_agree_with_plain_sums() {
    use medinsight_core::analysis::kernels::portable;
    use medinsight_core::analysis::{axpy, dot_unclamped};
    for n in [0usize, 1, 7, 8, 9, 19, 1024] {
        let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y)).sum();
        let simd = dot_unclamped(&a, &b);
        assert!((simd - plain).abs() < 1e-4, "n = {n}: {simd} vs {plain}");
        // The wasm32 kernel adds its lanes in the portable kernel's order: same bits.
        let reference = portable::dot_unclamped(&a, &b);
        assert_eq!(simd.to_bits(), reference.to_bits(), "n = {n}");
        let mut y = b.clone();
        axpy(0.5, &a, &mut y);
        let expected: Vec<f32> = a.iter().zip(&b).map(|(x, y)| y + 0.5 * x).collect();
        assert_eq!(y, expected, "n = {n}");
    }
}

#[wasm_bindgen_test]
fn simd_gram_is_the_naive_loop_bit_for_bit() {
    use medinsight_core::analysis::dot_unclamped;
    use medinsight_core::analysis::kernels::{dot_2x2, gram, gram_symmetric, portable};
    // Odd and even row counts (the 2 × 2 step's edges), widths around 8.
    for (m, n, dim) in [
        (1usize, 1usize, 1usize),
        (3, 5, 7),
        (4, 4, 8),
        (7, 9, 19),
        (6, 11, 1024),
    ] {
        let a: Vec<f32> = (0..m * dim).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..n * dim).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut out = vec![f32::NAN; m * n];
        gram(&a, &b, dim, &mut out);
        for i in 0..m {
            for j in 0..n {
                let want = dot_unclamped(&a[i * dim..(i + 1) * dim], &b[j * dim..(j + 1) * dim]);
                assert_eq!(
                    out[i * n + j].to_bits(),
                    (want as f32).to_bits(),
                    "{m}×{n}×{dim} ({i}, {j})"
                );
            }
        }
        let mut sym = vec![f32::NAN; m * m];
        gram_symmetric(&a, dim, &mut sym);
        let mut full = vec![f32::NAN; m * m];
        gram(&a, &a, dim, &mut full);
        assert_eq!(sym, full, "{m}×{dim}");
        // The f32x4 2 × 2 step against the portable one.
        if m >= 2 && n >= 2 {
            let row = |v: &[f32], i: usize| v[i * dim..(i + 1) * dim].to_vec();
            let (a0, a1, b0, b1) = (row(&a, 0), row(&a, 1), row(&b, 0), row(&b, 1));
            let simd = dot_2x2(&a0, &a1, &b0, &b1).map(f64::to_bits);
            let reference = portable::dot_2x2(&a0, &a1, &b0, &b1).map(f64::to_bits);
            assert_eq!(simd, reference, "{dim}");
        }
    }
}
