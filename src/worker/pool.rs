//! A few compute workers and the futures that wait for their answers.
//!
//! Preparation gets one worker per spare core (1–4): it is CPU-bound, and more workers
//! than cores only share the same cores. Analyses get a worker of their own, so a
//! two-second cross-validation never holds up thumbnails. Each job gets a future that
//! resolves with the worker's reply.
//!
//! A worker that dies is noticed at once: its panic hook posts the running job's
//! [`WorkerError::Crashed`] before the trap, and the browser fires the worker's `error`
//! event for any death (a trap no hook saw included). Either way the job that was
//! running — the first unanswered message the worker was sent, since a worker answers
//! in order — fails with that reason, the worker is terminated and a fresh one started,
//! and every other job that was queued on the dead one is sent again to the fresh one
//! (each slot keeps its unanswered messages for that). A job that does not come back in
//! [`JOB_TIMEOUT_MS`] (a worker that hangs) fails with a [`WorkerError::TimedOut`]
//! naming it, and its worker is replaced the same way.
//!
//! The pool starts its workers itself (`web_sys::Worker`) rather than through
//! gloo-worker, whose bridge hides the `Worker`: without it there is no `error` event, no
//! `terminate` (a replaced worker that hangs would spin on a core for good), and no way
//! to send a `File` beside a message. Messages are bincode in a `Uint8Array`, as
//! gloo-worker sent them; a preparation's `File` goes beside its request (a handle: the
//! page never reads it), over the size limit refused from `File.size` before anything
//! is sent.
//!
//! The public methods are typed per question — [`WorkerPool::run_prepare`] answers a
//! [`PreparedImage`], [`WorkerPool::run_map`] a [`Projection`], … — so no caller matches
//! an untyped [`Outcome`]; [`WorkerPool::ask`] is the one place that does.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use futures::channel::oneshot;
use futures::future::{select, Either};
use medinsight_core::pipeline::{check_file_size, PrepareOptions, MAX_FILE_BYTES};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, Event, File, MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::worker::handler::READY;
use crate::worker::protocol::{
    Analysis, Classification, FlatVectors, Found, Job, JobKind, Outcome, PreparedImage, Projection,
    Reply, Request, SimilarityFound, SimilarityQuestion, WorkerError,
};

/// Where Trunk puts the worker's loader (`index.html`, `filehash = false`).
pub const WORKER_LOADER: &str = "/compute-worker_loader.js";
/// Longest a single job may take before its worker is presumed hung: the last resort,
/// since a worker that dies is noticed at once.
pub const JOB_TIMEOUT_MS: u32 = 120_000;
/// Vectors per staged part (8 MB of 1024-d vectors): copying a part into a message and
/// posting it is a few tens of milliseconds, the page free between parts.
pub const ROWS_PER_PART: usize = 2000;

/// Hears how far a long job is (0 to 1), each time the worker says.
pub type OnProgress = Rc<dyn Fn(f32)>;

/// The script a worker runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerScript {
    pub url: String,
    /// A module worker (`import`), or a classic one (`importScripts`, Trunk's loader).
    pub module: bool,
}

impl WorkerScript {
    /// The app's compute worker, as Trunk builds it.
    pub fn app() -> Self {
        Self {
            url: WORKER_LOADER.into(),
            module: false,
        }
    }
}

/// A job waiting for its reply: what it is, where its reply goes, and who hears its
/// progress meanwhile.
struct Waiting {
    kind: JobKind,
    reply: oneshot::Sender<Result<Outcome, WorkerError>>,
    progress: Option<OnProgress>,
}

/// A message sent to a worker and not answered yet, kept to send again to the worker
/// that replaces a dead one. A job's staged parts carry the job's id.
struct Sent {
    job: u64,
    message: JsValue,
}

/// A running worker and its handlers.
struct Live {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

impl Drop for Live {
    fn drop(&mut self) {
        // Handlers first: a closure dropped while the browser still holds it would throw
        // on the next event.
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

/// One worker place of the pool.
#[derive(Default)]
struct Slot {
    live: Option<Live>,
    /// Which worker of this slot is live: events of a replaced one are ignored.
    generation: u64,
    /// The worker said it listens; until then messages wait in `sent`.
    ready: bool,
    /// Every message not answered yet, in the order sent.
    sent: Vec<Sent>,
    /// How many of `sent` the live worker was given.
    posted: usize,
}

struct Inner {
    script: WorkerScript,
    slots: Vec<Slot>,
    pending: HashMap<u64, Waiting>,
}

type Shared = Rc<RefCell<Inner>>;

pub struct WorkerPool {
    inner: Shared,
    next_id: Cell<u64>,
    file_limit: Cell<u64>,
}

impl WorkerPool {
    /// `workers` workers (at least one) of the app's compute worker.
    pub fn new(workers: usize) -> Self {
        Self::with_script(WorkerScript::app(), workers)
    }

    /// `workers` workers (at least one) running `script`; each starts with its first
    /// job.
    pub fn with_script(script: WorkerScript, workers: usize) -> Self {
        let inner = Inner {
            script,
            slots: (0..workers.max(1)).map(|_| Slot::default()).collect(),
            pending: HashMap::new(),
        };
        Self {
            inner: Rc::new(RefCell::new(inner)),
            next_id: Cell::new(1),
            file_limit: Cell::new(MAX_FILE_BYTES),
        }
    }

    /// Files over `bytes` are refused unread (default [`MAX_FILE_BYTES`]).
    pub fn set_file_limit(&self, bytes: u64) {
        self.file_limit.set(bytes);
    }

    pub fn len(&self) -> usize {
        self.inner.borrow().slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn next_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    /// Prepares `file` on worker `worker`, which reads it; a file over the limit is
    /// refused from its size, unread.
    pub async fn run_prepare(
        &self,
        worker: usize,
        file: &File,
        options: PrepareOptions,
    ) -> Result<PreparedImage, WorkerError> {
        let (name, limit) = (file.name(), self.file_limit.get());
        check_file_size(&name, file.size() as u64, limit)?;
        let job = Job::Prepare {
            name,
            limit,
            options,
        };
        let id = self.next_id();
        self.ask(worker, id, job, file.into(), None, |o| match o {
            Outcome::Prepared(p) => Some(*p),
            _ => None,
        })
        .await
    }

    /// Makes worker `worker` panic, as a decoder bug would (debug builds only: the
    /// browser tests' way to check that a dead worker is noticed and replaced).
    #[cfg(debug_assertions)]
    pub async fn run_crash(&self, worker: usize) -> Result<(), WorkerError> {
        let id = self.next_id();
        self.ask(worker, id, Job::Crash, JsValue::UNDEFINED, None, |_| {
            Some(())
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
        self.staged(worker, &vectors, analysis, Some(progress), |o| match o {
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
        self.staged(worker, &vectors, Analysis::Map, None, |o| match o {
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
        self.staged(worker, &vectors, analysis, Some(progress), |o| match o {
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
        let analysis = Analysis::Similarity(question);
        self.staged(worker, &rows, analysis, None, |o| match o {
            Outcome::Analysed {
                found: Found::Similarity(found),
                millis,
            } => Some((found, millis)),
            _ => None,
        })
        .await
    }

    /// `analysis` of `rows`, whose vectors go ahead in parts ([`Self::stage`]) under the
    /// job's id, then the job itself.
    async fn staged<T>(
        &self,
        worker: usize,
        rows: &[impl AsRef<[f32]>],
        analysis: Analysis,
        progress: Option<OnProgress>,
        answer: impl FnOnce(Outcome) -> Option<T>,
    ) -> Result<T, WorkerError> {
        let id = self.next_id();
        let slot = worker % self.len();
        let parts = match self.stage(slot, id, rows, analysis.kind()).await {
            Ok(parts) => parts,
            Err(e) => {
                forget_job(&mut self.inner.borrow_mut().slots[slot], id);
                return Err(e);
            }
        };
        let job = Job::AnalyseStaged {
            batch: id,
            parts,
            analysis,
        };
        self.ask(slot, id, job, JsValue::UNDEFINED, progress, answer)
            .await
    }

    /// Sends `rows` to worker `slot` ahead of job `id` that will use them, in parts of
    /// `ROWS_PER_PART`, each one block of bytes, the page free between parts: bincode
    /// writing 10 000 × 1024 floats one by one held the page's thread 0.1–1.9 s; a part
    /// costs ~11 ms. Rows of different widths are refused before anything is sent.
    /// Returns the count of parts the job names.
    async fn stage(
        &self,
        slot: usize,
        id: u64,
        rows: &[impl AsRef<[f32]>],
        job: JobKind,
    ) -> Result<usize, WorkerError> {
        let dim = rows.first().map_or(0, |v| v.as_ref().len());
        if let Some((i, v)) = rows
            .iter()
            .enumerate()
            .find(|(_, v)| v.as_ref().len() != dim)
        {
            return Err(WorkerError::Analysis {
                job,
                reason: format!(
                    "vector {i} has {} values, the first has {dim}",
                    v.as_ref().len()
                ),
            });
        }
        let mut parts = 0;
        for (k, chunk) in rows.chunks(ROWS_PER_PART).enumerate() {
            if k > 0 {
                gloo_timers::future::TimeoutFuture::new(0).await;
            }
            let mut part = FlatVectors::with_capacity(dim, chunk.len());
            for v in chunk {
                // Widths were checked above.
                let _ = part.push(v.as_ref());
            }
            // Not answered: the job is, and parts and job reach the worker in order.
            let stage = Job::Stage {
                batch: id,
                vectors: part,
            };
            let message = encode(&Request { id: 0, job: stage }, JsValue::UNDEFINED)?;
            send(&self.inner, slot, id, message);
            parts += 1;
        }
        Ok(parts)
    }

    /// Runs `job` (id `id`, with `attachment` beside it) on worker `worker` (jobs on one
    /// worker run one after another) and turns its untyped outcome into the question's
    /// answer with `answer`, which returns `None` for another job's outcome; `progress`
    /// hears the worker's progress reports meanwhile. The transport, the timeout and the
    /// replacement of a worker that hangs live here and only here.
    async fn ask<T>(
        &self,
        worker: usize,
        id: u64,
        job: Job,
        attachment: JsValue,
        progress: Option<OnProgress>,
        answer: impl FnOnce(Outcome) -> Option<T>,
    ) -> Result<T, WorkerError> {
        let asked = job.kind();
        let slot = worker % self.len();
        let message = encode(&Request { id, job }, attachment)?;
        let (tx, rx) = oneshot::channel();
        self.inner.borrow_mut().pending.insert(
            id,
            Waiting {
                kind: asked,
                reply: tx,
                progress,
            },
        );
        send(&self.inner, slot, id, message);
        let timeout = gloo_timers::future::TimeoutFuture::new(JOB_TIMEOUT_MS);
        let outcome = match select(rx, timeout).await {
            Either::Left((Ok(result), _)) => result?,
            // Never: the pool fails a job before dropping its sender.
            Either::Left((Err(_), _)) => {
                return Err(WorkerError::Crashed {
                    job: asked,
                    detail: "its answer was lost".into(),
                })
            }
            Either::Right(_) => {
                let mut inner = self.inner.borrow_mut();
                if inner.pending.remove(&id).is_some() {
                    // A worker runs its messages in order: the job it is on is the first
                    // one unanswered. Only then may it be spinning on this job; a job
                    // still queued behind another times out without killing the healthy
                    // job in front of it (its late answer, if any, is dropped).
                    let running = inner.slots[slot].sent.first().map(|m| m.job) == Some(id);
                    forget_job(&mut inner.slots[slot], id);
                    if running {
                        // Terminated, and the jobs behind it go to a fresh worker.
                        replace(&self.inner, &mut inner, slot);
                    }
                }
                return Err(WorkerError::TimedOut {
                    job: asked,
                    secs: JOB_TIMEOUT_MS / 1000,
                });
            }
        };
        answer(outcome).ok_or(WorkerError::Mismatch { asked })
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        // The workers' handlers hold only a weak handle: terminate them with the pool.
        for slot in &mut self.inner.borrow_mut().slots {
            slot.live = None;
        }
    }
}

/// `[bincode of request, attachment]`, what a worker's `onmessage` reads.
fn encode(request: &Request, attachment: JsValue) -> Result<JsValue, WorkerError> {
    let bytes = bincode::serialize(request).map_err(|e| WorkerError::Crashed {
        job: request.job.kind(),
        detail: format!("the job could not be written: {e}"),
    })?;
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    Ok(js_sys::Array::of2(&array, &attachment).into())
}

/// Sends `message` of job `job` to worker `slot`, starting it if needed; held until the
/// worker is ready.
fn send(shared: &Shared, slot: usize, job: u64, message: JsValue) {
    let mut inner = shared.borrow_mut();
    inner.slots[slot].sent.push(Sent { job, message });
    if inner.slots[slot].live.is_none() {
        start(shared, &mut inner, slot);
    } else {
        flush(&mut inner.slots[slot]);
    }
}

/// Gives a ready worker the messages it has not had yet.
fn flush(slot: &mut Slot) {
    let Some(live) = slot.live.as_ref().filter(|_| slot.ready) else {
        return;
    };
    for sent in &slot.sent[slot.posted..] {
        // Only a message the browser cannot clone fails here, and ours (bytes and a
        // `File`) always can; its job would wait for its timeout, so it is logged.
        if let Err(e) = live.worker.post_message(&sent.message) {
            web_sys::console::error_1(&e);
        }
    }
    slot.posted = slot.sent.len();
}

/// Starts a worker in `slot` for the messages waiting there. If the browser refuses,
/// every job waiting on the slot fails with its reason.
fn start(shared: &Shared, inner: &mut Inner, slot: usize) {
    let s = &mut inner.slots[slot];
    s.generation += 1;
    s.ready = false;
    s.posted = 0;
    match spawn(Rc::downgrade(shared), &inner.script, slot, s.generation) {
        Ok(live) => s.live = Some(live),
        Err(reason) => {
            let jobs: Vec<u64> = s.sent.drain(..).map(|m| m.job).collect();
            for job in jobs {
                if let Some(w) = inner.pending.remove(&job) {
                    let _ = w.reply.send(Err(WorkerError::NoWorker(reason.clone())));
                }
            }
        }
    }
}

/// Terminates the worker of `slot` and, if jobs are waiting there, starts a fresh one
/// and sends them all again. Called from the worker's own handlers, so the old worker
/// (and its closures) is dropped after the handler returns.
fn replace(shared: &Shared, inner: &mut Inner, slot: usize) {
    if let Some(old) = inner.slots[slot].live.take() {
        old.worker.set_onmessage(None);
        old.worker.set_onerror(None);
        old.worker.terminate();
        wasm_bindgen_futures::spawn_local(async move { drop(old) });
    }
    if inner.slots[slot].sent.is_empty() {
        // A fresh worker starts with the next job.
        inner.slots[slot].generation += 1;
        inner.slots[slot].ready = false;
        inner.slots[slot].posted = 0;
    } else {
        start(shared, inner, slot);
    }
}

/// Drops job `job`'s messages from what `slot` would send again.
fn forget_job(slot: &mut Slot, job: u64) {
    let posted_gone = slot.sent[..slot.posted]
        .iter()
        .filter(|m| m.job == job)
        .count();
    slot.sent.retain(|m| m.job != job);
    slot.posted -= posted_gone;
}

/// A new worker for `slot`, its messages and errors routed to the pool.
fn spawn(
    weak: Weak<RefCell<Inner>>,
    script: &WorkerScript,
    slot: usize,
    generation: u64,
) -> Result<Live, String> {
    let worker = if script.module {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        Worker::new_with_options(&script.url, &options)
    } else {
        Worker::new(&script.url)
    }
    .map_err(|e| crate::platform::js_error_text(&e))?;
    let on_message = {
        let weak = weak.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(shared) = weak.upgrade() {
                heard(&shared, slot, generation, event.data());
            }
        })
    };
    let on_error = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
        // The page handles it: no "uncaught" report of the worker's error on the page.
        event.prevent_default();
        if let Some(shared) = weak.upgrade() {
            // An uncaught error is an `ErrorEvent`; a script that failed to load, a
            // plain `Event`.
            let detail = match event.dyn_ref::<ErrorEvent>().map(ErrorEvent::message) {
                Some(m) if !m.is_empty() => m,
                _ => "the worker stopped, or its script could not be loaded".to_string(),
            };
            died(&shared, slot, generation, detail);
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(Live {
        worker,
        _on_message: on_message,
        _on_error: on_error,
    })
}

/// A message from worker `slot`: it is ready, a job's progress, or a job's reply.
fn heard(shared: &Shared, slot: usize, generation: u64, data: JsValue) {
    let mut inner = shared.borrow_mut();
    if inner.slots[slot].generation != generation {
        return;
    }
    if data.as_string().as_deref() == Some(READY) {
        inner.slots[slot].ready = true;
        flush(&mut inner.slots[slot]);
        return;
    }
    let bytes = js_sys::Uint8Array::new(&data).to_vec();
    let reply: Reply = match bincode::deserialize(&bytes) {
        Ok(reply) => reply,
        Err(e) => {
            drop(inner);
            return died(
                shared,
                slot,
                generation,
                format!("an unreadable answer: {e}"),
            );
        }
    };
    // Progress leaves the job waiting. The listener is called with the pool released:
    // it sets signals, and whatever they run may ask the pool.
    if let Ok(Outcome::Progress(fraction)) = reply.result {
        let listener = inner
            .pending
            .get(&reply.id)
            .and_then(|w| w.progress.clone());
        drop(inner);
        if let Some(listener) = listener {
            listener(fraction);
        }
        return;
    }
    forget_job(&mut inner.slots[slot], reply.id);
    let crashed = matches!(reply.result, Err(WorkerError::Crashed { .. }));
    // A reply whose job is no longer waiting (timed out meanwhile) is dropped.
    if let Some(w) = inner.pending.remove(&reply.id) {
        let _ = w.reply.send(reply.result);
    }
    if crashed {
        // The panic hook's last words: the trap follows.
        replace(shared, &mut inner, slot);
    }
}

/// Worker `slot` died (its `error` event): the job it was running fails with `detail`,
/// the others go to a fresh worker.
fn died(shared: &Shared, slot: usize, generation: u64, detail: String) {
    let mut inner = shared.borrow_mut();
    if inner.slots[slot].generation != generation {
        return;
    }
    // A worker answers in order: the first unanswered message is the one it was on.
    if let Some(job) = inner.slots[slot].sent.first().map(|m| m.job) {
        forget_job(&mut inner.slots[slot], job);
        if let Some(w) = inner.pending.remove(&job) {
            let _ = w.reply.send(Err(WorkerError::Crashed {
                job: w.kind,
                detail,
            }));
        }
    }
    replace(shared, &mut inner, slot);
}
