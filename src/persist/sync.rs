//! Keeping the session in the browser's IndexedDB as it changes, and putting it back at
//! start.
//!
//! The state knows nothing of storage: [`Session::follow`] watches it, as todomvc's one
//! serialising effect does, and nothing else in the app saves. At 10 000 images neither
//! "serialise everything on every change" nor "an effect and a transaction per image"
//! holds up, and neither does one effect that reads every image: subscribing to five
//! signals of 10 000 images takes Leptos ~150 ms, too long to redo on each change. So
//! the layer is one collector fed by a few watchers:
//! - one effect follows the collection: it groups the images by id into *groups* of
//!   [`GROUP`] (ids are given in sequence, so a load fills whole groups), gives each
//!   group a watcher, tells a group when its members change, and sets removed images
//!   aside for deletion;
//! - each group's watcher reads what is kept of its images (stage, label, options, the
//!   vector's fingerprint, the pixels' fingerprint) and sets those that differ from what
//!   was last handed to the store aside as due — a change costs one group, not the
//!   session;
//! - one effect does the same for the labels and the scaling factor;
//! - one writer task writes what is due in transactions of up to [`CHUNK`] records, at
//!   most one per [`PASS_MS`] unless a full chunk is waiting: a label typed key by key is
//!   one write, a run landing twenty vectors a second a few.
//!
//! Pixels are written once per preparation (when the pixels' fingerprint changes), as
//! the `Blob`s the item holds; once written, the item lets go of its PNG's Blob, and the
//! PNG lives only in IndexedDB (a file the browser reads when asked). [`Session::restore`] reads records and vectors first —
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

/// Least time between two write transactions, in milliseconds (unless a full chunk is
/// waiting).
pub const PASS_MS: f64 = 300.0;
/// How often a writer waiting for its pass looks for a finished vector, in milliseconds.
const VECTOR_CHECK_MS: f64 = 25.0;
/// Most records in one write transaction (~1 MB of vectors).
pub const CHUNK: usize = 256;
/// Images per watcher: ids `g·GROUP .. (g+1)·GROUP`.
pub const GROUP: u64 = 256;
/// Restored images made per task.
const ITEMS_PER_TASK: usize = 500;
/// Watchers started per task (each first reads its group, ~3 ms in Chromium).
const WATCHERS_PER_TASK: usize = 4;
/// Thumbnails given an object URL per task after a restore.
const URLS_PER_TASK: usize = 40;
/// Thumbnails read per transaction after a restore.
const THUMBNAIL_CHUNK: u32 = 200;
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
    /// A finished vector is among the records: it is written without waiting for the
    /// pass, so a tab closed or reloaded right after a batch comes back loses nothing.
    vectors: bool,
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

    /// Records waiting (a full chunk is written without waiting for the pass).
    fn len(&self) -> usize {
        self.images.len() + self.pixels.len() + self.deleted.len()
    }
}

/// What [`Session::restore`] put back, for [`Session::follow`]: each image as saved.
#[derive(Default)]
pub struct Restored {
    kept: HashMap<u64, Kept>,
}

impl Restored {
    /// Images restored.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    pub fn contains(&self, id: u64) -> bool {
        self.kept.contains_key(&id)
    }
}

#[derive(Default)]
struct Follower {
    kept: HashMap<u64, Kept>,
    labels: Option<KeptLabels>,
    due: Due,
    writing: bool,
    last_write: Option<f64>,
}

type State = StoredValue<Follower, LocalStorage>;

/// One group's watcher: its members, the trigger that says they changed, and the owner
/// of its effect.
struct Group {
    members: StoredValue<Vec<ImageItem>>,
    changed: Trigger,
    owner: Owner,
}

impl Session {
    /// Saves the session as it changes, from now on. Called once, after [`restore`],
    /// with what it restored: those images are saved again only when they change
    /// (anything added meanwhile is saved at once).
    ///
    /// [`restore`]: Session::restore
    pub fn follow(&self, restored: Restored) {
        let session = *self;
        // Watchers live under the caller's owner, not under the effect that makes them
        // (an effect's children are dropped each time it runs again).
        let Some(parent) = Owner::current() else {
            return;
        };
        let follower = Follower {
            kept: restored.kept,
            ..Follower::default()
        };
        let state: State = StoredValue::new_local(follower);
        let groups = StoredValue::new_local(HashMap::<u64, Group>::new());
        Effect::new(move |_| {
            // Membership only: the items' own signals are the groups' business.
            let mut now: HashMap<u64, Vec<ImageItem>> = HashMap::new();
            let empty = session.images.with(|v| {
                for item in v.iter() {
                    now.entry(item.id / GROUP).or_default().push(*item);
                }
                v.is_empty()
            });
            groups.update_value(|groups| {
                let mut gone = Vec::new();
                groups.retain(|key, group| {
                    let members = now.remove(key).unwrap_or_default();
                    let same = group.members.with_value(|old| {
                        old.len() == members.len()
                            && old.iter().zip(&members).all(|(a, b)| a.id == b.id)
                    });
                    if same {
                        return true;
                    }
                    let present: HashSet<u64> = members.iter().map(|i| i.id).collect();
                    group.members.with_value(|old| {
                        gone.extend(old.iter().map(|i| i.id).filter(|id| !present.contains(id)))
                    });
                    if members.is_empty() {
                        group.owner.cleanup();
                        return false;
                    }
                    group.members.set_value(members);
                    group.changed.notify();
                    true
                });
                let mut fresh = Vec::new();
                for (key, members) in now {
                    let owner = parent.child();
                    let group = owner.with(|| Group {
                        members: StoredValue::new(members),
                        changed: Trigger::new(),
                        owner: owner.clone(),
                    });
                    fresh.push((owner, group.members, group.changed));
                    groups.insert(key, group);
                }
                session.start_watchers(fresh, state);
                if !gone.is_empty() {
                    state.update_value(|s| {
                        for id in &gone {
                            s.kept.remove(id);
                            s.due.queued.remove(id);
                            s.due.pixels.remove(id);
                        }
                        if empty {
                            s.kept.clear();
                            s.due = Due {
                                all_gone: true,
                                labels: s.due.labels,
                                ..Due::default()
                            };
                        } else {
                            s.due.deleted.extend(gone);
                        }
                    });
                    session.write_due(state);
                }
            });
        });
        Effect::new(move |_| {
            let labels: KeptLabels = (
                session.labels.with(|v| {
                    v.iter()
                        .filter_map(|l| {
                            let text = l.text.try_get()?;
                            Some((text, l.embedding.try_with(|e| e.as_ref().map(|e| e.key))?))
                        })
                        .collect()
                }),
                session.scaling_factor.get(),
            );
            let changed = state.try_update_value(|s| {
                let changed = s.labels.as_ref() != Some(&labels);
                if changed {
                    s.labels = Some(labels);
                    s.due.labels = true;
                }
                changed
            });
            if changed == Some(true) {
                session.write_due(state);
            }
        });
    }

    /// Starts new groups' watchers a few per task: each first reads its whole group, and
    /// a restored session of 10 000 images has 40 of them, which at once would hold the
    /// page for over 100 ms. A change before its watcher starts is not lost: the first
    /// read compares with what was last handed to the store.
    fn start_watchers(
        &self,
        fresh: Vec<(Owner, StoredValue<Vec<ImageItem>>, Trigger)>,
        state: State,
    ) {
        if fresh.is_empty() {
            return;
        }
        let session = *self;
        spawn_local(async move {
            for (i, (owner, members, changed)) in fresh.into_iter().enumerate() {
                if i > 0 && i % WATCHERS_PER_TASK == 0 {
                    gloo_timers::future::TimeoutFuture::new(0).await;
                }
                owner.with(|| session.watch(members, changed, state));
            }
        });
    }

    /// A group's watcher: whenever one of its images changes what is kept of it (or the
    /// group's members change), the images that differ from what was last handed to the
    /// store are set aside as due.
    fn watch(&self, members: StoredValue<Vec<ImageItem>>, changed: Trigger, state: State) {
        let session = *self;
        Effect::new(move |_| {
            changed.track();
            let Some(members) = members.try_get_value() else {
                return;
            };
            let found = state.try_update_value(|s| {
                let Follower { kept, due, .. } = s;
                let mut found = false;
                for item in &members {
                    if let Some(k) = kept.get(&item.id) {
                        if k.matches(item) != Some(false) {
                            continue;
                        }
                    }
                    let Some(now) = Kept::of(item) else { continue };
                    let before = kept.get(&item.id);
                    let old_pixels = before.and_then(|k| k.fingerprint);
                    let old_vector = before.and_then(|k| k.key);
                    due.image(
                        item.id,
                        now.fingerprint.is_some() && now.fingerprint != old_pixels,
                    );
                    due.vectors |= now.key.is_some() && now.key != old_vector;
                    kept.insert(item.id, now);
                    found = true;
                }
                found
            });
            if found == Some(true) {
                session.write_due(state);
            }
        });
    }

    /// Starts the writer if it is not running: it writes what is due, chunk by chunk,
    /// one transaction at a time (so transactions are made, and committed, in the order
    /// of the changes), waiting [`PASS_MS`] after each unless a full chunk is due.
    fn write_due(&self, state: State) {
        let start = state.with_value(|s| !s.writing && !s.due.is_empty());
        if !start {
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
                // Let changes gather, unless a full chunk is waiting.
                let wait = state.try_with_value(|s| {
                    let since = s
                        .last_write
                        .map_or(PASS_MS, |t| crate::platform::clock::now_ms() - t);
                    if s.due.len() >= CHUNK || s.due.vectors {
                        0.0
                    } else {
                        PASS_MS - since
                    }
                });
                let Some(mut wait) = wait else { return };
                // Waited in short steps, so that a finished vector arriving meanwhile
                // goes out at once.
                while wait > 0.0 && state.try_with_value(|s| !s.due.vectors) == Some(true) {
                    let step = wait.min(VECTOR_CHECK_MS);
                    gloo_timers::future::TimeoutFuture::new(step.ceil() as u32).await;
                    wait -= step;
                }
                let Some(changes) = state.try_update_value(|s| session.take_chunk(&mut s.due))
                else {
                    return;
                };
                if changes.is_empty() {
                    break;
                }
                state.try_update_value(|s| s.last_write = Some(crate::platform::clock::now_ms()));
                match store.write(&changes).await {
                    Ok(()) => session.let_go_of_written_pngs(&changes),
                    Err(e) => {
                        session.storage_error.try_set(Some(format!(
                            "The session could not be saved in this browser: {e}"
                        )));
                    }
                }
            }
            state.try_update_value(|s| s.writing = false);
        });
    }

    /// Once a PNG is in IndexedDB, its item lets go of the Blob it was made from: the
    /// browser may then free that copy, and the PNG is read back from the database's
    /// file when a run or the inspector needs it. (Unless the item was prepared again
    /// meanwhile: its new Blob is not written yet.)
    fn let_go_of_written_pngs(&self, changes: &Changes) {
        for written in &changes.pixels {
            if let Some(item) = self.image(written.id) {
                item.png.try_update_value(|png| {
                    if png.as_ref() == Some(&written.png) {
                        *png = None;
                    }
                });
            }
        }
    }

    /// Up to [`CHUNK`] due records, read from the items now (an item removed since is
    /// skipped: its deletion is due too).
    fn take_chunk(&self, due: &mut Due) -> Changes {
        let mut changes = Changes::default();
        // The vectors waiting go in this chunk (or, past a full chunk, in the next one,
        // which does not wait either).
        due.vectors = false;
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
    pub async fn restore(&self) -> Restored {
        let mut restored = Restored::default();
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
                // Made in slices: 10 000 items at once would hold the page for ~0.5 s.
                let mut items: Vec<ImageItem> = Vec::with_capacity(saved.images.len());
                let mut saved_images = saved.images.into_iter().peekable();
                while saved_images.peek().is_some() {
                    for saved in saved_images.by_ref().take(ITEMS_PER_TASK) {
                        let item = restored_item(saved);
                        // As saved: the baseline changes are measured from.
                        if let Some(k) = untrack(|| Kept::of(&item)) {
                            restored.kept.insert(item.id, k);
                        }
                        items.push(item);
                    }
                    gloo_timers::future::TimeoutFuture::new(0).await;
                }
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
            after = chunk.last().map(|(id, _)| *id);
            // An object URL is a synchronous call into the browser (~0.3 ms in
            // Chromium): a few dozen per task keep each under ~15 ms.
            for slice in chunk.chunks(URLS_PER_TASK) {
                for (id, blob) in slice {
                    if let Some(item) = self.image(*id) {
                        if item.thumbnail.try_with_value(Option::is_none) == Some(true) {
                            item.set_thumbnail(blob.clone());
                        }
                    }
                }
                gloo_timers::future::TimeoutFuture::new(0).await;
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

    /// Everything gone: on screen and in the browser's storage; and a new pseudonym
    /// key, so that the next session's exports cannot be joined with this one's.
    pub fn clear_all(&self) {
        self.clear_images();
        let labels = self.labels.try_update(std::mem::take).unwrap_or_default();
        labels.into_iter().for_each(LabelItem::dispose);
        self.scaling_factor.set(None);
        self.marked.set(Vec::new());
        self.outlier_scores.set(Default::default());
        self.pseudonym_key
            .set(crate::persist::local::fresh_pseudonym_key());
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
