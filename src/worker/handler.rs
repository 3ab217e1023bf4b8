//! The Web Worker that does the heavy work, so the page never freezes: preparing images
//! (decoding a 6 MB DICOM, a hundred PNGs) and the analyses that touch every pair of
//! vectors (outlier scores, the PCA map, the cross-validated classifier).
//!
//! It runs `medinsight-core` — the same code as `medinsight prepare` and the native
//! tests — in its own wasm instance, built by Trunk from `src/bin/compute_worker.rs`
//! (see `index.html`), and answers the [`super::protocol`].

use gloo_worker::{HandlerId, Worker, WorkerScope};
use medinsight_core::analysis::classifier::{cross_validate, knn_predict, Logistic, TrainOptions};
use medinsight_core::analysis::neighbours::outlier_scores;
use medinsight_core::analysis::{pca, Embeddings};
use medinsight_core::pipeline::{self, PrepareOptions};

use super::protocol::{Analysis, Found, Job, Outcome, PreparedImage, Reply, Request};

/// Runs the pipeline; the error is the message the user sees.
pub fn prepare(bytes: &[u8], options: PrepareOptions) -> Result<PreparedImage, String> {
    let p = pipeline::prepare(bytes, options).map_err(|e| medinsight_core::error_chain(&e))?;
    Ok(PreparedImage {
        fingerprint: medinsight_core::fingerprint(&p.png),
        png: p.png,
        channels: p.channels,
        source: p.source,
        window: p.window,
        options,
    })
}

/// Runs an analysis.
pub fn analyse(vectors: &[Vec<f32>], analysis: &Analysis) -> Result<Found, String> {
    if vectors.is_empty() {
        return Err("no embedded images to analyse yet".into());
    }
    let e = Embeddings::new(vectors);
    Ok(match analysis {
        Analysis::Outliers { reference, k } => Found::Outliers(outlier_scores(&e, reference, *k)),
        Analysis::Map => {
            let p = pca::fit(vectors).ok_or("the map needs at least two embedded images")?;
            Found::Map {
                points: vectors.iter().map(|v| p.project(v)).collect(),
                explained: p.explained(),
            }
        }
        Analysis::Classify {
            labelled,
            classes,
            folds,
        } => {
            let (rows, y): (Vec<usize>, Vec<usize>) = labelled.iter().copied().unzip();
            let o = TrainOptions::default();
            let cv = cross_validate(&e, &rows, &y, *classes, *folds, o);
            let model = Logistic::fit(&e, &rows, &y, *classes, o);
            let is_labelled: std::collections::HashSet<usize> = rows.iter().copied().collect();
            let predictions = (0..e.len())
                .filter(|r| !is_labelled.contains(r))
                .map(|r| {
                    let p = model.probabilities(e.row(r));
                    let best = (0..p.len()).fold(0, |b, c| if p[c] > p[b] { c } else { b });
                    (
                        r,
                        best,
                        p[best],
                        knn_predict(&e, &rows, &y, *classes, r, o.k),
                    )
                })
                .collect();
            Found::Classify {
                folds: cv.folds,
                evaluated: cv.evaluated,
                logistic_accuracy: cv.logistic_accuracy(),
                knn_accuracy: cv.knn_accuracy(),
                predictions,
            }
        }
    })
}

fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| js_sys::Reflect::get(&p, &"now".into()).ok().map(|f| (p, f)))
        .and_then(|(p, f)| js_sys::Function::from(f).call0(&p).ok())
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

pub struct ComputeWorker;

impl Worker for ComputeWorker {
    type Message = ();
    type Input = Request;
    type Output = Reply;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, request: Request, who: HandlerId) {
        let result = match request.job {
            Job::Prepare { bytes, options } => {
                prepare(&bytes, options).map(|p| Outcome::Prepared(Box::new(p)))
            }
            Job::Analyse { vectors, analysis } => {
                let start = now_ms();
                analyse(&vectors, &analysis).map(|found| Outcome::Analysed {
                    found,
                    millis: now_ms() - start,
                })
            }
        };
        scope.respond(
            who,
            Reply {
                id: request.id,
                result,
            },
        );
    }
}
