//! A run: everything not yet embedded goes to the endpoint in ordered batches, a few
//! requests in flight, each retried with jittered backoff; every vector is put back on
//! the image or label it belongs to.
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

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use medinsight_core::batching;
use medinsight_core::retry::{decide, Decision, Failure};
use medinsight_core::wire::{parse_response, ParseOptions, Row, ScoreRequest, ScoreResponse};

use crate::compute_worker::PreparedImage;
use crate::score_client::{post, SendError};
use crate::session::{Embedded, ImageItem, LabelItem, Progress, Session, Stage};

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

    /// Bytes the cell adds to a request body.
    fn bytes(&self) -> usize {
        match &self.payload {
            Payload::Image(p) => p.png.len().div_ceil(3) * 4,
            Payload::Text(t) => t.len(),
        }
    }
}

enum BatchOutcome {
    Done(ScoreResponse),
    Failed(Failure),
    Cancelled,
}

/// Runs until everything is sent, failed or cancelled.
pub async fn run(session: Session) {
    let settings = session.settings.get_untracked();
    session.cancel.set(false);
    session.progress.set(Progress {
        running: true,
        started_ms: crate::browser::now_ms(),
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
    let sizes: Vec<usize> = cells.iter().map(Cell::bytes).collect();
    let mut cells = cells.into_iter();
    let queue: VecDeque<Vec<Cell>> = batching::plan(&sizes, settings.run.batch_limits())
        .into_iter()
        .map(|b| cells.by_ref().take(b.items.len()).collect())
        .collect();
    let queue = Rc::new(RefCell::new(queue));

    let lanes = (0..settings.run.in_flight.max(1)).map(|_| {
        let queue = queue.clone();
        let settings = settings.clone();
        async move {
            loop {
                if session.cancel.get_untracked() {
                    return;
                }
                let Some(batch) = queue.borrow_mut().pop_front() else {
                    return;
                };
                for c in &batch {
                    if let Target::Image(i) = c.target {
                        i.stage.set(Stage::Sending);
                    }
                }
                let outcome = send(session, &settings, &batch).await;
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
        p.finished_ms = Some(crate::browser::now_ms());
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

/// Sends one batch, retrying as the policy says.
async fn send(
    session: Session,
    settings: &medinsight_core::settings::Settings,
    batch: &[Cell],
) -> BatchOutcome {
    let request = ScoreRequest {
        rows: batch.iter().map(Cell::row).collect(),
        get_scaling_factor: true,
    };
    let body = request.to_body();
    let policy = settings.run.retry_policy();
    let mut attempt = 0;
    loop {
        if session.cancel.get_untracked() {
            return BatchOutcome::Cancelled;
        }
        attempt += 1;
        session.progress.update(|p| {
            p.in_flight += 1;
            p.requests += 1;
        });
        let sent = post(
            &settings.endpoint_path,
            &settings.deployment,
            body.clone(),
            settings.run.timeout_secs,
        )
        .await;
        session
            .progress
            .update(|p| p.in_flight = p.in_flight.saturating_sub(1));
        // (status for the retry decision, what to tell the user if it is the last)
        let (status, message, retry_after) = match sent {
            Ok(answer) => {
                if answer.emulator {
                    session.emulator.set(true);
                }
                if answer.status == 200 {
                    match parse_response(&answer.body, &request, ParseOptions::default()) {
                        Ok(response) => return BatchOutcome::Done(response),
                        // A garbled answer is a passing fault of the service: retried.
                        Err(e) => (500, format!("an unusable answer: {e}"), None),
                    }
                } else {
                    (answer.status, answer.message(), answer.retry_after.clone())
                }
            }
            Err(e @ SendError::Timeout(_)) => (408, e.to_string(), None),
            Err(e @ SendError::Network(_)) => (0, e.to_string(), None),
        };
        match decide(
            policy,
            attempt,
            status,
            &message,
            retry_after.as_deref(),
            js_sys::Math::random(),
        ) {
            Decision::RetryAfterMs(ms) => {
                session.progress.update(|p| p.retries += 1);
                // Sleep in short steps so that a cancel is honoured at once.
                let until = crate::browser::now_ms() + ms as f64;
                while crate::browser::now_ms() < until {
                    if session.cancel.get_untracked() {
                        return BatchOutcome::Cancelled;
                    }
                    TimeoutFuture::new(50).await;
                }
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
    // bring it back) or re-queued with other options (its stage is no longer `Sending`
    // and its new preparation decides): only images still waiting for this answer move.
    let waiting =
        |i: &ImageItem| session.image(i.id).is_some() && i.stage.get_untracked() == Stage::Sending;
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
                    Target::Image(i) if waiting(&i) => {
                        i.embedding.set(embedded);
                        i.stage.set(Stage::Embedded);
                        // Saved at once: a closed tab loses no finished vector.
                        session.save_image(i);
                    }
                    // Labels are saved by the app's effect on their signals.
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
                    Target::Image(i) if waiting(&i) => {
                        i.stage.set(Stage::Failed(message.clone()));
                        session.save_image(i);
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
                    if waiting(&i) {
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
    match send(session, &settings, std::slice::from_ref(&cell)).await {
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
