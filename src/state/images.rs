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
//!
//! Pixels stay out of the wasm heap: an item keeps what was prepared as metadata
//! ([`Prepared`]: fingerprint, size, source, window, options), and the PNG and its
//! thumbnail as `Blob` handles, whose bytes the browser holds (and may page out). Once
//! saved, and after a reload, an image has no PNG handle at all — its PNG is in
//! IndexedDB, read when a run sends it or the inspector shows it (`persist::pixels`). At 10 000 images of 100–300 KB
//! that is the difference between a 2 GB page and one that holds only vectors.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

use leptos::prelude::*;
use medinsight_core::pipeline::{AppliedWindow, PrepareOptions, SourceInfo};
use web_sys::Blob;

use crate::platform::blobs;
use crate::worker::protocol::PreparedImage;

/// Where an image is in its life (the rules live in the core).
pub use medinsight_core::lifecycle::Stage;

/// A vector and the fingerprint of what produced it.
#[derive(Clone, Debug, PartialEq)]
pub struct Embedded {
    pub vector: Arc<Vec<f32>>,
    pub key: u64,
}

/// What was prepared of an image, without its pixels: what the views show about it and
/// what a run needs to plan its requests.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    /// `medinsight_core::fingerprint` of the PNG: a re-run skips an image whose
    /// fingerprint is the one already embedded.
    pub fingerprint: u64,
    /// Bytes of the PNG (what the inspector says is sent; requests are planned by it).
    pub bytes: usize,
    pub channels: u8,
    pub source: SourceInfo,
    pub window: AppliedWindow,
    pub options: PrepareOptions,
}

impl Prepared {
    /// The metadata of a worker's answer (its bytes go into `Blob`s).
    pub fn of(p: &PreparedImage) -> Self {
        Self {
            fingerprint: p.fingerprint,
            bytes: p.png.len(),
            channels: p.channels,
            source: p.source.clone(),
            window: p.window,
            options: p.options,
        }
    }
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
    pub prepared: RwSignal<Option<Arc<Prepared>>>,
    /// A `blob:` URL of the small thumbnail (`core::pipeline::thumbnail`), for cards,
    /// chips and tooltips; the inspector makes its own URL of the full PNG.
    pub preview_url: RwSignal<Option<String>>,
    pub embedding: RwSignal<Option<Embedded>>,
    /// The prepared PNG, when this page has a handle on it: prepared here and not saved
    /// yet, or read back. `None` while `prepared` is set means it is only in IndexedDB.
    pub png: StoredValue<Option<Blob>, LocalStorage>,
    /// The thumbnail behind `preview_url` (saved with the PNG).
    pub thumbnail: StoredValue<Option<Blob>, LocalStorage>,
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
    /// imported (a vector, no pixels) or restored (what was prepared, its pixels left in
    /// IndexedDB; the thumbnail comes later, see [`ImageItem::set_thumbnail`]).
    pub fn new(
        id: u64,
        origin: Origin,
        stage: Stage,
        options: PrepareOptions,
        prepared: Option<Prepared>,
        embedding: Option<Embedded>,
    ) -> Self {
        Self {
            id,
            name: StoredValue::new(origin.name),
            path: StoredValue::new(origin.path),
            label: RwSignal::new(origin.label),
            stage: RwSignal::new(stage),
            options: RwSignal::new(options),
            prepared: RwSignal::new(prepared.map(Arc::new)),
            preview_url: RwSignal::new(None),
            embedding: RwSignal::new(embedding),
            png: StoredValue::new_local(None),
            thumbnail: StoredValue::new_local(None),
        }
    }

    /// A preparation's result: the PNG and its thumbnail become `Blob`s (the worker's
    /// bytes are dropped here), the thumbnail is shown (the old URL released), and the
    /// image moves on — embedded if the vector it has is of these very pixels, else
    /// ready to send.
    pub fn set_prepared(&self, prepared: PreparedImage) {
        let png = blobs::blob(&prepared.png, "image/png");
        let thumbnail = blobs::blob(
            &prepared.thumbnail,
            medinsight_core::pipeline::thumbnail::MIME,
        );
        let (png, thumbnail) = match (png, thumbnail) {
            (Ok(png), Ok(thumbnail)) => (png, thumbnail),
            (Err(e), _) | (_, Err(e)) => {
                // Nothing of an earlier preparation is sent in its place.
                self.prepared.set(None);
                self.png.set_value(None);
                self.stage.set(Stage::Failed(format!(
                    "the browser could not keep the prepared image: {e}"
                )));
                return;
            }
        };
        let meta = Prepared::of(&prepared);
        drop(prepared);
        self.png.set_value(Some(png));
        self.set_thumbnail(thumbnail);
        let embedded =
            self.embedding.with_untracked(|e| e.as_ref().map(|e| e.key)) == Some(meta.fingerprint);
        self.prepared.set(Some(Arc::new(meta)));
        self.stage.set(if embedded {
            Stage::Embedded
        } else {
            Stage::Ready
        });
    }

    /// Shows `thumbnail` on the cards (a restored image's, read back from storage); the
    /// previous URL is released.
    pub fn set_thumbnail(&self, thumbnail: Blob) {
        let url = blobs::blob_url(&thumbnail).ok();
        self.thumbnail.set_value(Some(thumbnail));
        if let Some(old) = self.preview_url.get_untracked() {
            blobs::revoke_url(&old);
        }
        self.preview_url.set(url);
    }

    /// Releases the thumbnail URL, the Blob handles and the item's signals. The item
    /// must not be read afterwards: only [`Images`] calls it, when the item leaves.
    fn dispose(self) {
        if let Some(url) = self.preview_url.get_untracked() {
            blobs::revoke_url(&url);
        }
        self.png.dispose();
        self.thumbnail.dispose();
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
