//! The exploration maths at the size the app promises to keep interactive: N = 2 000
//! images of 1024-d (five noisy clusters, made at start from a fixed seed). Prints the
//! milliseconds of each computation (median of 3), and the blocked single-buffer
//! cosines against the plain `similarity::cosine_matrix` as a ratio measured in the same
//! run, then Criterion's statistics for the interactive ones. Run:
//! `cargo bench -p medinsight-core --bench analysis`.
//!
//! `MEDINSIGHT_BENCH_N=10000` sets N for the printed summary (the worker's jobs at the
//! size issue 12 promises; add `-- none` to skip Criterion's part).

mod common;

use common::median_ms;
use std::hint::black_box;

use criterion::{criterion_group, Criterion};

use medinsight_core::analysis::blocks::{BlockSummary, MAX_BLOCKS};
use medinsight_core::analysis::classifier::{cross_validate, TrainOptions};
use medinsight_core::analysis::kernels::{dot_unclamped, gram, gram_symmetric};
use medinsight_core::analysis::neighbours::{of_row, of_vector, outlier_scores};
use medinsight_core::analysis::ordering::kmeans_order;
use medinsight_core::analysis::pooling::{pool, Pooling};
use medinsight_core::analysis::similarity::cosine_matrix;
use medinsight_core::analysis::{pca, Embeddings};

const N: usize = 2000;
const D: usize = 1024;
const CLASSES: usize = 5;

/// N for the summary: 2 000, or `MEDINSIGHT_BENCH_N`.
fn summary_n() -> usize {
    std::env::var("MEDINSIGHT_BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n >= 2 * CLASSES)
        .unwrap_or(N)
}

fn data() -> (Vec<Vec<f32>>, Vec<usize>) {
    data_of(N)
}

/// `n` rows from five noisy clusters, loaded interleaved (row i in cluster i % 5).
fn data_of(n: usize) -> (Vec<Vec<f32>>, Vec<usize>) {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..CLASSES)
        .map(|_| (0..D).map(|_| rnd()).collect())
        .collect();
    let rows = (0..n)
        .map(|i| {
            centres[i % CLASSES]
                .iter()
                .map(|c| c + 1.5 * rnd())
                .collect()
        })
        .collect();
    (rows, (0..n).map(|i| i % CLASSES).collect())
}

/// Criterion's statistics for the interactive computations (the 2-second
/// cross-validation is timed once, in `summary`).
fn interactive(c: &mut Criterion) {
    let (rows, _) = data();
    let e = Embeddings::new(&rows);
    let all: Vec<usize> = (0..N).collect();
    let mut g = c.benchmark_group("analysis_n2000");
    g.sample_size(10);
    g.bench_function("neighbours_of_one_image", |b| {
        b.iter(|| of_row(black_box(&e), 7, 10))
    });
    g.bench_function("outlier_scores_k5", |b| {
        b.iter(|| outlier_scores(black_box(&e), &all, 5))
    });
    g.bench_function("pca_2", |b| b.iter(|| pca::fit(black_box(&rows))));
    g.finish();
}

criterion_group!(benches, interactive);

fn main() {
    summary();
    gram_against_the_naive_loop();
    summary_at_ten_thousand();
    benches();
    Criterion::default().configure_from_args().final_summary();
}

fn summary() {
    // `cargo test --benches` runs this too: there, one quick pass is enough.
    let quick = std::env::args().any(|a| a == "--test");
    let runs = if quick { 1 } else { 3 };
    let n = summary_n();
    let (rows, y) = data_of(n);
    let e = Embeddings::new(&rows);
    let all: Vec<usize> = (0..n).collect();
    println!("\n== analysis at N = {n}, D = {D} (median of {runs}) ==");
    let line = |what: &str, ms: f64| println!("{what:<44} {ms:>10.1} ms");
    line(
        "normalise into one buffer",
        median_ms(runs, || Embeddings::new(&rows)),
    );
    line(
        "neighbours of one image (k = 10)",
        median_ms(runs, || of_row(&e, 7, 10)),
    );
    line(
        "neighbours of one text vector (k = 10)",
        median_ms(runs, || of_vector(&e, &rows[3], 10)),
    );
    let blocked = median_ms(runs, || outlier_scores(&e, &all, 5));
    line("outlier scores, all images (k = 5)", blocked);
    line("pca to 2 components", median_ms(runs, || pca::fit(&rows)));
    let groups: Vec<&[Vec<f32>]> = rows.chunks(20).collect();
    line(
        "study vectors, 100 studies × 20 (7 statistics)",
        median_ms(runs, || {
            groups
                .iter()
                .map(|g| pool(g, Pooling::Statistics))
                .collect::<Vec<_>>()
        }),
    );
    let cv_rows = if quick { 200 } else { n };
    // Timed once (seconds at 10 000), and that one run's accuracy printed.
    let started = std::time::Instant::now();
    let cv = cross_validate(
        &e,
        &all[..cv_rows],
        &y[..cv_rows],
        CLASSES,
        5,
        TrainOptions::default(),
    );
    line(
        &format!("5-fold logistic + kNN, {cv_rows} labelled"),
        started.elapsed().as_secs_f64() * 1e3,
    );
    println!(
        "  held-out accuracy: logistic {:.3}, kNN {:.3} ({} folds)",
        cv.logistic_accuracy(),
        cv.knn_accuracy(),
        cv.folds
    );
    // Baseline: the full N × N matrix the plain way (as the heatmap does for a few
    // hundred images) against every pair through the normalised buffer.
    let subset = if quick { 300 } else { n.min(N) };
    let plain = median_ms(1, || cosine_matrix(&rows[..subset], &rows[..subset]));
    let e_sub = Embeddings::new(&rows[..subset]);
    let buffer = median_ms(runs, || {
        let mut s = 0f32;
        for i in 0..subset {
            for j in 0..subset {
                s += e_sub.cosine(i, j);
            }
        }
        s
    });
    println!(
        "all {subset}² cosines: plain cosine_matrix {plain:.1} ms, blocked buffer {buffer:.1} ms → {:.1}× faster",
        plain / buffer
    );
}

/// The similarity heatmap's kernel at its full-matrix limit (N = 2 048 rows of 1024):
/// the cache-blocked Gram kernel against the naive double loop of `dot_unclamped`
/// (what the heatmap did), both computing all N² products into one buffer, measured in
/// this run; and the symmetric variant (upper triangle, mirrored) the heatmap uses.
fn gram_against_the_naive_loop() {
    let quick = std::env::args().any(|a| a == "--test");
    let (runs, n) = if quick { (1, 256) } else { (5, 2048) };
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let data: Vec<f32> = (0..n * D)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        })
        .collect();
    let mut out = vec![0f32; n * n];
    // The three are timed in turn, run after run, so that a machine busy with other
    // work slows each of them alike; the medians are compared.
    let (mut naive, mut blocked, mut symmetric) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        naive.push(median_ms(1, || {
            for (i, a) in data.chunks(D).enumerate() {
                for (j, b) in data.chunks(D).enumerate() {
                    out[i * n + j] = dot_unclamped(a, b) as f32;
                }
            }
            black_box(&out);
        }));
        blocked.push(median_ms(1, || {
            gram(&data, &data, D, &mut out);
            black_box(&out);
        }));
        symmetric.push(median_ms(1, || {
            gram_symmetric(&data, D, &mut out);
            black_box(&out);
        }));
    }
    let median = |mut t: Vec<f64>| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    let (naive, blocked, symmetric) = (median(naive), median(blocked), median(symmetric));
    println!(
        "\n== Gram kernel, {n} × {n} products of {D}-d rows (median of {runs}, interleaved) =="
    );
    println!("naive double loop of dot_unclamped      {naive:>10.1} ms");
    println!(
        "blocked gram                            {blocked:>10.1} ms → {:.2}× the naive loop's speed",
        naive / blocked
    );
    println!(
        "blocked gram, symmetric (half, mirrored) {symmetric:>9.1} ms → {:.2}× the naive loop's speed",
        naive / symmetric
    );
}

/// The heatmap's summary at N = 10 000 (above the full map's 2 048 rows): each step as
/// the worker runs it — normalising, the clustered order, the block means at 512 × 512
/// and representatives — and opening one block's exact cells on the page.
fn summary_at_ten_thousand() {
    let quick = std::env::args().any(|a| a == "--test");
    let (runs, n) = if quick { (1, 3000) } else { (3, 10_000) };
    let (rows, _) = data_of(n);
    println!(
        "\n== similarity summary at N = {n}, D = {D}, {MAX_BLOCKS} blocks (median of {runs}) =="
    );
    let line = |what: &str, ms: f64| println!("{what:<44} {ms:>10.1} ms");
    let normalise = median_ms(runs, || Embeddings::new(&rows));
    line("normalise into one buffer", normalise);
    let e = Embeddings::new(&rows);
    let loaded: Vec<usize> = (0..n).collect();
    let means = median_ms(runs, || BlockSummary::new(&e, loaded.clone(), MAX_BLOCKS));
    line("block means + representatives (loaded)", means);
    let order_ms = median_ms(runs, || kmeans_order(&e));
    line("clustered order (k-means, principal dir.)", order_ms);
    let order = kmeans_order(&e);
    let s = BlockSummary::new(&e, order, MAX_BLOCKS);
    let drill = median_ms(runs, || s.drill(&rows, 3, 200));
    line("one block's exact cells (drill-down)", drill);
    println!(
        "summary as loaded {:.1} ms, clustered {:.1} ms (normalising included)",
        normalise + means,
        normalise + order_ms + means
    );
    // The order is worth its time only if it finds the five clusters: the blocks that
    // mix two of them are the few at the boundaries.
    let mixed = (0..s.blocks())
        .filter(|&b| {
            let m = s.members(b).unwrap_or(&[]);
            m.iter().any(|&i| i % CLASSES != m[0] % CLASSES)
        })
        .count();
    println!(
        "  blocks mixing clusters: {mixed} of {} (4 boundaries)",
        s.blocks()
    );
}
