//! In-browser timing of the exploration maths at N = 2 000 images × 1024 (the size the
//! app promises to keep interactive), in Chromium's wasm engine, printing milliseconds.
//! A measurement, not a test: it asserts nothing about speed and is `#[ignore]`d so that
//! `scripts/test` stays quick. Run:
//! `. scripts/env.sh && cargo test -p medinsight-web --release --target wasm32-unknown-unknown --test analysis_timing -- --include-ignored --nocapture`
#![cfg(target_arch = "wasm32")]

mod common;

use common::now;
use medinsight_web::worker::handler::analyse;
use medinsight_web::worker::pool::ROWS_PER_PART;
use medinsight_web::worker::protocol::{
    Analysis, FlatVectors, Job, Outcome, Reply, Request, SimilarityQuestion, SummaryOrder,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const N: usize = 2000;
const D: usize = 1024;

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

/// A message as the pool and its workers post it: bincode in a `Uint8Array`.
fn encode(value: &impl serde::Serialize) -> js_sys::Uint8Array {
    js_sys::Uint8Array::from(bincode::serialize(value).unwrap().as_slice())
}

/// The similarity view's worker jobs in the browser's engine: the full matrix at its
/// limit (2 048 rows) and the clustered order there, the summary at 10 000 rows (as
/// loaded and clustered), and what sending 10 000 vectors costs the page's thread
/// (bincode, as the pool encodes its messages): as one `Vec<Vec<f32>>`, and as the pool sends the
/// similarity jobs' vectors, in parts of bytes.
#[wasm_bindgen_test]
#[ignore]
fn similarity_jobs_at_two_and_ten_thousand_images() {
    let full = data_of(2048);
    let mut cells = None;
    for (what, question) in [
        (
            "similarity cells, 2 048²",
            SimilarityQuestion::Cells { cols: None },
        ),
        ("clustered order, 2 048", SimilarityQuestion::ClusteredOrder),
    ] {
        let t = now();
        let found = analyse(&full, &Analysis::Similarity(question)).unwrap();
        console_log!("{what:<36} {:>8.0} ms", now() - t);
        cells.get_or_insert(found);
    }
    // The 16 MB of cosines arriving on the page: the pool's decoding of the reply.
    let reply = encode(&Reply {
        id: 1,
        result: Ok(Outcome::Analysed {
            found: cells.unwrap(),
            millis: 0.0,
        }),
    });
    let t = now();
    let _: Reply = bincode::deserialize(&reply.to_vec()).unwrap();
    console_log!(
        "{:<36} {:>8.0} ms",
        "decoding 2 048² cosines on the page",
        now() - t
    );
    let many = data_of(10_000);
    for (what, order) in [
        ("summary as loaded, 10 000", SummaryOrder::Loaded),
        ("summary clustered, 10 000", SummaryOrder::Clustered),
    ] {
        let t = now();
        let question = SimilarityQuestion::Summary { order, blocks: 256 };
        analyse(&many, &Analysis::Similarity(question)).unwrap();
        console_log!("{what:<36} {:>8.0} ms", now() - t);
    }
    let t = now();
    let message = encode(&Request {
        id: 1,
        job: Job::Analyse {
            vectors: many.clone(),
            analysis: Analysis::Map,
        },
    });
    console_log!(
        "sending 10 000 × 1024 as Vec<Vec<f32>>: encode {:.0} ms ({} MB)",
        now() - t,
        message.length() / 1_000_000
    );
    // What the pool sends instead: parts of 2 000 vectors, each one block of bytes,
    // with the page free between parts. One part's copy and encoding:
    let t = now();
    let mut flat = FlatVectors::with_capacity(1024, ROWS_PER_PART);
    for v in &many[..ROWS_PER_PART] {
        flat.push(v).unwrap();
    }
    let copied = now() - t;
    let t = now();
    let message = encode(&Request {
        id: 0,
        job: Job::Stage {
            batch: 1,
            vectors: flat,
        },
    });
    console_log!(
        "one part of {ROWS_PER_PART} as FlatVectors: copy {copied:.0} ms, encode {:.0} ms ({} MB)",
        now() - t,
        message.length() / 1_000_000
    );
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
