//! One scoring request's work, off the async threads, bounded and stoppable: the body
//! parsed, every image's size read from its header and checked against the per-image
//! and per-request pixel limits before any pixel is decoded, then the rows embedded one
//! by one, checking between rows whether anyone still wants the answer.
//!
//! The handler holds a [`Cancel`]; when the client goes (hyper drops the handler's
//! future) or the request's time runs out, it is dropped or fired, and the work stops
//! at its next row and gives its `--max-in-flight` place back. Without it, a client
//! that sent a large request and left kept the emulator busy (and its memory taken)
//! for nobody.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use medinsight_core::endpoint::wire::{parse_request, ScalingFactor, ScoreResponse};

use super::embed::{self, EmbedError, Embedder, MAX_REQUEST_PIXELS};
use super::{Stats, SCALING_FACTOR};

/// Why the work gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// The scoring wrapper's own refusal of a malformed body (its 400).
    #[error("{0}")]
    Refused(String),
    #[error("row {0}: {1}")]
    Row(usize, EmbedError),
    #[error("nobody waits for the answer any more")]
    Cancelled,
}

/// Fired when dropped: the handler's hold on its work.
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> (Self, Arc<AtomicBool>) {
        let flag = Arc::new(AtomicBool::new(false));
        (Self(flag.clone()), flag)
    }
}

impl Drop for Cancel {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Scores `body`, stopping at the next row once `cancelled` is set.
pub fn score(
    embedder: &Embedder,
    stats: &Stats,
    body: &[u8],
    cancelled: &AtomicBool,
) -> Result<ScoreResponse, WorkError> {
    let stop = || {
        let stop = cancelled.load(Ordering::Relaxed);
        if stop {
            stats.cancelled.fetch_add(1, Ordering::Relaxed);
        }
        stop
    };
    let request = parse_request(body).map_err(|e| WorkError::Refused(e.to_string()))?;
    // Every image's header first: a request over the pixel budget is refused before
    // any decoding work.
    let mut budget = MAX_REQUEST_PIXELS;
    let mut images = Vec::with_capacity(request.rows.len());
    for (i, row) in request.rows.iter().enumerate() {
        if stop() {
            return Err(WorkError::Cancelled);
        }
        let bytes = match row.image.as_deref() {
            None => None,
            Some(cell) => {
                let bytes = embed::decode_b64(cell).map_err(|e| WorkError::Row(i, e))?;
                let pixels = embed::pixels(&bytes).map_err(|e| WorkError::Row(i, e))?;
                budget = budget
                    .checked_sub(pixels)
                    .ok_or(WorkError::Row(i, EmbedError::OverBudget))?;
                Some(bytes)
            }
        };
        images.push(bytes);
    }
    let mut response = ScoreResponse {
        images: Vec::with_capacity(images.len()),
        texts: Vec::with_capacity(images.len()),
        scaling_factor: request
            .wants_scaling_factor()
            .then_some(ScalingFactor(SCALING_FACTOR)),
    };
    for (i, (row, bytes)) in request.rows.iter().zip(images).enumerate() {
        if stop() {
            return Err(WorkError::Cancelled);
        }
        let image = bytes.map(|b| embedder.image(&b)).transpose();
        response
            .images
            .push(image.map_err(|e| WorkError::Row(i, e))?);
        response
            .texts
            .push(row.text.as_deref().map(|t| embedder.text(t)));
        stats.rows_computed.fetch_add(1, Ordering::Relaxed);
    }
    Ok(response)
}
