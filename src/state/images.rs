//! The images of a session: where each is in its life ([`Stage`]), what was prepared and
//! embedded, and the reads every view shares (the embedded ones, the labels in use).

use std::sync::Arc;

use leptos::prelude::*;
use medinsight_core::pipeline::PrepareOptions;

use crate::worker::protocol::PreparedImage;

/// Where an image is in its life.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    Queued,
    Preparing,
    Ready,
    Sending,
    Embedded,
    Failed(String),
}

impl Stage {
    /// The word shown on the thumbnail (and in `data-stage`).
    pub fn word(&self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::Preparing => "preparing",
            Stage::Ready => "ready",
            Stage::Sending => "sending",
            Stage::Embedded => "embedded",
            Stage::Failed(_) => "failed",
        }
    }

    pub fn is_pending_preparation(&self) -> bool {
        matches!(self, Stage::Queued | Stage::Preparing)
    }
}

/// A vector and the fingerprint of what produced it.
#[derive(Clone, Debug, PartialEq)]
pub struct Embedded {
    pub vector: Arc<Vec<f32>>,
    pub key: u64,
}

/// One loaded image. The signals are arena handles: cloning the item is cheap.
#[derive(Clone, Copy)]
pub struct ImageItem {
    pub id: u64,
    pub name: StoredValue<String>,
    pub path: StoredValue<String>,
    /// Ground truth (the folder by default), editable.
    pub label: RwSignal<String>,
    pub stage: RwSignal<Stage>,
    pub options: RwSignal<PrepareOptions>,
    pub prepared: RwSignal<Option<Arc<PreparedImage>>>,
    /// A `blob:` URL of the prepared PNG, for thumbnails and the preview.
    pub preview_url: RwSignal<Option<String>>,
    pub embedding: RwSignal<Option<Embedded>>,
}

impl ImageItem {
    /// The embedding, only if it is of the image as prepared now (an imported vector,
    /// without pixels, always is).
    pub fn current_vector(&self) -> Option<Arc<Vec<f32>>> {
        let e = self.embedding.get()?;
        match self.prepared.get() {
            Some(p) => (e.key == p.fingerprint).then_some(e.vector),
            None => (self.stage.get() == Stage::Embedded).then_some(e.vector),
        }
    }
}

/// The ground-truth labels in use, sorted, each once (tracked).
pub fn distinct_labels(images: &[ImageItem]) -> Vec<String> {
    let mut l: Vec<String> = images
        .iter()
        .map(|i| i.label.get())
        .filter(|l| !l.is_empty())
        .collect();
    l.sort();
    l.dedup();
    l
}

/// The embedded images, in gallery order, with their vectors (tracked).
pub fn embedded(images: &[ImageItem]) -> Vec<(ImageItem, Arc<Vec<f32>>)> {
    images
        .iter()
        .filter_map(|i| Some((*i, i.current_vector()?)))
        .collect()
}

impl ImageItem {
    /// [`ImageItem::current_vector`], read without tracking (exports, saves).
    pub(crate) fn current_vector_untracked(&self) -> Option<Vec<f32>> {
        untrack(|| self.current_vector()).map(|v| v.to_vec())
    }
}
