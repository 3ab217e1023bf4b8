//! A few compute workers and the futures that wait for their answers.
//!
//! Preparation gets one worker per spare core (1–4): it is CPU-bound, and more workers
//! than cores only share the same cores. Analyses get a worker of their own, so a
//! two-second cross-validation never holds up thumbnails. Each job gets a future that
//! resolves with the worker's reply; a job that does not come back in time (the worker
//! crashed on a hostile file, or the work is huge) fails with a [`WorkerError::TimedOut`]
//! naming the job, and that worker is replaced, so one bad file never stops the others.
//!
//! The public methods are typed per question — [`WorkerPool::run_prepare`] answers a
//! [`PreparedImage`], [`WorkerPool::run_map`] a [`Projection`], … — so no caller matches
//! an untyped [`Outcome`]; [`WorkerPool::ask`] is the one place that does.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use futures::channel::oneshot;
use futures::future::{select, Either};
use gloo_worker::{Spawnable, WorkerBridge};
use medinsight_core::pipeline::PrepareOptions;

use crate::worker::handler::ComputeWorker;
use crate::worker::protocol::{
    Analysis, Classification, FlatVectors, Found, Job, JobKind, Outcome, PreparedImage, Projection,
    Reply, Request, SimilarityFound, SimilarityQuestion, WorkerError,
};

/// Where Trunk puts the worker's loader (`index.html`, `filehash = false`).
pub const WORKER_LOADER: &str = "/compute-worker_loader.js";
/// Longest a single job may take before its worker is presumed dead.
pub const JOB_TIMEOUT_MS: u32 = 120_000;
/// Vectors per staged part (8 MB of 1024-d vectors): copying a part into a message and
/// posting it is a few tens of milliseconds, the page free between parts.
pub const ROWS_PER_PART: usize = 2000;

/// Hears how far a long job is (0 to 1), each time the worker says.
pub type OnProgress = Rc<dyn Fn(f32)>;

/// A job waiting for its reply: the worker slot it was sent to, where its reply goes,
/// and who hears its progress meanwhile.
struct Waiting {
    slot: usize,
    reply: oneshot::Sender<Result<Outcome, WorkerError>>,
    progress: Option<OnProgress>,
}

type Pending = Rc<RefCell<HashMap<u64, Waiting>>>;

pub struct WorkerPool {
    bridges: RefCell<Vec<WorkerBridge<ComputeWorker>>>,
    pending: Pending,
    next_id: Cell<u64>,
}

fn spawn(pending: &Pending) -> WorkerBridge<ComputeWorker> {
    let pending = pending.clone();
    ComputeWorker::spawner()
        .callback(move |reply: Reply| {
            // Progress leaves the job waiting. The listener is called with `pending`
            // released: it sets signals, and whatever they run may ask the pool.
            if let Ok(Outcome::Progress(fraction)) = reply.result {
                let listener = pending
                    .borrow()
                    .get(&reply.id)
                    .and_then(|w| w.progress.clone());
                if let Some(listener) = listener {
                    listener(fraction);
                }
                return;
            }
            // A reply whose job is no longer waiting (timed out meanwhile) is dropped.
            if let Some(w) = pending.borrow_mut().remove(&reply.id) {
                let _ = w.reply.send(reply.result);
            }
        })
        .with_loader(true)
        .as_module(false)
        .spawn(WORKER_LOADER)
}

impl WorkerPool {
    pub fn new(workers: usize) -> Self {
        let pending: Pending = Rc::default();
        let bridges = (0..workers.max(1)).map(|_| spawn(&pending)).collect();
        Self {
            bridges: RefCell::new(bridges),
            pending,
            next_id: Cell::new(1),
        }
    }

    pub fn len(&self) -> usize {
        self.bridges.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Prepares an image on worker `worker`.
    pub async fn run_prepare(
        &self,
        worker: usize,
        bytes: Vec<u8>,
        options: PrepareOptions,
    ) -> Result<PreparedImage, WorkerError> {
        self.ask(worker, Job::Prepare { bytes, options }, None, |o| match o {
            Outcome::Prepared(p) => Some(*p),
            _ => None,
        })
        .await
    }

    /// Outlier scores (mean cosine distance to the `k` nearest among `reference`), and
    /// the milliseconds they took in the worker; `progress` hears how far they are.
    pub async fn run_outliers(
        &self,
        worker: usize,
        vectors: Vec<Vec<f32>>,
        reference: Vec<usize>,
        k: usize,
        progress: OnProgress,
    ) -> Result<(Vec<f32>, f64), WorkerError> {
        let analysis = Analysis::Outliers { reference, k };
        let job = self.staged(worker, &vectors, analysis).await?;
        self.ask(worker, job, Some(progress), |o| match o {
            Outcome::Analysed {
                found: Found::Outliers(scores),
                millis,
            } => Some((scores, millis)),
            _ => None,
        })
        .await
    }

    /// The PCA map of `vectors`, and the milliseconds it took in the worker.
    pub async fn run_map(
        &self,
        worker: usize,
        vectors: Vec<Vec<f32>>,
    ) -> Result<(Projection, f64), WorkerError> {
        let job = self.staged(worker, &vectors, Analysis::Map).await?;
        self.ask(worker, job, None, |o| match o {
            Outcome::Analysed {
                found: Found::Map(map),
                millis,
            } => Some((map, millis)),
            _ => None,
        })
        .await
    }

    /// The cross-validated classifier on `labelled` (row, class) and its predictions for
    /// the other rows, and the milliseconds it took in the worker; `progress` hears how
    /// far it is.
    pub async fn run_classify(
        &self,
        worker: usize,
        vectors: Vec<Vec<f32>>,
        labelled: Vec<(usize, usize)>,
        classes: usize,
        folds: usize,
        progress: OnProgress,
    ) -> Result<(Classification, f64), WorkerError> {
        let analysis = Analysis::Classify {
            labelled,
            classes,
            folds,
        };
        let job = self.staged(worker, &vectors, analysis).await?;
        self.ask(worker, job, Some(progress), |o| match o {
            Outcome::Analysed {
                found: Found::Classify(report),
                millis,
            } => Some((report, millis)),
            _ => None,
        })
        .await
    }

    /// The similarity view's `question` about `rows`, and the milliseconds it took in
    /// the worker. The rows travel as staged parts of [`ROWS_PER_PART`] vectors, each
    /// one block of bytes, the page free between parts (at 10 000 images, 40 MB in
    /// five 8 MB messages instead of one that bincode would write float by float).
    /// Vectors of different widths are refused here, as the worker would refuse them.
    /// (Which of the question's answers came back is checked by the caller,
    /// `work::analyses::Analyst`, one typed method per question.)
    pub async fn run_similarity(
        &self,
        worker: usize,
        rows: &[Arc<Vec<f32>>],
        question: SimilarityQuestion,
    ) -> Result<(SimilarityFound, f64), WorkerError> {
        let rows: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
        let job = self
            .staged(worker, &rows, Analysis::Similarity(question))
            .await?;
        self.ask(worker, job, None, |o| match o {
            Outcome::Analysed {
                found: Found::Similarity(found),
                millis,
            } => Some((found, millis)),
            _ => None,
        })
        .await
    }

    /// `analysis` of `rows` as a job whose vectors went ahead in parts ([`Self::stage`]).
    async fn staged(
        &self,
        worker: usize,
        rows: &[impl AsRef<[f32]>],
        analysis: Analysis,
    ) -> Result<Job, WorkerError> {
        let (batch, parts) = self
            .stage(worker % self.len(), rows, analysis.kind())
            .await?;
        Ok(Job::AnalyseStaged {
            batch,
            parts,
            analysis,
        })
    }

    /// Sends `rows` to worker `slot` ahead of the job that will use them, in parts of
    /// `ROWS_PER_PART`, each one block of bytes, the page free between parts: bincode
    /// writing 10 000 × 1024 floats one by one held the page's thread 0.1–1.9 s; a part
    /// costs ~11 ms. Returns the batch number and the count of parts the job names.
    async fn stage(
        &self,
        slot: usize,
        rows: &[impl AsRef<[f32]>],
        job: JobKind,
    ) -> Result<(u64, usize), WorkerError> {
        let dim = rows.first().map_or(0, |v| v.as_ref().len());
        let batch = self.next_id.get();
        self.next_id.set(batch + 1);
        let mut parts = 0;
        for (k, chunk) in rows.chunks(ROWS_PER_PART).enumerate() {
            if k > 0 {
                gloo_timers::future::TimeoutFuture::new(0).await;
            }
            let mut part = FlatVectors::with_capacity(dim, chunk.len());
            for (i, v) in chunk.iter().enumerate() {
                part.push(v.as_ref())
                    .map_err(|width| WorkerError::Analysis {
                        job,
                        reason: format!(
                            "vector {} has {width} values, the first has {dim}",
                            k * ROWS_PER_PART + i
                        ),
                    })?;
            }
            // Not awaited: a part is not answered, and parts and job go to the worker
            // in order. A worker replaced meanwhile misses parts, and says so.
            let stage = Job::Stage {
                batch,
                vectors: part,
            };
            self.bridges.borrow()[slot].send(Request { id: 0, job: stage });
            parts += 1;
        }
        Ok((batch, parts))
    }

    /// Runs `job` on worker `worker` (jobs on one worker run one after another) and
    /// turns its untyped outcome into the question's answer with `answer`, which returns
    /// `None` for another job's outcome; `progress` hears the worker's progress reports
    /// meanwhile. The transport, the timeout and the replacement of a stuck worker live
    /// here and only here.
    async fn ask<T>(
        &self,
        worker: usize,
        job: Job,
        progress: Option<OnProgress>,
        answer: impl FnOnce(Outcome) -> Option<T>,
    ) -> Result<T, WorkerError> {
        let asked = job.kind();
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let (tx, rx) = oneshot::channel();
        let slot = worker % self.len();
        self.pending.borrow_mut().insert(
            id,
            Waiting {
                slot,
                reply: tx,
                progress,
            },
        );
        self.bridges.borrow()[slot].send(Request { id, job });
        let timeout = gloo_timers::future::TimeoutFuture::new(JOB_TIMEOUT_MS);
        let outcome = match select(rx, timeout).await {
            Either::Left((Ok(result), _)) => result?,
            // The reply's sender was dropped: the worker was replaced under this job.
            Either::Left((Err(_), _)) => return Err(WorkerError::Stopped { job: asked }),
            Either::Right(_) => {
                // Every job still queued on this worker would wait on a worker that is
                // going away: dropping their senders fails them now (`Stopped`), rather
                // than each timing out in turn and replacing the *new* worker under
                // whatever it is running by then.
                self.pending.borrow_mut().retain(|_, w| w.slot != slot);
                self.bridges.borrow_mut()[slot] = spawn(&self.pending);
                return Err(WorkerError::TimedOut {
                    job: asked,
                    secs: JOB_TIMEOUT_MS / 1000,
                });
            }
        };
        answer(outcome).ok_or(WorkerError::Mismatch { asked })
    }
}
