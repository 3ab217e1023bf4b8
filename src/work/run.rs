//! A run: everything not yet embedded goes to the endpoint in ordered batches of one kind
//! (images, or texts: the service refuses a request that mixes them), with as many
//! requests in flight as the adaptive window allows (`core::concurrency`), each retried
//! with jittered backoff; every vector is put back on the image or label it belongs to.
//!
//! What is embedded already (same fingerprint) is skipped. Preparing and sending
//! overlap: a producer collects images as they become ready (every [`COLLECT_MS`]) and
//! hands a batch to the lanes as soon as it is complete (full by rows or bytes), the last
//! one when nothing is left to prepare; labels go first, they are ready at once. A batch's
//! PNGs are read from their `Blob`s (or storage) only when its request is built, and
//! dropped with it. Cancel stops new requests (and pending retries); answers already on
//! their way are kept. A bad key or a missing deployment stops the whole run with what
//! to do; a model error (424) or exhausted retries fail only that batch's items, with
//! the reason on each.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

use futures::channel::oneshot;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use medinsight_core::endpoint::admission::Admission;
use medinsight_core::endpoint::batching;
use medinsight_core::endpoint::concurrency::{Concurrency, Outcome};
use medinsight_core::endpoint::retry::{decide, Attempt, Decision, Failure};
use medinsight_core::endpoint::wire::{
    failure_message, parse_response, ParseOptions, Row, RowKind, ScoreRequest, ScoreResponse,
};

use crate::persist::pixels::Pixels;
use crate::platform::fetch::{offline, post, SendError};
use crate::state::{Embedded, ImageItem, LabelItem, Progress, Session, Stage};

/// How often the producer looks for newly prepared images, in milliseconds.
pub const COLLECT_MS: u32 = 200;

#[derive(Clone, Copy)]
enum Target {
    Image(ImageItem),
    Label(LabelItem),
}

/// What a row carries. An image's PNG is read (from its `Blob`) and base64-encoded only
/// when its request is built, so a run over 10 000 images holds the bytes of the
/// requests in flight, nothing more.
enum Payload {
    /// The PNG's size, to plan requests by.
    Image {
        bytes: usize,
    },
    Text(String),
}

struct Cell {
    target: Target,
    payload: Payload,
    key: u64,
}

impl Cell {
    fn kind(&self) -> RowKind {
        match &self.payload {
            Payload::Image { .. } => RowKind::Image,
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
        }
    }

    /// Bytes the cell adds to a request body.
    fn bytes(&self) -> usize {
        match &self.payload {
            Payload::Image { bytes } => medinsight_core::pipeline::encode::base64_len(*bytes),
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
/// Who goes next is the core's [`Admission`], shared with `medinsight embed`: a lane
/// that finds others waiting queues behind them, and a freed place goes to the first in
/// line — a batch coming back from a retry wait first of all.
struct Gate {
    line: RefCell<Admission<oneshot::Sender<()>>>,
    /// The run's gate shows its window in the progress line; a one-off query's does not.
    shown: bool,
}

impl Gate {
    fn new(window: Concurrency, shown: bool) -> Rc<Self> {
        Rc::new(Self {
            line: RefCell::new(Admission::new(window)),
            shown,
        })
    }

    /// Waits for a place; `retrying` goes to the front of the line.
    async fn enter(&self, session: Session, retrying: bool) {
        let mut woken = None;
        let admitted = self.line.borrow_mut().arrive(
            || {
                let (tx, rx) = oneshot::channel();
                woken = Some(rx);
                tx
            },
            retrying,
        );
        if let (false, Some(rx)) = (admitted, woken) {
            // The place is taken for us before we are woken (see `leave`).
            let _ = rx.await;
        }
        self.show(session);
    }

    fn leave(&self, session: Session, outcome: Outcome) {
        let mut places = vec![outcome];
        while let Some(outcome) = places.pop() {
            let admitted = self.line.borrow_mut().leave(outcome);
            for next in admitted {
                if next.send(()).is_err() {
                    // Nobody listens any more: the place goes back, to the next in line.
                    places.push(Outcome::Failed);
                }
            }
        }
        self.show(session);
    }

    fn show(&self, session: Session) {
        if !self.shown {
            return;
        }
        let line = self.line.borrow();
        let w = line.window();
        let (in_flight, window, throttled) = (w.in_flight(), w.limit(), w.throttled());
        session.progress.update(|p| {
            p.in_flight = in_flight;
            p.window = window;
            p.throttled = throttled;
        });
    }
}

/// Batches between the producer and the lanes.
#[derive(Default)]
struct Feed {
    /// Complete batches, in order.
    queue: VecDeque<Vec<Cell>>,
    /// Cells taken but not in a complete batch yet: images prepared later may join it.
    held: Vec<Cell>,
    /// What this run took of each image: the fingerprint (an image prepared again during
    /// the run is taken again).
    taken: HashMap<u64, u64>,
    /// Cells this run sends (taken, less those found stale).
    planned: usize,
    /// No batch will be added.
    done: bool,
    /// Lanes waiting for a batch (or the end), woken by the producer.
    idle: Vec<oneshot::Sender<()>>,
}

impl Feed {
    /// Wakes the idle lanes: batches were queued, or the feed is done.
    fn wake(&mut self) {
        for lane in self.idle.drain(..) {
            let _ = lane.send(());
        }
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
    let feed = Rc::new(RefCell::new(Feed::default()));
    let gate = Gate::new(settings.run.concurrency(), true);
    gate.show(session);
    let pixels = session.pixels();

    // As many lanes as the window may ever allow; the gate decides how many send.
    let lanes = if settings.run.adaptive {
        settings.run.max_in_flight
    } else {
        settings.run.in_flight
    };
    let lanes = (0..lanes).map(|_| lane(session, &settings, &gate, &feed, pixels));
    futures::future::join(
        produce(session, settings.run.batch_limits(), &feed),
        futures::future::join_all(lanes),
    )
    .await;

    // Whatever a cancel left unsent goes back to ready.
    let unsent: Vec<Vec<Cell>> = feed.borrow_mut().queue.drain(..).collect();
    for batch in unsent {
        apply(session, batch, BatchOutcome::Cancelled);
    }
    session.progress.update(|p| {
        p.running = false;
        p.cancelling = false;
        p.in_flight = 0;
        p.preparing = 0;
        p.finished_ms = Some(crate::platform::clock::now_ms());
        if session.cancel.get_untracked() && p.fatal.is_none() {
            p.note = Some(format!(
                "Cancelled: {} of {} embedded; run again to send the rest.",
                p.embedded, p.total
            ));
        } else if p.total == 0 {
            p.note = Some("Nothing to send: every image and label is embedded already.".into());
        }
    });
    // Ready for the next run (and for one-off requests such as a neighbours query).
    session.cancel.set(false);
}

/// Takes what is ready to send as it becomes ready, and queues complete batches: the
/// labels at once, images as the workers prepare them. Ends when nothing is left to
/// prepare (or on cancel), after queueing the last, partial, batch.
async fn produce(session: Session, limits: batching::BatchLimits, feed: &RefCell<Feed>) {
    // Labels first: ready now, and their answer brings the scaling factor.
    let labels = label_cells(session);
    {
        let mut f = feed.borrow_mut();
        f.planned += labels.len();
        f.held.extend(labels);
    }
    // Images this run waits for, to count those prepared since.
    let mut awaited: HashSet<u64> = HashSet::new();
    loop {
        let cancelled = session.cancel.get_untracked();
        let (pending, planned) = collect(session, limits, &mut feed.borrow_mut(), cancelled);
        awaited.extend(pending.iter().copied());
        let last = pending.is_empty() || cancelled;
        let prepared = awaited.iter().filter(|id| !pending.contains(id)).count();
        session.progress.update(|p| {
            p.total = planned + pending.len();
            p.preparing = pending.len();
            if p.prepared != prepared {
                p.prepared = prepared;
                p.prepared_ms = Some(crate::platform::clock::now_ms());
            }
            p.note = (!pending.is_empty()).then(|| {
                format!(
                    "Sending as images are prepared: {} still to prepare.",
                    pending.len()
                )
            });
        });
        if last {
            return;
        }
        TimeoutFuture::new(COLLECT_MS).await;
    }
}

/// One look for what is ready: newly prepared images join the held cells, and the
/// complete batches among them are queued — all of them when nothing is left to prepare
/// (or on cancel, when nothing more is sent). Returns the ids still being prepared and
/// the cells planned so far.
fn collect(
    session: Session,
    limits: batching::BatchLimits,
    f: &mut Feed,
    cancelled: bool,
) -> (HashSet<u64>, usize) {
    let (cells, pending) = ready_images(session, &mut f.taken);
    f.planned += cells.len();
    f.held.extend(cells);
    let last = pending.is_empty() || cancelled;
    if cancelled {
        f.held.clear();
    }
    let held = std::mem::take(&mut f.held);
    let sizes: Vec<(RowKind, usize)> = held.iter().map(|c| (c.kind(), c.bytes())).collect();
    let plan = batching::plan(&sizes, limits);
    let mut cells = held.into_iter();
    let n = plan.len();
    for (i, b) in plan.into_iter().enumerate() {
        let batch: Vec<Cell> = cells.by_ref().take(b.items.len()).collect();
        // The last batch waits for more images, unless it is full or none will come.
        let full = b.items.len() >= limits.max_rows.max(1);
        if i + 1 == n && !last && !full {
            f.held = batch;
        } else {
            f.queue.push_back(batch);
        }
    }
    if last {
        f.done = true;
    }
    if last || !f.queue.is_empty() {
        f.wake();
    }
    (pending, f.planned)
}

/// One lane: takes the next complete batch, waits for a place at the gate, reads the
/// batch's PNGs, sends it and puts the answer on its items, until the feed is done.
async fn lane(
    session: Session,
    settings: &medinsight_core::settings::Settings,
    gate: &Gate,
    feed: &RefCell<Feed>,
    pixels: Pixels,
) {
    loop {
        // A batch to send, or the end.
        loop {
            let woken = {
                let mut f = feed.borrow_mut();
                if !f.queue.is_empty() || session.cancel.get_untracked() {
                    break;
                }
                if f.done {
                    return;
                }
                let (tx, rx) = oneshot::channel();
                f.idle.push(tx);
                rx
            };
            let _ = woken.await;
        }
        gate.enter(session, false).await;
        let batch = if session.cancel.get_untracked() {
            None
        } else {
            feed.borrow_mut().queue.pop_front()
        };
        let Some(batch) = batch else {
            // Another lane took it, or the run is cancelled.
            gate.leave(session, Outcome::Failed);
            if session.cancel.get_untracked() {
                return;
            }
            continue;
        };
        // What changed while the batch waited in the queue is not sent.
        let (batch, stale): (Vec<Cell>, Vec<Cell>) =
            batch.into_iter().partition(|c| c.is_current(session));
        let (batch, rows) = load_rows(session, pixels, batch).await;
        let dropped = stale.len() + rows.stale;
        if dropped > 0 {
            feed.borrow_mut().planned -= dropped;
            session.progress.update(|p| p.total -= dropped);
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
        let request = ScoreRequest {
            rows: rows.rows,
            get_scaling_factor: Some(true),
        };
        let outcome = send(session, settings, gate, request).await;
        apply(session, batch, outcome);
    }
}

/// A batch's rows, read now.
struct Rows {
    rows: Vec<Row>,
    /// Cells dropped because their image was prepared again meanwhile.
    stale: usize,
}

/// Reads the PNGs of a batch's images (their `Blob`s, or storage), checks each is still
/// the one planned (its fingerprint), and makes the rows. An image whose PNG cannot be
/// had fails with the reason; the bytes live until the request body is built.
async fn load_rows(session: Session, pixels: Pixels, batch: Vec<Cell>) -> (Vec<Cell>, Rows) {
    let images: Vec<ImageItem> = batch
        .iter()
        .filter_map(|c| match c.target {
            Target::Image(i) => Some(i),
            _ => None,
        })
        .collect();
    if images.is_empty() {
        // A batch is of one kind: texts only.
        let rows = batch
            .iter()
            .filter_map(|c| match &c.payload {
                Payload::Text(t) => Some(Row::text(t.clone())),
                Payload::Image { .. } => None,
            })
            .collect();
        return (batch, Rows { rows, stale: 0 });
    }
    let blobs = pixels.pngs(&images).await;
    let reads = blobs.iter().map(|b| async move {
        match b {
            Ok(blob) => crate::platform::blobs::read(blob)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    });
    let bytes = futures::future::join_all(reads).await;
    let mut kept = Vec::with_capacity(batch.len());
    let mut rows = Rows {
        rows: Vec::with_capacity(batch.len()),
        stale: 0,
    };
    let mut failed = 0;
    for (cell, png) in batch.into_iter().zip(bytes) {
        let Target::Image(item) = cell.target else {
            continue;
        };
        match png {
            Ok(png) if medinsight_core::fingerprint(&png) == cell.key => {
                rows.rows
                    .push(Row::image(medinsight_core::pipeline::encode::base64(&png)));
                kept.push(cell);
            }
            Ok(_) => rows.stale += 1,
            Err(reason) => {
                if session.image(item.id).is_some() {
                    item.stage.set(Stage::Failed(reason));
                    failed += 1;
                } else {
                    rows.stale += 1;
                }
            }
        }
    }
    if failed > 0 {
        session.progress.update(|p| p.failed += failed);
    }
    (kept, rows)
}

/// Images whose current pixels are ready and not embedded, not yet taken by this run
/// (they are marked taken), in gallery order; and the ids still being prepared.
fn ready_images(session: Session, taken: &mut HashMap<u64, u64>) -> (Vec<Cell>, HashSet<u64>) {
    let mut cells = Vec::new();
    let mut pending = HashSet::new();
    session.images.with_untracked(|v| {
        for &item in v.iter() {
            let stage = item
                .stage
                .with_untracked(|s| (s.is_pending_preparation(), *s == Stage::Sending));
            match stage {
                (true, _) => {
                    pending.insert(item.id);
                    continue;
                }
                (_, true) => continue,
                _ => {}
            }
            let Some((fingerprint, bytes)) = item
                .prepared
                .with_untracked(|p| p.as_ref().map(|p| (p.fingerprint, p.bytes)))
            else {
                continue;
            };
            let done =
                item.embedding.with_untracked(|e| e.as_ref().map(|e| e.key)) == Some(fingerprint);
            if done || taken.get(&item.id) == Some(&fingerprint) {
                continue;
            }
            taken.insert(item.id, fingerprint);
            cells.push(Cell {
                target: Target::Image(item),
                payload: Payload::Image { bytes },
                key: fingerprint,
            });
        }
    });
    (cells, pending)
}

/// Labels whose current text is not embedded yet.
fn label_cells(session: Session) -> Vec<Cell> {
    let mut cells = Vec::new();
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
    request: ScoreRequest,
) -> BatchOutcome {
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
        // `post` sends nothing when the browser knows it is offline: not a request.
        if !offline() {
            session.progress.update(|p| p.requests += 1);
        }
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
            Err(SendError::Offline) => {
                gate.leave(session, Outcome::Failed);
                return BatchOutcome::Failed(Failure::Offline);
            }
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
                    Target::Label(_) => response.texts.get(row).cloned().flatten(),
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
                    Target::Image(_) => {}
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
                    Target::Image(_) => {}
                }
            }
            // Nothing else can succeed either: the run stops and says why, once.
            let fatal = matches!(
                failure,
                Failure::Unauthorized | Failure::NoDeployment | Failure::Offline
            );
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
    // A query of its own: one request, outside any run's window.
    let gate = Gate::new(Concurrency::new(1, 1, false), false);
    gate.enter(session, false).await;
    let request = ScoreRequest {
        rows: vec![Row::text(text)],
        get_scaling_factor: Some(true),
    };
    match send(session, &settings, &gate, request).await {
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
