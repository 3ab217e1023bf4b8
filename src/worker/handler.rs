//! The Web Worker that does the heavy work, so the page never freezes: preparing images
//! (decoding a 6 MB DICOM, a hundred PNGs) and the analyses that touch every pair of
//! vectors (outlier scores, the PCA map, the cross-validated classifier).
//!
//! It runs `medinsight-core` — the same code as `medinsight prepare` and the native
//! tests — in its own wasm instance, built by Trunk from `src/bin/compute_worker.rs`
//! (see `index.html`), and answers the [`super::protocol`].

use gloo_worker::{HandlerId, Worker, WorkerScope};
use medinsight_core::analysis::classifier::{classify, Predicted, TrainOptions};
use medinsight_core::analysis::neighbours::outlier_scores_with;
use medinsight_core::analysis::{pca, Embeddings};
use medinsight_core::pipeline::{self, PrepareOptions};

use super::protocol::{
    Analysis, Classification, Found, Job, Outcome, PreparedImage, Projection, Reply, Request,
    WorkerError,
};

/// Runs the pipeline; the error carries the message the user sees.
pub fn prepare(bytes: &[u8], options: PrepareOptions) -> Result<PreparedImage, WorkerError> {
    let p = pipeline::prepare(bytes, options)
        .map_err(|e| WorkerError::Prepare(medinsight_core::error_chain(&e)))?;
    Ok(PreparedImage {
        fingerprint: medinsight_core::fingerprint(&p.png),
        png: p.png,
        channels: p.channels,
        source: p.source,
        window: p.window,
        options,
    })
}

/// Runs an analysis. What the core would panic on (vectors of different lengths, rows
/// or classes out of range) is refused here first: in wasm a panic aborts the worker,
/// and the page would only see a timeout.
pub fn analyse(vectors: &[Vec<f32>], analysis: &Analysis) -> Result<Found, WorkerError> {
    analyse_with(vectors, analysis, &mut |_| {})
}

/// [`analyse`], telling `progress` the fraction done (0 to 1) of the analyses that take
/// long at 10 000 images (outliers, the classifier).
pub fn analyse_with(
    vectors: &[Vec<f32>],
    analysis: &Analysis,
    progress: &mut dyn FnMut(f64),
) -> Result<Found, WorkerError> {
    let job = analysis.kind();
    let refuse = |reason: String| WorkerError::Analysis { job, reason };
    let Some(first) = vectors.first() else {
        return Err(WorkerError::NoVectors);
    };
    let dim = first.len();
    if let Some((i, v)) = vectors.iter().enumerate().find(|(_, v)| v.len() != dim) {
        return Err(refuse(format!(
            "vector {i} has {} values, the first has {dim}",
            v.len()
        )));
    }
    let n = vectors.len();
    let out_of_range = |what: &str, row: usize| {
        refuse(format!(
            "{what} row {row} is out of range: there are {n} vectors"
        ))
    };
    let e = Embeddings::new(vectors);
    Ok(match analysis {
        Analysis::Outliers { reference, k } => {
            if let Some(&row) = reference.iter().find(|&&r| r >= n) {
                return Err(out_of_range("reference", row));
            }
            Found::Outliers(outlier_scores_with(&e, reference, *k, progress))
        }
        Analysis::Map => {
            if n < 2 {
                return Err(WorkerError::TooFew {
                    job,
                    needed: 2,
                    got: n,
                });
            }
            let p = pca::fit(vectors).ok_or_else(|| {
                refuse(format!(
                    "its vectors have {dim} value(s); two components need at least two"
                ))
            })?;
            Found::Map(Projection {
                points: vectors.iter().map(|v| p.project(v)).collect(),
                explained: p.explained(),
            })
        }
        Analysis::Classify {
            labelled,
            classes,
            folds,
        } => {
            if *classes < 2 {
                return Err(refuse(format!(
                    "it needs at least two classes, it was given {classes}"
                )));
            }
            if let Some(&(row, _)) = labelled.iter().find(|(r, _)| *r >= n) {
                return Err(out_of_range("labelled", row));
            }
            if let Some(&(row, class)) = labelled.iter().find(|(_, c)| c >= classes) {
                return Err(refuse(format!(
                    "row {row} has class {class}, but there are {classes} classes"
                )));
            }
            let (rows, y): (Vec<usize>, Vec<usize>) = labelled.iter().copied().unzip();
            let c = classify(
                &e,
                &rows,
                &y,
                *classes,
                *folds,
                TrainOptions::default(),
                progress,
            );
            Found::Classify(Classification {
                folds: c.cv.folds,
                evaluated: c.cv.evaluated,
                logistic_accuracy: c.cv.logistic_accuracy(),
                knn_accuracy: c.cv.knn_accuracy(),
                predictions: c
                    .predictions
                    .into_iter()
                    .map(
                        |Predicted {
                             row,
                             class,
                             probability,
                             knn,
                         }| (row, class, probability, knn),
                    )
                    .collect(),
            })
        }
    })
}

/// Least time between two progress reports: often enough for a moving bar, rarely
/// enough that posting them costs nothing next to the work.
const PROGRESS_EVERY_MS: f64 = 250.0;

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
                let mut last = start;
                // Progress goes out while the job runs (gloo-worker posts each response
                // at once), as extra replies to the same request id.
                let mut progress = |fraction: f64| {
                    let now = now_ms();
                    if now - last >= PROGRESS_EVERY_MS {
                        last = now;
                        scope.respond(
                            who,
                            Reply {
                                id: request.id,
                                result: Ok(Outcome::Progress(fraction as f32)),
                            },
                        );
                    }
                };
                analyse_with(&vectors, &analysis, &mut progress).map(|found| Outcome::Analysed {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::protocol::JobKind;

    /// Two tight clusters in 3-D, four rows each.
    fn clusters() -> Vec<Vec<f32>> {
        (0..8)
            .map(|i| {
                let wobble = 0.01 * i as f32;
                if i < 4 {
                    vec![1.0, wobble, 0.0]
                } else {
                    vec![0.0, wobble, 1.0]
                }
            })
            .collect()
    }

    #[test]
    fn what_would_panic_in_the_core_is_a_typed_error() {
        assert_eq!(
            analyse(&[], &Analysis::Map).unwrap_err(),
            WorkerError::NoVectors
        );
        let ragged = vec![vec![1.0, 0.0], vec![1.0, 0.0, 0.0]];
        let err = analyse(&ragged, &Analysis::Map).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the PCA map cannot be computed: vector 1 has 3 values, the first has 2"
        );
        assert_eq!(
            analyse(&clusters()[..1], &Analysis::Map).unwrap_err(),
            WorkerError::TooFew {
                job: JobKind::Map,
                needed: 2,
                got: 1
            }
        );
        let far = Analysis::Outliers {
            reference: vec![0, 8],
            k: 2,
        };
        assert!(matches!(
            analyse(&clusters(), &far),
            Err(WorkerError::Analysis {
                job: JobKind::Outliers,
                ..
            })
        ));
        let bad_class = Analysis::Classify {
            labelled: vec![(0, 0), (4, 2)],
            classes: 2,
            folds: 2,
        };
        let err = analyse(&clusters(), &bad_class).unwrap_err();
        assert!(err.to_string().contains("row 4 has class 2"), "{err}");
    }

    #[test]
    fn the_classifier_predicts_every_unlabelled_row_with_its_most_probable_class() {
        let labelled = vec![(0, 0), (1, 0), (2, 0), (4, 1), (5, 1), (6, 1)];
        let analysis = Analysis::Classify {
            labelled,
            classes: 2,
            folds: 3,
        };
        let Ok(Found::Classify(c)) = analyse(&clusters(), &analysis) else {
            panic!("a classification")
        };
        let predicted: Vec<(usize, usize, usize)> = c
            .predictions
            .iter()
            .map(|&(row, logistic, _, knn)| (row, logistic, knn))
            .collect();
        assert_eq!(predicted, vec![(3, 0, 0), (7, 1, 1)]);
        assert!(c.predictions.iter().all(|p| p.2 > 0.5), "{c:?}");
        assert_eq!(c.logistic_accuracy, 1.0);
    }
}
