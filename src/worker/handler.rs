//! The Web Worker that does the heavy work, so the page never freezes: preparing images
//! (decoding a 6 MB DICOM, a hundred PNGs) and the analyses that touch every pair of
//! vectors (outlier scores, the PCA map, the cross-validated classifier, the similarity
//! heatmap's cosines, clustered order and block summary).
//!
//! It runs `medinsight-core` — the same code as `medinsight prepare` and the native
//! tests — in its own wasm instance, built by Trunk from `src/bin/compute_worker.rs`
//! (see `index.html`), and answers the [`super::protocol`]: [`run`] is its entry point,
//! [`ComputeWorker::received`] what it does with each request.

use std::cell::Cell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use medinsight_core::analysis::blocks::{BlockSummary, MAX_BLOCKS, MAX_FULL};
use medinsight_core::analysis::classifier::{classify, Predicted, TrainOptions};
use medinsight_core::analysis::neighbours::outlier_scores_with;
use medinsight_core::analysis::ordering::clustered_order;
use medinsight_core::analysis::similarity::{is_permutation, Cosines};
use medinsight_core::analysis::{pca, Embeddings};
use medinsight_core::pipeline::{self, PrepareOptions};

use super::protocol::{
    Analysis, Classification, FlatVectors, Found, Job, JobKind, Outcome, PreparedImage, Projection,
    Reply, Request, SimilarityFound, SimilarityQuestion, SummaryOrder, WorkerError,
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
        Analysis::Similarity(question) => {
            Found::Similarity(similarity(&e, dim, question).map_err(refuse)?)
        }
    })
}

/// The similarity view's questions about the rows `e` (of width `dim`). Sizes are
/// checked first: a full matrix holds at most `MAX_FULL²` cells (16 MB), beyond which
/// the page asks for the summary, whose blocks are capped at `MAX_BLOCKS` a side.
fn similarity(
    e: &Embeddings,
    dim: usize,
    question: &SimilarityQuestion,
) -> Result<SimilarityFound, String> {
    let n = e.len();
    let too_many = |cells: usize| {
        format!(
            "{cells} cells are more than a full matrix holds ({MAX_FULL} × {MAX_FULL}); \
             above {MAX_FULL} images the heatmap shows a summary"
        )
    };
    Ok(match question {
        SimilarityQuestion::Cells { cols: None } => {
            if n > MAX_FULL {
                return Err(too_many(n * n));
            }
            SimilarityFound::Cells(Cosines::of(e))
        }
        SimilarityQuestion::Cells { cols: Some(cols) } => {
            if let Some((j, v)) = cols.iter().enumerate().find(|(_, v)| v.len() != dim) {
                return Err(format!(
                    "text {j} has {} values, the images have {dim}",
                    v.len()
                ));
            }
            if n.saturating_mul(cols.len()) > MAX_FULL * MAX_FULL {
                return Err(too_many(n.saturating_mul(cols.len())));
            }
            SimilarityFound::Cells(Cosines::between(e, &Embeddings::new(cols)))
        }
        SimilarityQuestion::ClusteredOrder => SimilarityFound::Order(clustered_order(e)),
        SimilarityQuestion::Summary { order, blocks } => {
            let order = match order {
                SummaryOrder::Loaded => (0..n).collect(),
                SummaryOrder::Clustered => clustered_order(e),
                SummaryOrder::Given(o) if is_permutation(o, n) => o.clone(),
                SummaryOrder::Given(o) => {
                    return Err(format!(
                        "the order given ({} rows) is not an order of the {n} rows",
                        o.len()
                    ))
                }
            };
            let blocks = (*blocks).clamp(1, MAX_BLOCKS);
            SimilarityFound::Summary(BlockSummary::new(e, order, blocks))
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

/// Parts staged for batches not yet analysed are kept for this many batches at most:
/// a batch whose job was never sent (its view closed mid-way) is dropped in time.
const STAGED_BATCHES: usize = 4;

#[derive(Default)]
pub struct ComputeWorker {
    /// Vectors sent in parts ([`Job::Stage`]), by batch, until their job comes.
    staged: Vec<(u64, Vec<FlatVectors>)>,
}

impl ComputeWorker {
    /// The vectors staged for `batch`, if all `parts` of them arrived.
    fn take_staged(&mut self, batch: u64, parts: usize) -> Result<Vec<Vec<f32>>, String> {
        let got = self
            .staged
            .iter()
            .position(|(b, _)| *b == batch)
            .map(|at| self.staged.remove(at).1)
            .unwrap_or_default();
        if got.len() != parts {
            return Err(format!(
                "only {} of the {parts} parts of its vectors reached the worker (was it restarted?); try again",
                got.len()
            ));
        }
        let mut rows = Vec::with_capacity(got.iter().map(FlatVectors::len).sum());
        for part in &got {
            part.append_to(&mut rows);
        }
        Ok(rows)
    }
}

impl ComputeWorker {
    /// Answers `request` (with `attachment`, the `File` of a preparation) through
    /// `respond`: once, or for a long analysis also with progress first; a staged part
    /// is not answered.
    pub fn received(&mut self, request: Request, attachment: &JsValue, respond: &dyn Fn(Reply)) {
        let id = request.id;
        let result = match request.job {
            Job::Prepare {
                name,
                limit,
                options,
            } => read_file(attachment, &name, limit)
                .and_then(|bytes| prepare(&bytes, options))
                .map(|p| Outcome::Prepared(Box::new(p))),
            #[cfg(debug_assertions)]
            Job::Crash => panic!("this worker was asked to crash"),
            Job::Analyse { vectors, analysis } => analysed(respond, id, &vectors, &analysis),
            Job::Stage { batch, vectors } => {
                match self.staged.iter_mut().find(|(b, _)| *b == batch) {
                    Some((_, parts)) => parts.push(vectors),
                    None => {
                        self.staged.push((batch, vec![vectors]));
                        if self.staged.len() > STAGED_BATCHES {
                            self.staged.remove(0);
                        }
                    }
                }
                return; // a part is not answered: its job is
            }
            Job::AnalyseStaged {
                batch,
                parts,
                analysis,
            } => self
                .take_staged(batch, parts)
                .map_err(|reason| WorkerError::Analysis {
                    job: analysis.kind(),
                    reason,
                })
                .and_then(|vectors| analysed(respond, id, &vectors, &analysis)),
        };
        respond(Reply { id, result });
    }
}

/// The bytes of the file sent with a preparation, refused by its size before reading
/// (the page checked it already; the worker does not rely on that).
fn read_file(attachment: &JsValue, name: &str, limit: u64) -> Result<Vec<u8>, WorkerError> {
    let blob = attachment
        .dyn_ref::<web_sys::Blob>()
        .ok_or_else(|| WorkerError::Read("no file came with the job".into()))?;
    pipeline::check_file_size(name, blob.size() as u64, limit)?;
    // The browser's own words only: `WorkerError::Read` says what they are about.
    crate::platform::files::read_in_worker(blob)
        .map_err(|crate::platform::files::ReadError::Browser(why)| WorkerError::Read(why))
}

thread_local! {
    /// The job this worker is running, for the panic hook to name.
    static RUNNING: Cell<Option<(u64, JobKind)>> = const { Cell::new(None) };
}

/// What the worker posts once it listens: the page holds its jobs until then.
pub const READY: &str = "ready";

/// The worker's entry point (`src/bin/compute_worker.rs`, and the browser tests' worker):
/// installs the panic hook, listens to the page, and says it is ready.
///
/// A panic in wasm aborts the instance, so the hook posts the running job's
/// [`WorkerError::Crashed`], with the panic's message, before the trap; the page also
/// hears the trap itself (the worker's `error` event), which covers what no hook sees
/// (a stack overflow, an abort in C code). Either way the page replaces this worker.
pub fn run() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        if let Some((id, job)) = RUNNING.with(Cell::get) {
            let detail = info
                .payload_as_str()
                .unwrap_or("a panic without a message")
                .to_string();
            post(&Reply {
                id,
                result: Err(WorkerError::Crashed { job, detail }),
            });
        }
    }));
    let mut worker = ComputeWorker::default();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        // [bincode of a `Request`, the file of a preparation or undefined]
        let message = js_sys::Array::from(&event.data());
        let bytes = js_sys::Uint8Array::new(&message.get(0)).to_vec();
        let request: Request = match bincode::deserialize(&bytes) {
            Ok(request) => request,
            // Not a request from this app's page: a bug the page hears as this worker's
            // `error` event, which fails the job it sent.
            Err(e) => wasm_bindgen::throw_str(&format!("the worker could not read its job: {e}")),
        };
        RUNNING.with(|r| r.set(Some((request.id, request.job.kind()))));
        worker.received(request, &message.get(1), &|reply| post(&reply));
        RUNNING.with(|r| r.set(None));
    });
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    // A failed post leaves the page waiting on its timeout: nothing better to do here.
    let _ = scope.post_message(&JsValue::from_str(READY));
}

/// Posts a reply to the page, its buffer transferred rather than copied (a similarity
/// matrix is up to 16 MB).
fn post(reply: &Reply) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let bytes = match bincode::serialize(reply) {
        Ok(bytes) => bytes,
        Err(e) => wasm_bindgen::throw_str(&format!("the worker could not write its answer: {e}")),
    };
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    let transfer = js_sys::Array::of1(&array.buffer());
    if let Err(e) = scope.post_message_with_transfer(&array, &transfer) {
        wasm_bindgen::throw_val(e);
    }
}

/// Runs an analysis, its progress going out while it runs as extra replies to the same
/// request id, at most every `PROGRESS_EVERY_MS`.
fn analysed(
    respond: &dyn Fn(Reply),
    id: u64,
    vectors: &[Vec<f32>],
    analysis: &Analysis,
) -> Result<Outcome, WorkerError> {
    let start = now_ms();
    let mut last = start;
    let mut progress = |fraction: f64| {
        let now = now_ms();
        if now - last >= PROGRESS_EVERY_MS {
            last = now;
            respond(Reply {
                id,
                result: Ok(Outcome::Progress(fraction as f32)),
            });
        }
    };
    analyse_with(vectors, analysis, &mut progress).map(|found| Outcome::Analysed {
        found,
        millis: now_ms() - start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_similarity_questions_are_answered_and_checked() {
        use crate::worker::protocol::{SimilarityFound, SimilarityQuestion, SummaryOrder};
        let ask = |q: SimilarityQuestion| analyse(&clusters(), &Analysis::Similarity(q));
        let Ok(Found::Similarity(SimilarityFound::Cells(c))) =
            ask(SimilarityQuestion::Cells { cols: None })
        else {
            panic!("cells")
        };
        assert_eq!((c.rows(), c.cols(), c.is_square()), (8, 8, true));
        assert!(c.at(0, 4).unwrap().abs() < 0.01 && c.at(0, 3).unwrap() > 0.99);
        let Ok(Found::Similarity(SimilarityFound::Order(o))) =
            ask(SimilarityQuestion::ClusteredOrder)
        else {
            panic!("an order")
        };
        let first: Vec<bool> = o[..4].iter().map(|&i| i < 4).collect();
        assert!(first.iter().all(|&f| f == first[0]), "{o:?}");
        let Ok(Found::Similarity(SimilarityFound::Summary(s))) = ask(SimilarityQuestion::Summary {
            order: SummaryOrder::Given(vec![0, 4, 1, 5, 2, 6, 3, 7]),
            blocks: 4,
        }) else {
            panic!("a summary")
        };
        assert_eq!((s.len(), s.blocks()), (8, 4));
        assert_eq!(s.members(1), Some(&[1, 5][..]));
        let bad = ask(SimilarityQuestion::Summary {
            order: SummaryOrder::Given(vec![0, 0, 1, 2, 3, 4, 5, 6]),
            blocks: 4,
        })
        .unwrap_err();
        assert!(
            bad.to_string()
                .starts_with("the similarity matrix cannot be computed: the order given"),
            "{bad}"
        );
        let narrow = ask(SimilarityQuestion::Cells {
            cols: Some(vec![vec![1.0, 0.0]]),
        })
        .unwrap_err();
        assert!(
            narrow
                .to_string()
                .contains("text 0 has 2 values, the images have 3"),
            "{narrow}"
        );
    }

    #[test]
    fn staged_parts_make_the_vectors_of_their_job_and_a_missing_part_is_said() {
        let mut w = ComputeWorker::default();
        let part = |rows: &[Vec<f32>]| {
            let mut f = FlatVectors::with_capacity(3, rows.len());
            rows.iter().for_each(|r| f.push(r).unwrap());
            f
        };
        let v = clusters();
        w.staged.push((5, vec![part(&v[..3]), part(&v[3..])]));
        assert_eq!(w.take_staged(5, 2).unwrap(), v);
        assert!(w.staged.is_empty());
        w.staged.push((6, vec![part(&v[..3])]));
        let err = w.take_staged(6, 2).unwrap_err();
        assert!(err.starts_with("only 1 of the 2 parts"), "{err}");
        assert!(w.take_staged(7, 1).is_err(), "nothing staged for batch 7");
        assert_eq!(w.take_staged(8, 0).unwrap(), Vec::<Vec<f32>>::new());
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
