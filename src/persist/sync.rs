//! Keeping the session in the browser's IndexedDB as it changes, and putting it back at
//! start.
//!
//! The state knows nothing of storage: [`Session::follow`] watches it with one effect,
//! as todomvc's one serialising effect does, and nothing else in the app saves. At
//! 10 000 images neither "serialise everything" nor "an effect and a transaction per
//! image" holds up, so the effect *compares*: each pass reads what is kept of every
//! image (stage, label, options, the vector's fingerprint, the pixels' fingerprint) and
//! of the labels, sets the differences from what it last handed to the store aside as
//! due, and one writer task writes what is due in transactions of up to [`CHUNK`]
//! records. Passes are at most one per [`PASS_MS`]: a pass that comes sooner does not
//! read the items — so it stops listening to them, and no further change wakes the
//! effect — and schedules the next one. A label typed key by key, or a run landing
//! twenty vectors a second, thus costs one O(n) pass and a few transactions every
//! 300 ms, and an idle session nothing.
//!
//! Pixels are written once per preparation (when the pixels' fingerprint changes), as
//! the `Blob`s the item holds. [`Session::restore`] reads records and vectors first —
//! the session is usable from them — and thumbnails afterwards, in the background; PNGs
//! stay in storage until a run or the inspector asks for one (`persist::pixels`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use medinsight_core::lifecycle::SavedState;
use medinsight_core::pipeline::PrepareOptions;

use crate::persist::store::{
    Changes, ImageMeta, ImageRecord, LabelsRecord, PixelsRecord, SavedLabel, Store,
};
use crate::state::{Embedded, ImageItem, LabelItem, Origin, Prepared, Session, Stage};

/// Least time between two passes, in milliseconds.
pub const PASS_MS: f64 = 300.0;
/// Most records in one write transaction (~1 MB of vectors).
pub const CHUNK: usize = 256;
/// Thumbnails read per transaction after a restore.
const THUMBNAIL_CHUNK: u32 = 500;
/// Images whose thumbnail is their PNG (saved before thumbnails existed) per read.
const LEGACY_CHUNK: usize = 32;

/// What was last handed to the store of an image: a change is a difference from it.
#[derive(Clone, PartialEq)]
struct Kept {
    stage: Stage,
    label: String,
    options: PrepareOptions,
    key: Option<u64>,
    fingerprint: Option<u64>,
}

impl Kept {
    /// The item as it is now (reads tracked).
    fn of(item: &ImageItem) -> Option<Self> {
        Some(Self {
            stage: item.stage.try_get()?,
            label: item.label.try_get()?,
            options: item.options.try_get()?,
            key: item.embedding.try_with(|e| e.as_ref().map(|e| e.key))?,
            fingerprint: item
                .prepared
                .try_with(|p| p.as_ref().map(|p| p.fingerprint))?,
        })
    }

    /// Whether the item is still as kept. Every field is read (and so tracked), none
    /// cloned.
    fn matches(&self, item: &ImageItem) -> Option<bool> {
        let stage = item.stage.try_with(|s| *s == self.stage)?;
        let label = item.label.try_with(|l| *l == self.label)?;
        let options = item.options.try_with(|o| *o == self.options)?;
        let key = item
            .embedding
            .try_with(|e| e.as_ref().map(|e| e.key) == self.key)?;
        let pixels = item
            .prepared
            .try_with(|p| p.as_ref().map(|p| p.fingerprint) == self.fingerprint)?;
        Some(stage && label && options && key && pixels)
    }
}

/// The labels as kept: texts, their vectors' fingerprints, the scaling factor.
type KeptLabels = (Vec<(String, Option<u64>)>, Option<f64>);

/// What is to be written.
#[derive(Default)]
struct Due {
    /// Image records, in the order they changed, each once.
    images: VecDeque<u64>,
    queued: HashSet<u64>,
    /// Images whose pixels are to be written with their record.
    pixels: HashSet<u64>,
    deleted: Vec<u64>,
    /// Every image is gone: the image stores are emptied.
    all_gone: bool,
    labels: bool,
}

impl Due {
    fn image(&mut self, id: u64, pixels: bool) {
        if self.queued.insert(id) {
            self.images.push_back(id);
        }
        if pixels {
            self.pixels.insert(id);
        }
    }

    fn is_empty(&self) -> bool {
        self.images.is_empty() && self.deleted.is_empty() && !self.all_gone && !self.labels
    }
}

#[derive(Default)]
struct Follower {
    kept: HashMap<u64, Kept>,
    labels: Option<KeptLabels>,
    last_pass: Option<f64>,
    scheduled: bool,
    due: Due,
    writing: bool,
}

impl Session {
    /// Saves the session as it changes, from now on. Called once, after [`restore`],
    /// with the ids it restored: those are saved again only when they change (anything
    /// added meanwhile is saved at once).
    ///
    /// [`restore`]: Session::restore
    pub fn follow(&self, restored: HashSet<u64>) {
        let session = *self;
        let mut follower = Follower::default();
        self.images.with_untracked(|v| {
            for item in v.iter().filter(|i| restored.contains(&i.id)) {
                if let Some(k) = untrack(|| Kept::of(item)) {
                    follower.kept.insert(item.id, k);
                }
            }
        });
        let state = StoredValue::new_local(follower);
        let pulse = Trigger::new();
        Effect::new(move |_| {
            pulse.track();
            let now = crate::platform::clock::now_ms();
            let wait = state.with_value(|s| s.last_pass.map_or(0.0, |last| last + PASS_MS - now));
            if wait > 0.0 {
                if !state.with_value(|s| s.scheduled) {
                    state.update_value(|s| s.scheduled = true);
                    gloo_timers::callback::Timeout::new(wait.ceil() as u32, move || {
                        state.try_update_value(|s| s.scheduled = false);
                        pulse.notify();
                    })
                    .forget();
                }
                return;
            }
            state.update_value(|s| s.last_pass = Some(now));
            session.pass(state);
            session.write_due(state);
        });
    }

    /// Reads what is kept of every image and of the labels (tracked), and sets what
    /// differs from what was last handed to the store aside as due.
    fn pass(&self, state: StoredValue<Follower, LocalStorage>) {
        self.images.with(|images| {
            state.update_value(|s| {
                let Follower { kept, due, .. } = s;
                for item in images.iter() {
                    if let Some(k) = kept.get(&item.id) {
                        if k.matches(item) != Some(false) {
                            continue;
                        }
                    }
                    let Some(now) = Kept::of(item) else { continue };
                    let before = kept.get(&item.id).and_then(|k| k.fingerprint);
                    due.image(
                        item.id,
                        now.fingerprint.is_some() && now.fingerprint != before,
                    );
                    kept.insert(item.id, now);
                }
                // Every present image is kept now, so more kept means some left.
                if kept.len() > images.len() {
                    if images.is_empty() {
                        kept.clear();
                        *due = Due {
                            all_gone: true,
                            labels: due.labels,
                            ..Due::default()
                        };
                    } else {
                        kept.retain(|id, _| {
                            let present = images.get(*id).is_some();
                            if !present {
                                due.deleted.push(*id);
                            }
                            present
                        });
                    }
                }
            })
        });
        let labels: KeptLabels = (
            self.labels.with(|v| {
                v.iter()
                    .filter_map(|l| {
                        let text = l.text.try_get()?;
                        Some((text, l.embedding.try_with(|e| e.as_ref().map(|e| e.key))?))
                    })
                    .collect()
            }),
            self.scaling_factor.get(),
        );
        state.update_value(|s| {
            if s.labels.as_ref() != Some(&labels) {
                s.labels = Some(labels);
                s.due.labels = true;
            }
        });
    }

    /// Writes what is due, chunk by chunk, from one task at a time (so transactions are
    /// made, and committed, in the order of the changes).
    fn write_due(&self, state: StoredValue<Follower, LocalStorage>) {
        let idle = state.with_value(|s| !s.writing && !s.due.is_empty());
        if !idle {
            return;
        }
        let Some(store) = self.store.get_value() else {
            // No storage in this browser: nothing is kept, and nothing piles up.
            state.update_value(|s| s.due = Due::default());
            return;
        };
        state.update_value(|s| s.writing = true);
        let session = *self;
        spawn_local(async move {
            loop {
                let Some(changes) = state.try_update_value(|s| session.take_chunk(&mut s.due))
                else {
                    return;
                };
                if changes.is_empty() {
                    break;
                }
                if let Err(e) = store.write(&changes).await {
                    session.storage_error.try_set(Some(format!(
                        "The session could not be saved in this browser: {e}"
                    )));
                }
            }
            state.try_update_value(|s| s.writing = false);
        });
    }

    /// Up to [`CHUNK`] due records, read from the items now (an item removed since is
    /// skipped: its deletion is due too).
    fn take_chunk(&self, due: &mut Due) -> Changes {
        let mut changes = Changes::default();
        if std::mem::take(&mut due.all_gone) {
            changes.cleared = true;
        }
        if std::mem::take(&mut due.labels) {
            changes.labels = Some(self.labels_record());
        }
        let n = due.deleted.len().min(CHUNK);
        changes.deleted = due.deleted.drain(..n).collect();
        while changes.len() < CHUNK {
            let Some(id) = due.images.pop_front() else {
                break;
            };
            due.queued.remove(&id);
            let pixels = due.pixels.remove(&id);
            let Some(item) = self.image(id) else { continue };
            let Some(record) = image_record(item) else {
                continue;
            };
            changes.images.push(record);
            if pixels {
                if let Some(Some(png)) = item.png.try_get_value() {
                    changes.pixels.push(PixelsRecord {
                        id,
                        png,
                        thumbnail: item.thumbnail.try_get_value().flatten(),
                    });
                }
            }
        }
        changes
    }

    /// Read-write transactions the session's store has run (0 without storage): what
    /// tests and measurements count.
    pub fn write_transactions(&self) -> u64 {
        self.store
            .with_value(|s| s.as_ref().map_or(0, |s| s.write_transactions()))
    }

    pub(crate) fn persist<F, Fut>(&self, write: F)
    where
        F: FnOnce(Rc<Store>) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<(), crate::persist::store::StoreError>> + 'static,
    {
        let Some(store) = self.store.get_value() else {
            return;
        };
        let error = self.storage_error;
        spawn_local(async move {
            if let Err(e) = write(store).await {
                error.set(Some(format!(
                    "The session could not be saved in this browser: {e}"
                )));
            }
        });
    }

    /// The labels (with their vectors) and the scaling factor, as saved.
    fn labels_record(&self) -> LabelsRecord {
        LabelsRecord {
            labels: self.labels.with_untracked(|v| {
                v.iter()
                    .filter_map(|l| {
                        let e = l.embedding.try_get_untracked()?;
                        Some(SavedLabel {
                            text: l.text.try_get_untracked()?,
                            key: e.as_ref().map(|e| e.key.to_string()),
                            vector: e.map(|e| e.vector.to_vec()),
                        })
                    })
                    .collect()
            }),
            scaling_factor: self.scaling_factor.get_untracked(),
        }
    }

    /// Opens the saved session and puts it back on screen: finished vectors as they
    /// were, prepared images ready to send, images whose originals were never prepared
    /// marked failed (originals are not kept). Only records and vectors are read before
    /// it returns; thumbnails follow in the background, PNGs when needed.
    pub async fn restore(&self) -> HashSet<u64> {
        let mut restored = HashSet::new();
        let store = match Store::open().await {
            Ok(s) => Rc::new(s),
            Err(e) => {
                self.storage_error
                    .set(Some(format!("The session will not survive a reload: {e}")));
                return restored;
            }
        };
        match store.load().await {
            Ok(saved) => {
                if !saved.skipped.is_empty() {
                    self.storage_error.set(Some(format!(
                        "Some saved records were unreadable and skipped: {}",
                        saved.skipped.join("; ")
                    )));
                }
                let max_id = saved.images.iter().map(|i| i.id).max().unwrap_or(0);
                if max_id >= self.next_id.get_value() {
                    self.next_id.set_value(max_id + 1);
                }
                let items: Vec<ImageItem> = saved.images.into_iter().map(restored_item).collect();
                restored.extend(items.iter().map(|i| i.id));
                self.images.update(|v| v.prepend(items));
                for l in saved.labels.labels {
                    let embedding = match (l.vector, l.key.and_then(|k| k.parse().ok())) {
                        (Some(v), Some(key)) => Some(Embedded {
                            vector: Arc::new(v),
                            key,
                        }),
                        _ => None,
                    };
                    let item = LabelItem::new(self.next_id(), l.text, embedding);
                    self.labels.update(|v| v.push(item));
                }
                if saved.labels.scaling_factor.is_some() {
                    self.scaling_factor.set(saved.labels.scaling_factor);
                }
            }
            Err(e) => self
                .storage_error
                .set(Some(format!("The saved session could not be read: {e}"))),
        }
        self.store.set_value(Some(store.clone()));
        let session = *self;
        spawn_local(async move { session.restore_thumbnails(&store).await });
        restored
    }

    /// Puts the saved thumbnails on their images, in gallery order, a chunk per
    /// transaction; then images saved before thumbnails existed show their PNG.
    pub async fn restore_thumbnails(&self, store: &Store) {
        let mut after = None;
        loop {
            let chunk = match store.thumbnails(after, THUMBNAIL_CHUNK).await {
                Ok(chunk) => chunk,
                Err(e) => {
                    self.storage_error
                        .try_set(Some(format!("Saved thumbnails could not be read: {e}")));
                    return;
                }
            };
            let n = chunk.len();
            for (id, blob) in chunk {
                after = Some(id);
                if let Some(item) = self.image(id) {
                    if item.thumbnail.try_with_value(Option::is_none) == Some(true) {
                        item.set_thumbnail(blob);
                    }
                }
            }
            if n < THUMBNAIL_CHUNK as usize {
                break;
            }
        }
        let legacy: Vec<ImageItem> = self.images.with_untracked(|v| {
            v.iter()
                .filter(|i| {
                    i.thumbnail.try_with_value(Option::is_none) == Some(true)
                        && i.prepared.with_untracked(Option::is_some)
                })
                .copied()
                .collect()
        });
        let pixels = self.pixels();
        for chunk in legacy.chunks(LEGACY_CHUNK) {
            for (item, png) in chunk.iter().zip(pixels.pngs(chunk).await) {
                if let Ok(png) = png {
                    if item.thumbnail.try_with_value(Option::is_none) == Some(true) {
                        item.set_thumbnail(png);
                    }
                }
            }
        }
    }

    /// Everything gone: on screen and in the browser's storage.
    pub fn clear_all(&self) {
        self.clear_images();
        let labels = self.labels.try_update(std::mem::take).unwrap_or_default();
        labels.into_iter().for_each(LabelItem::dispose);
        self.scaling_factor.set(None);
        self.marked.set(Vec::new());
        self.outlier_scores.set(Default::default());
        self.persist(|store| async move { store.clear().await });
    }
}

/// An image's record as it is now (`None`: removed).
fn image_record(item: ImageItem) -> Option<ImageRecord> {
    let stage = item.stage.try_get_untracked()?;
    let prepared = item.prepared.try_get_untracked()?;
    let embedding = item.embedding.try_get_untracked()?;
    let meta = ImageMeta {
        name: item.name.try_get_value()?,
        path: item.path.try_get_value()?,
        label: item.label.try_get_untracked()?,
        stage: stage.word().to_string(),
        failure: stage.failure().map(str::to_string),
        options: item.options.try_get_untracked()?,
        channels: prepared.as_ref().map_or(0, |p| p.channels),
        source: prepared.as_ref().map(|p| p.source.clone()),
        window: prepared.as_ref().map(|p| p.window),
        fingerprint: prepared.as_ref().map(|p| p.fingerprint.to_string()),
        key: embedding.as_ref().map(|e| e.key.to_string()),
        png_bytes: prepared.as_ref().map(|p| p.bytes as u64),
    };
    Some(ImageRecord {
        id: item.id,
        meta,
        vector: embedding.map(|e| e.vector),
    })
}

/// What a PNG saved without its size (before version 2) is taken to weigh when a run
/// plans its requests: a 512² PNG of typical medical content, generous for gray.
fn estimated_png_bytes(channels: u8) -> usize {
    if channels == 3 {
        450_000
    } else {
        200_000
    }
}

fn restored_item(s: crate::persist::store::SavedImage) -> ImageItem {
    let m = s.meta;
    let fingerprint = m.fingerprint.as_deref().and_then(|f| f.parse::<u64>().ok());
    let prepared = match (s.has_pixels, fingerprint, m.source.clone(), m.window) {
        (true, Some(fingerprint), Some(source), Some(window)) => Some(Prepared {
            fingerprint,
            bytes: m
                .png_bytes
                .map_or_else(|| estimated_png_bytes(m.channels), |b| b as usize),
            channels: m.channels,
            source,
            window,
            options: m.options,
        }),
        _ => None,
    };
    let key = m.key.as_deref().and_then(|k| k.parse::<u64>().ok());
    let embedding = match (s.vector, key) {
        (Some(v), Some(key)) => Some(Embedded {
            vector: Arc::new(v),
            key,
        }),
        _ => None,
    };
    let stage = SavedState {
        word: &m.stage,
        failure: m.failure.as_deref(),
        pixels: prepared.as_ref().map(|p| p.fingerprint),
        vector: embedding.as_ref().map(|e| e.key),
    }
    .restored();
    let origin = Origin {
        name: m.name,
        path: m.path,
        label: m.label,
    };
    ImageItem::new(s.id, origin, stage, m.options, prepared, embedding)
}
