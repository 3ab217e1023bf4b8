//! In-browser timing of the exploration maths at N = 2 000 images × 1024 (the size the
//! app promises to keep interactive), in Chromium's wasm engine, printing milliseconds.
//! A measurement, not a test: it asserts nothing about speed and is `#[ignore]`d so that
//! `scripts/test` stays quick. Run:
//! `. scripts/env.sh && cargo test -p medinsight-web --release --target wasm32-unknown-unknown --test analysis_timing -- --include-ignored --nocapture`
#![cfg(target_arch = "wasm32")]

use medinsight_web::worker::handler::analyse;
use medinsight_web::worker::protocol::Analysis;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const N: usize = 2000;
const D: usize = 1024;

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

fn data() -> Vec<Vec<f32>> {
    data_of(N)
}

fn data_of(n: usize) -> Vec<Vec<f32>> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..5).map(|_| (0..D).map(|_| rnd()).collect()).collect();
    (0..n)
        .map(|i| centres[i % 5].iter().map(|c| c + 1.5 * rnd()).collect())
        .collect()
}

#[wasm_bindgen_test]
#[ignore]
fn analyses_at_two_thousand_images() {
    let vectors = data();
    let all: Vec<usize> = (0..N).collect();
    let labelled: Vec<(usize, usize)> = (0..N).map(|i| (i, i % 5)).collect();
    for (what, analysis) in [
        (
            "outlier scores (k = 5)",
            Analysis::Outliers {
                reference: all,
                k: 5,
            },
        ),
        ("PCA map", Analysis::Map),
        (
            "5-fold logistic + kNN",
            Analysis::Classify {
                labelled,
                classes: 5,
                folds: 5,
            },
        ),
    ] {
        let t = now();
        analyse(&vectors, &analysis).unwrap();
        console_log!("{what:<28} {:>8.0} ms at N = {N}", now() - t);
    }
}

/// The two analyses that approached the worker's 120 s timeout at 10 000 images
/// (issue 12): the outlier scores and the classifier, half the images labelled (so the
/// final model and the predictions are timed too). Run as above with
/// `--test analysis_timing outliers_and_classifier_at_ten_thousand` and
/// `WASM_BINDGEN_TEST_TIMEOUT=600`.
#[wasm_bindgen_test]
#[ignore]
fn outliers_and_classifier_at_ten_thousand_images() {
    const BIG: usize = 10_000;
    let vectors = data_of(BIG);
    for (what, analysis) in [
        (
            "outlier scores (k = 5)",
            Analysis::Outliers {
                reference: (0..BIG).collect(),
                k: 5,
            },
        ),
        (
            "5-fold CV + predictions, half labelled",
            Analysis::Classify {
                labelled: (0..BIG).step_by(2).map(|i| (i, i % 5)).collect(),
                classes: 5,
                folds: 5,
            },
        ),
    ] {
        let t = now();
        analyse(&vectors, &analysis).unwrap();
        console_log!("{what:<40} {:>8.0} ms at N = {BIG}", now() - t);
    }
}
