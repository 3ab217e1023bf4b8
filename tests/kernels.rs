//! The analysis kernels compiled to wasm32 with `simd128`, in headless Chromium: the
//! `f32x4` dot and axpy against plain sums and, bit for bit, the portable kernel; the
//! cache-blocked Gram kernel against the plain loop of dot products; the analyses'
//! blocked kernels through the outlier scores, kNN and training they serve.
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

/// Deterministic vectors (xorshift), `n` of `dim` values.
fn random(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            (0..dim)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 11) as f32 / (1u64 << 53) as f32 - 0.5
                })
                .collect()
        })
        .collect()
}

/// The analyses' blocked kernels (2 × 4 cosines, four-row gradients; explicit `f32x4`
/// in the browser) through what uses them: outlier scores and kNN against the plain
/// definitions with the plain dot product, at sizes that are multiples of neither the
/// tiles nor the kernels' blocks.
#[wasm_bindgen_test]
fn blocked_outliers_and_knn_agree_with_the_definitions() {
    use medinsight_core::analysis::classifier::{knn_predict, knn_predict_many};
    use medinsight_core::analysis::neighbours::outlier_scores;
    use medinsight_core::analysis::Embeddings;
    for dim in [37, 1024] {
        let e = Embeddings::new(&random(131, dim, dim as u64));
        let reference: Vec<usize> = (0..131).filter(|i| i % 3 != 1).collect();
        let scores = outlier_scores(&e, &reference, 4);
        for (i, got) in scores.iter().enumerate() {
            let mut c: Vec<f64> = reference
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| f64::from(e.cosine(i, j)))
                .collect();
            c.sort_by(|a, b| b.total_cmp(a));
            let expected = c[..4].iter().map(|c| 1.0 - c).sum::<f64>() / 4.0;
            assert!(
                (f64::from(*got) - expected).abs() < 1e-5,
                "dim {dim}, row {i}"
            );
        }
        let train: Vec<usize> = (0..131).step_by(2).collect();
        let y: Vec<usize> = train.iter().map(|r| r % 3).collect();
        let queries: Vec<usize> = (0..131).collect();
        let each: Vec<usize> = queries
            .iter()
            .map(|&q| knn_predict(&e, &train, &y, 3, q, 5))
            .collect();
        assert_eq!(
            knn_predict_many(&e, &train, &y, 3, &queries, 5),
            each,
            "dim {dim}"
        );
    }
}

/// The logistic regression's blocked training loop against the same loop written one
/// row at a time with plain sums, in the browser.
#[wasm_bindgen_test]
#[allow(clippy::needless_range_loop)] // written as the formulas read
fn blocked_training_agrees_with_a_plain_loop() {
    use medinsight_core::analysis::classifier::{Logistic, TrainOptions};
    use medinsight_core::analysis::Embeddings;
    let (classes, dim, n) = (5, 37, 43);
    let e = Embeddings::new(&random(n, dim, 11));
    let rows: Vec<usize> = (0..n).collect();
    let y: Vec<usize> = (0..n).map(|i| i % classes).collect();
    let o = TrainOptions {
        steps: 30,
        ..TrainOptions::default()
    };
    let model = Logistic::fit(&e, &rows, &y, classes, o);
    // Plain: weights per class, Nesterov steps of 1 / (1 + l2), as documented.
    let step = 1.0 / (1.0 + o.l2);
    let zero = (vec![vec![0f64; dim]; classes], vec![0f64; classes]);
    let (mut w, mut prev) = (zero.clone(), zero);
    let softmax = |z: &mut Vec<f64>| {
        let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        z.iter_mut().for_each(|v| *v = (*v - max).exp());
        let s: f64 = z.iter().sum();
        z.iter_mut().for_each(|v| *v /= s);
    };
    let logits = |m: &(Vec<Vec<f64>>, Vec<f64>), x: &[f32]| -> Vec<f64> {
        (0..classes)
            .map(|c| {
                m.1[c]
                    + m.0[c]
                        .iter()
                        .zip(x)
                        .map(|(a, b)| a * f64::from(*b))
                        .sum::<f64>()
            })
            .collect()
    };
    for t in 1..=o.steps {
        let mu = (t as f64 - 1.0) / (t as f64 + 2.0);
        let mut probe = w.clone();
        for c in 0..classes {
            for k in 0..dim {
                probe.0[c][k] = w.0[c][k] + mu * (w.0[c][k] - prev.0[c][k]);
            }
            probe.1[c] = w.1[c] + mu * (w.1[c] - prev.1[c]);
        }
        let (mut gw, mut gb) = (vec![vec![0f64; dim]; classes], vec![0f64; classes]);
        for (&r, &label) in rows.iter().zip(&y) {
            let x = e.row(r);
            let mut z = logits(&probe, x);
            softmax(&mut z);
            z[label] -= 1.0;
            for c in 0..classes {
                for k in 0..dim {
                    gw[c][k] += z[c] * f64::from(x[k]);
                }
                gb[c] += z[c];
            }
        }
        prev = w;
        w = probe.clone();
        for c in 0..classes {
            for k in 0..dim {
                w.0[c][k] =
                    probe.0[c][k] - step * gw[c][k] / n as f64 - step * o.l2 * probe.0[c][k];
            }
            w.1[c] = probe.1[c] - step * gb[c] / n as f64;
        }
    }
    for r in 0..n {
        let mut z = logits(&w, e.row(r));
        softmax(&mut z);
        let got = model.probabilities(e.row(r));
        for (a, b) in got.iter().zip(&z) {
            assert!((a - b).abs() < 1e-4, "row {r}: {got:?} vs {z:?}");
        }
    }
}
