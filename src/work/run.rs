//! A run: everything not yet embedded goes to the endpoint in ordered batches of one kind
//! (images, or texts: the service refuses a request that mixes them), with as many
//! requests in flight as the adaptive window allows (`core::concurrency`), each retried
//! with jittered backoff; every vector is put back on the image or label it belongs to.
//!
//! What is embedded already (same fingerprint) is skipped. A run first waits for
//! images still being prepared. Cancel stops new requests (and pending retries); answers
//! already on their way are kept. A bad key or a missing deployment stops the whole run
//! with what to do; a model error (424) or exhausted retries fail only that batch's
//! items, with the reason on each.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use futures::channel::oneshot;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use medinsight_core::endpoint::batching;
use medinsight_core::endpoint::concurrency::{Concurrency, Outcome};
use medinsight_core::endpoint::retry::{decide, Attempt, Decision, Failure};
use medinsight_core::endpoint::wire::{
    failure_message, parse_response, ParseOptions, Row, RowKind, ScoreRequest, ScoreResponse,
};

use crate::platform::fetch::{post, SendError};
use crate::state::{Embedded, ImageItem, LabelItem, Progress, Session, Stage};
use crate::worker::protocol::PreparedImage;

#[derive(Clone, Copy)]
enum Target {
    Image(ImageItem),
    Label(LabelItem),
    /// A one-off text, not kept in the session.
    Query,
}

/// What a row carries. An image's base64 is made only when its request is built, so a
/// run over 2 000 images never holds all their base64 at once.
enum Payload {
    Image(Arc<PreparedImage>),
    Text(String),
}

struct Cell {
    target: Target,
    payload: Payload,
    key: u64,
}

impl Cell {
    fn row(&self) -> Row {
        match &self.payload {
            Payload::Image(p) => Row::image(medinsight_core::pipeline::encode::base64(&p.png)),
            Payload::Text(t) => Row::text(t.clone()),
        }
    }

    fn kind(&self) -> RowKind {
        match &self.payload {
            Payload::Image(_) => RowKind::Image,
            Payload::Text(_) => RowKind::Text,
        }
    }

    /// Whether the item still wants what this cell carries: it is still in the session,
    /// and what it would send now is what the cell holds (an image re-windowed or a
    /// label edited since the run planned it waits for the next run).
    fn is_current(&self, session: Session) -> bool {
        match self.target {
            // Membership first: a removed item's signals are gone.
            Target::Image(i) => {
                session.image(i.id).is_some()
                    && !i.stage.get_untracked().is_pending_preparation()
                    && i.prepared
                        .with_untracked(|p| p.as_ref().map(|p| p.fingerprint))
                        == Some(self.key)
            }
            Target::Label(l) => l.text.try_with_untracked(|t| LabelItem::key(t)) == Some(self.key),
            Target::Query => true,
        }
    }

    /// Bytes the cell adds to a request body.
    fn bytes(&self) -> usize {
        match &self.payload {
            Payload::Image(p) => medinsight_core::pipeline::encode::base64_len(p.png.len()),
            Payload::Text(t) => t.len(),
        }
    }
}

enum BatchOutcome {
    Done(ScoreResponse),
    Failed(Failure),
    Cancelled,
}

/// The door to the endpoint: a lane waits here until the window has a place for one
/// more request, and gives the place back (with how the attempt ended, which moves the
/// window) when the answer is in. Retry waits happen outside, holding no place.
///
/// Places are handed over in order: a lane that finds others waiting queues behind
/// them, and a freed place goes to the first in line — a batch coming back from a retry
/// wait first of all. Otherwise the lane that just answered would take its own place
/// back at once, and a retried batch could wait for the end of the run (or run out of
/// retries as the probe above capacity).
struct Gate {
    window: RefCell<Concurrency>,
    waiting: RefCell<VecDeque<oneshot::Sender<()>>>,
    /// The run's gate shows its window in the progress line; a one-off query's does not.
    shown: bool,
}

impl Gate {
    fn new(window: Concurrency, shown: bool) -> Rc<Self> {
        Rc::new(Self {
            window: RefCell::new(window),
            waiting: RefCell::new(VecDeque::new()),
            shown,
        })
    }

    /// Waits for a place; `retrying` goes to the front of the line.
    async fn enter(&self, session: Session, retrying: bool) {
        let free = self.waiting.borrow().is_empty() && self.window.borrow_mut().try_start();
        if !free {
            let (tx, rx) = oneshot::channel();
            if retrying {
                self.waiting.borrow_mut().push_front(tx);
            } else {
                self.waiting.borrow_mut().push_back(tx);
            }
            // The place is taken for us before we are woken (see `hand_over`).
            let _ = rx.await;
        }
        self.show(session);
    }

    fn leave(&self, session: Session, outcome: Outcome) {
        self.window.borrow_mut().finish(outcome);
        self.hand_over();
        self.show(session);
    }

    /// Gives free places to the first in line, taking each place on their behalf.
    fn hand_over(&self) {
        loop {
            let Some(next) = self.waiting.borrow_mut().pop_front() else {
                return;
            };
            if !self.window.borrow_mut().try_start() {
                self.waiting.borrow_mut().push_front(next);
                return;
            }
            if next.send(()).is_err() {
                // Nobody listens any more: the place goes back, to the next in line.
                self.window.borrow_mut().finish(Outcome::Failed);
            }
        }
    }

    fn show(&self, session: Session) {
        if !self.shown {
            return;
        }
        let w = self.window.borrow();
        let (in_flight, window, throttled) = (w.in_flight(), w.limit(), w.throttled());
        session.progress.update(|p| {
            p.in_flight = in_flight;
            p.window = window;
            p.throttled = throttled;
        });
    }
}

/// Runs until everything is sent, failed or cancelled.
pub async fn run(session: Session) {
    let settings = session.settings.get_untracked();
    session.cancel.set(false);
    session.progress.set(Progress {
        running: true,
        started_ms: crate::platform::clock::now_ms(),
        ..Progress::default()
    });

    // Images still being prepared are part of this run.
    loop {
        let waiting = session.images.with_untracked(|v| {
            v.iter()
                .filter(|i| i.stage.get_untracked().is_pending_preparation())
                .count()
        });
        if waiting == 0 || session.cancel.get_untracked() {
            break;
        }
        session
            .progress
            .update(|p| p.note = Some(format!("Waiting for {waiting} image(s) to be prepared…")));
        TimeoutFuture::new(100).await;
    }
    session.progress.update(|p| p.note = None);

    let cells = pending_cells(session);
    session.progress.update(|p| p.total = cells.len());
    if cells.is_empty() {
        session.progress.update(|p| {
            p.note = Some("Nothing to send: every image and label is embedded already.".into())
        });
    }
    let sizes: Vec<(RowKind, usize)> = cells.iter().map(|c| (c.kind(), c.bytes())).collect();
    let mut cells = cells.into_iter();
    let queue: VecDeque<Vec<Cell>> = batching::plan(&sizes, settings.run.batch_limits())
        .into_iter()
        .map(|b| cells.by_ref().take(b.items.len()).collect())
        .collect();
    let queue = Rc::new(RefCell::new(queue));
    let gate = Gate::new(settings.run.concurrency(), true);
    gate.show(session);

    // As many lanes as the window may ever allow; the gate decides how many send.
    let lanes = if settings.run.adaptive {
        settings.run.max_in_flight
    } else {
        settings.run.in_flight
    };
    let lanes = (0..lanes).map(|_| {
        let queue = queue.clone();
        let settings = settings.clone();
        let gate = gate.clone();
        async move {
            loop {
                gate.enter(session, false).await;
                let batch = if session.cancel.get_untracked() {
                    None
                } else {
                    queue.borrow_mut().pop_front()
                };
                let Some(batch) = batch else {
                    gate.leave(session, Outcome::Failed);
                    return;
                };
                // What changed while the batch waited in the queue is not sent.
                let (batch, stale): (Vec<Cell>, Vec<Cell>) =
                    batch.into_iter().partition(|c| c.is_current(session));
                if !stale.is_empty() {
                    session.progress.update(|p| p.total -= stale.len());
                }
                if batch.is_empty() {
                    gate.leave(session, Outcome::Failed);
                    continue;
                }
                for c in &batch {
                    if let Target::Image(i) = c.target {
                        i.stage.set(Stage::Sending);
                    }
                }
                let outcome = send(session, &settings, &gate, &batch).await;
                apply(session, batch, outcome);
            }
        }
    });
    futures::future::join_all(lanes).await;

    // Whatever a cancel left unsent goes back to ready.
    for batch in queue.borrow_mut().drain(..) {
        apply(session, batch, BatchOutcome::Cancelled);
    }
    session.progress.update(|p| {
        p.running = false;
        p.cancelling = false;
        p.in_flight = 0;
        p.finished_ms = Some(crate::platform::clock::now_ms());
        if session.cancel.get_untracked() && p.fatal.is_none() {
            p.note = Some(format!(
                "Cancelled: {} of {} embedded; run again to send the rest.",
                p.embedded, p.total
            ));
        }
    });
    // Ready for the next run (and for one-off requests such as a neighbours query).
    session.cancel.set(false);
}

/// Images and labels whose current content is not embedded yet, images first.
fn pending_cells(session: Session) -> Vec<Cell> {
    let mut cells = Vec::new();
    session.images.with_untracked(|v| {
        for &item in v {
            let Some(p) = item.prepared.get_untracked() else {
                continue;
            };
            if matches!(item.stage.get_untracked(), Stage::Queued | Stage::Preparing) {
                continue;
            }
            let done =
                item.embedding.with_untracked(|e| e.as_ref().map(|e| e.key)) == Some(p.fingerprint);
            if !done {
                cells.push(Cell {
                    target: Target::Image(item),
                    payload: Payload::Image(p.clone()),
                    key: p.fingerprint,
                });
            }
        }
    });
    session.labels.with_untracked(|v| {
        for &label in v {
            let text = label.text.get_untracked().trim().to_string();
            if text.is_empty() {
                continue;
            }
            let key = LabelItem::key(&text);
            if label
                .embedding
                .with_untracked(|e| e.as_ref().map(|e| e.key))
                != Some(key)
            {
                label.error.set(None);
                cells.push(Cell {
                    target: Target::Label(label),
                    payload: Payload::Text(text),
                    key,
                });
            }
        }
    });
    cells
}

/// Sends one batch, retrying as the policy says. Called holding a place at the gate;
/// returns having given it back.
async fn send(
    session: Session,
    settings: &medinsight_core::settings::Settings,
    gate: &Gate,
    batch: &[Cell],
) -> BatchOutcome {
    let request = ScoreRequest {
        rows: batch.iter().map(Cell::row).collect(),
        get_scaling_factor: Some(true),
    };
    // The planner never mixes kinds; should a caller ever do it, stop here with the
    // reason rather than earn a 424 from the endpoint.
    if let Err(mixed) = request.kind() {
        gate.leave(session, Outcome::Failed);
        return BatchOutcome::Failed(Failure::Rejected {
            status: 400,
            message: mixed.to_string(),
        });
    }
    let body = request.to_body();
    let policy = settings.run.retry_policy();
    let mut attempt = 0;
    loop {
        if session.cancel.get_untracked() {
            gate.leave(session, Outcome::Failed);
            return BatchOutcome::Cancelled;
        }
        attempt += 1;
        session.progress.update(|p| p.requests += 1);
        let sent = post(
            &settings.endpoint_path,
            &settings.deployment,
            body.clone(),
            settings.run.timeout_secs,
        )
        .await;
        // (status for the retry decision, what to tell the user if it is the last)
        let (status, message, retry_after) = match sent {
            Ok(answer) => {
                if answer.emulator {
                    session.emulator.set(true);
                }
                if answer.status == 200 {
                    match parse_response(&answer.body, &request, ParseOptions::default()) {
                        Ok(response) => {
                            gate.leave(session, Outcome::Answered);
                            return BatchOutcome::Done(response);
                        }
                        // A garbled answer is a passing fault of the service: retried.
                        Err(e) => (500, format!("an unusable answer: {e}"), None),
                    }
                } else {
                    let message = failure_message(answer.model_error.as_deref(), &answer.body);
                    (answer.status, message, answer.retry_after.clone())
                }
            }
            Err(e @ SendError::Timeout(_)) => (408, e.to_string(), None),
            Err(e @ SendError::Network(_)) => (0, e.to_string(), None),
        };
        gate.leave(session, Outcome::of_status(status));
        let attempted = Attempt {
            number: attempt,
            status,
            message: &message,
            retry_after: retry_after.as_deref(),
            now_unix_ms: crate::platform::clock::unix_ms(),
        };
        match decide(policy, attempted, js_sys::Math::random()) {
            Decision::RetryAfterMs(ms) => {
                session.progress.update(|p| p.retries += 1);
                // Sleep in short steps so that a cancel is honoured at once.
                let until = crate::platform::clock::now_ms() + ms as f64;
                while crate::platform::clock::now_ms() < until {
                    if session.cancel.get_untracked() {
                        return BatchOutcome::Cancelled;
                    }
                    TimeoutFuture::new(50).await;
                }
                gate.enter(session, true).await;
            }
            Decision::Stop(Failure::Exhausted { attempts, .. }) => {
                return BatchOutcome::Failed(Failure::Exhausted {
                    attempts,
                    last: message,
                })
            }
            Decision::Stop(failure) => return BatchOutcome::Failed(failure),
        }
    }
}

/// Puts a batch's outcome on its images and labels.
fn apply(session: Session, batch: Vec<Cell>, outcome: BatchOutcome) {
    // While a request was out, an image may have been removed (its answer must not
    // bring it back), re-queued or re-prepared with other options (its new pixels
    // decide): only images still waiting for this very answer move.
    let waiting = |cell: &Cell, i: &ImageItem| {
        cell.is_current(session) && i.stage.get_untracked() == Stage::Sending
    };
    match outcome {
        BatchOutcome::Done(response) => {
            if let Some(s) = response.scaling_factor {
                if session.scaling_factor.get_untracked() != Some(s.log()) {
                    session.scaling_factor.set(Some(s.log()));
                }
            }
            let n = batch.len();
            for (row, cell) in batch.into_iter().enumerate() {
                let vector = match cell.target {
                    Target::Image(_) => response.images.get(row).cloned().flatten(),
                    Target::Label(_) | Target::Query => response.texts.get(row).cloned().flatten(),
                };
                let Some(vector) = vector else { continue };
                let embedded = Some(Embedded {
                    vector: Arc::new(vector),
                    key: cell.key,
                });
                match cell.target {
                    Target::Image(i) if waiting(&cell, &i) => {
                        // `persist::sync` saves it at once: a closed tab loses no
                        // finished vector.
                        i.embedding.set(embedded);
                        i.stage.set(Stage::Embedded);
                    }
                    Target::Label(l) => l.embedding.set(embedded),
                    Target::Image(_) | Target::Query => {}
                }
            }
            session.progress.update(|p| p.embedded += n);
        }
        BatchOutcome::Failed(failure) => {
            let message = failure.to_string();
            let n = batch.len();
            for cell in batch {
                match cell.target {
                    Target::Image(i) if waiting(&cell, &i) => {
                        i.stage.set(Stage::Failed(message.clone()));
                    }
                    Target::Label(l) => l.error.set(Some(message.clone())),
                    Target::Image(_) | Target::Query => {}
                }
            }
            let fatal = matches!(failure, Failure::Unauthorized | Failure::NoDeployment);
            if fatal {
                session.cancel.set(true);
            }
            session.progress.update(|p| {
                p.failed += n;
                if fatal {
                    p.fatal = Some(message);
                }
            });
        }
        BatchOutcome::Cancelled => {
            for cell in batch {
                if let Target::Image(i) = cell.target {
                    if waiting(&cell, &i) {
                        i.stage.set(Stage::Ready);
                    }
                }
            }
        }
    }
}

/// Embeds one text on demand (the neighbours view's query), with the run's retries.
pub async fn embed_text(session: Session, text: String) -> Result<Vec<f32>, String> {
    let settings = session.settings.get_untracked();
    let cell = Cell {
        target: Target::Query,
        key: LabelItem::key(&text),
        payload: Payload::Text(text),
    };
    // A query of its own: one request, outside any run's window.
    let gate = Gate::new(Concurrency::new(1, 1, false), false);
    gate.enter(session, false).await;
    match send(session, &settings, &gate, std::slice::from_ref(&cell)).await {
        BatchOutcome::Done(response) => {
            if let Some(s) = response.scaling_factor {
                session.scaling_factor.set(Some(s.log()));
            }
            response
                .texts
                .into_iter()
                .next()
                .flatten()
                .ok_or_else(|| "the endpoint returned no vector for the text".into())
        }
        BatchOutcome::Failed(f) => Err(f.to_string()),
        BatchOutcome::Cancelled => Err("cancelled".into()),
    }
}
