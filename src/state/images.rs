//! The images of a session: where each is in its life ([`Stage`]), what was prepared and
//! embedded, and the collection that holds them ([`Images`]) with the reads every view
//! shares (the embedded ones, the labels in use).
//!
//! As in Leptos' todomvc, the collection is a type with domain methods rather than a
//! bare `Vec`: lookup by id is O(1) (an index beside the gallery order — the map and
//! outlier views look up every point on each redraw), every item is made by
//! [`ImageItem::new`], and an item that leaves the collection has its signals disposed
//! and its thumbnail URL released, so a session that loads and removes thousands of
//! images does not keep their arena slots and blobs alive. Read access is a slice
//! (`Deref`); every change goes through a method that keeps the index right.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

use leptos::prelude::*;
use medinsight_core::pipeline::PrepareOptions;

use crate::worker::protocol::PreparedImage;

/// Where an image is in its life (the rules live in the core).
pub use medinsight_core::lifecycle::Stage;

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

/// Where an image came from: its file name, its path (the folder is the ground truth)
/// and the label it starts with.
pub struct Origin {
    pub name: String,
    pub path: String,
    pub label: String,
}

impl ImageItem {
    /// The one way an image enters the session: loaded (queued, nothing prepared),
    /// imported (a vector, no pixels) or restored (whatever was saved). A thumbnail URL
    /// is made when there are prepared pixels.
    pub fn new(
        id: u64,
        origin: Origin,
        stage: Stage,
        options: PrepareOptions,
        prepared: Option<Arc<PreparedImage>>,
        embedding: Option<Embedded>,
    ) -> Self {
        let preview_url = prepared.as_deref().and_then(thumbnail_url);
        Self {
            id,
            name: StoredValue::new(origin.name),
            path: StoredValue::new(origin.path),
            label: RwSignal::new(origin.label),
            stage: RwSignal::new(stage),
            options: RwSignal::new(options),
            prepared: RwSignal::new(prepared),
            preview_url: RwSignal::new(preview_url),
            embedding: RwSignal::new(embedding),
        }
    }

    /// A preparation's result: the new pixels and their thumbnail (the old one
    /// released), and the stage they put the image in — embedded if the vector it has
    /// is of these very pixels, else ready to send.
    pub fn set_prepared(&self, prepared: PreparedImage) {
        if let Some(old) = self.preview_url.get_untracked() {
            crate::platform::blobs::revoke_url(&old);
        }
        self.preview_url.set(thumbnail_url(&prepared));
        let embedded = self.embedding.with_untracked(|e| e.as_ref().map(|e| e.key))
            == Some(prepared.fingerprint);
        self.prepared.set(Some(Arc::new(prepared)));
        self.stage.set(if embedded {
            Stage::Embedded
        } else {
            Stage::Ready
        });
    }

    /// Releases the thumbnail URL and the item's signals. The item must not be read
    /// afterwards: only [`Images`] calls it, when the item leaves.
    fn dispose(self) {
        if let Some(url) = self.preview_url.get_untracked() {
            crate::platform::blobs::revoke_url(&url);
        }
        self.name.dispose();
        self.path.dispose();
        self.label.dispose();
        self.stage.dispose();
        self.options.dispose();
        self.prepared.dispose();
        self.preview_url.dispose();
        self.embedding.dispose();
    }

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

/// A `blob:` URL showing the prepared PNG (released with its item, or when replaced).
fn thumbnail_url(prepared: &PreparedImage) -> Option<String> {
    crate::platform::blobs::object_url(&prepared.png, "image/png").ok()
}

/// The session's images in gallery order, with O(1) lookup by id.
#[derive(Clone, Default)]
pub struct Images {
    order: Vec<ImageItem>,
    /// id → position in `order`.
    index: HashMap<u64, usize>,
}

impl Deref for Images {
    type Target = [ImageItem];
    fn deref(&self) -> &[ImageItem] {
        &self.order
    }
}

impl IntoIterator for Images {
    type Item = ImageItem;
    type IntoIter = std::vec::IntoIter<ImageItem>;
    fn into_iter(self) -> Self::IntoIter {
        self.order.into_iter()
    }
}

impl<'a> IntoIterator for &'a Images {
    type Item = &'a ImageItem;
    type IntoIter = std::slice::Iter<'a, ImageItem>;
    fn into_iter(self) -> Self::IntoIter {
        self.order.iter()
    }
}

impl Images {
    /// The image with this id.
    pub fn get(&self, id: u64) -> Option<ImageItem> {
        self.index.get(&id).map(|&i| self.order[i])
    }

    /// Its place in gallery order.
    pub fn position(&self, id: u64) -> Option<usize> {
        self.index.get(&id).copied()
    }

    /// Adds images after the others.
    pub fn extend(&mut self, items: impl IntoIterator<Item = ImageItem>) {
        for item in items {
            self.index.insert(item.id, self.order.len());
            self.order.push(item);
        }
    }

    /// Puts images before the others (a restored session before files dropped while it
    /// was being read).
    pub fn prepend(&mut self, items: Vec<ImageItem>) {
        let later = std::mem::replace(&mut self.order, items);
        self.order.extend(later);
        self.reindex();
    }

    /// Keeps the images for which `keep` is true; the others are disposed.
    pub fn retain(&mut self, mut keep: impl FnMut(&ImageItem) -> bool) {
        let (kept, gone): (Vec<_>, Vec<_>) = self.order.drain(..).partition(|i| keep(i));
        self.order = kept;
        self.reindex();
        gone.into_iter().for_each(ImageItem::dispose);
    }

    /// Removes (and disposes) one image; whether it was there.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(at) = self.index.remove(&id) else {
            return false;
        };
        let item = self.order.remove(at);
        self.reindex();
        item.dispose();
        true
    }

    fn reindex(&mut self) {
        self.index = self
            .order
            .iter()
            .enumerate()
            .map(|(i, item)| (item.id, i))
            .collect();
    }

    /// The embedded images, in gallery order, with their vectors (tracked).
    pub fn embedded(&self) -> Vec<(ImageItem, Arc<Vec<f32>>)> {
        embedded(self)
    }

    /// The ground-truth labels in use, sorted, each once (tracked).
    pub fn distinct_labels(&self) -> Vec<String> {
        distinct_labels(self)
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
