//! The analysis kernels compiled to wasm32 with `simd128`, in headless Chromium: the
//! `f32x4` dot and axpy against plain sums and, bit for bit, the portable kernel.
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
