//! The Web Worker that does the heavy work, so the page never freezes: preparing images
//! (decoding a 6 MB DICOM, a hundred PNGs) and the analyses that touch every pair of
//! vectors (outlier scores, the PCA map, the cross-validated classifier).
//!
//! It runs `medinsight-core` — the same code as `medinsight prepare` and the native
//! tests — in its own wasm instance, built by Trunk from `src/bin/compute_worker.rs`
//! (see `index.html`), and answers the [`super::protocol`].

use gloo_worker::{HandlerId, Worker, WorkerScope};
use medinsight_core::analysis::classifier::{cross_validate, knn_predict, Logistic, TrainOptions};
use medinsight_core::analysis::evaluation::argmax;
use medinsight_core::analysis::neighbours::outlier_scores;
use medinsight_core::analysis::{pca, Embeddings};
use medinsight_core::pipeline::{self, PrepareOptions};

use super::protocol::{
    Analysis, Classification, Found, Job, Outcome, PreparedImage, Projection, Reply, Request,
    WorkerError,
};

/// Runs the pipeline; the error carries the message the user sees.
pub fn prepare(bytes: &[u8], options: PrepareOptions) -> Result<PreparedImage, WorkerError> {
    let refused = |e: &dyn std::error::Error| WorkerError::Prepare(medinsight_core::error_chain(e));
    let p = pipeline::prepare(bytes, options).map_err(|e| refused(&e))?;
    let side = pipeline::SIDE;
    let thumbnail = pipeline::thumbnail::thumbnail(&p.pixels, side, side, p.channels)
        .map_err(|e| refused(&e))?;
    Ok(PreparedImage {
        fingerprint: medinsight_core::fingerprint(&p.png),
        png: p.png,
        thumbnail,
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
            Found::Outliers(outlier_scores(&e, reference, *k))
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
            let o = TrainOptions::default();
            let cv = cross_validate(&e, &rows, &y, *classes, *folds, o);
            let model = Logistic::fit(&e, &rows, &y, *classes, o);
            let is_labelled: std::collections::HashSet<usize> = rows.iter().copied().collect();
            let mut predictions = Vec::with_capacity(n.saturating_sub(is_labelled.len()));
            for r in (0..n).filter(|r| !is_labelled.contains(r)) {
                let p = model.probabilities(e.row(r));
                // `classes >= 2`, so there is always a most probable class.
                let best = argmax(&p)
                    .ok_or_else(|| refuse("the model gave no class probabilities".into()))?;
                let knn = knn_predict(&e, &rows, &y, *classes, r, o.k);
                predictions.push((r, best, p[best], knn));
            }
            Found::Classify(Classification {
                folds: cv.folds,
                evaluated: cv.evaluated,
                logistic_accuracy: cv.logistic_accuracy(),
                knn_accuracy: cv.knn_accuracy(),
                predictions,
            })
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
