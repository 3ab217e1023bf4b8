//! Keeping the session in the browser's IndexedDB as it changes, and putting it back at
//! start.
//!
//! The state knows nothing of storage: [`Session::follow`] watches it, as todomvc's one
//! serialising effect does. Each image gets an effect, made when it enters the
//! collection and dropped when it leaves, that saves its record whenever what is kept of
//! it changes (stage, label, options, prepared pixels, vector) and its PNG once per
//! preparation; an image that leaves is deleted; the labels and the scaling factor are
//! saved by one effect. Each write is its own task, started in the order the changes
//! happened (IndexedDB runs transactions in the order they are created); a failure is
//! shown, not swallowed.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use medinsight_core::lifecycle::SavedState;

use crate::persist::store::{ImageMeta, LabelsRecord, SavedLabel, Store};
use medinsight_core::pipeline::PrepareOptions;

use crate::state::{Embedded, ImageItem, LabelItem, Origin, Session, Stage};
use crate::worker::protocol::PreparedImage;

impl Session {
    /// Saves the session as it changes, from now on. Called once, after [`restore`],
    /// with the ids it restored: those are saved again only when they change (anything
    /// added meanwhile is saved at once).
    ///
    /// [`restore`]: Session::restore
    pub fn follow(&self, restored: HashSet<u64>) {
        let session = *self;
        // Watchers live under the caller's owner, not under the effect that makes them
        // (an effect's children are dropped each time it runs again).
        let Some(parent) = Owner::current() else {
            return;
        };
        let watchers = StoredValue::new_local(HashMap::<u64, Owner>::new());
        Effect::new(move |_| {
            let ids: Vec<(u64, ImageItem)> = session
                .images
                .with(|v| v.iter().map(|i| (i.id, *i)).collect());
            watchers.update_value(|w| {
                let present: std::collections::HashSet<u64> =
                    ids.iter().map(|(id, _)| *id).collect();
                w.retain(|id, owner| {
                    let keep = present.contains(id);
                    if !keep {
                        owner.cleanup();
                        let id = *id;
                        session.persist(move |store| async move { store.delete_image(id).await });
                    }
                    keep
                });
                for (id, item) in ids {
                    w.entry(id).or_insert_with(|| {
                        let owner = parent.child();
                        let quiet = restored.contains(&id);
                        owner.with(|| session.watch(item, quiet));
                        owner
                    });
                }
            });
        });
        Effect::new(move |_| {
            // Every label's text and vector, and the scaling factor.
            session.labels.with(|v| {
                for l in v {
                    l.text.track();
                    l.embedding.track();
                }
            });
            session.scaling_factor.track();
            session.save_labels();
        });
    }

    /// An effect that saves `item` whenever what is kept of it changes; `quiet` skips the
    /// first run (a restored image is saved already).
    fn watch(&self, item: ImageItem, quiet: bool) {
        let session = *self;
        Effect::new(move |saved_pixels: Option<Option<u64>>| {
            // What a record holds: reading it subscribes the effect to it. An image
            // removed before this watcher is dropped has nothing left to save.
            let read = || {
                Some((
                    item.stage.try_get()?,
                    item.label.try_get()?,
                    item.options.try_get()?,
                    item.embedding.try_get()?,
                    item.prepared.try_get()?,
                ))
            };
            let Some((stage, label, options, embedding, prepared)) = read() else {
                return saved_pixels.flatten();
            };
            let pixels = prepared.as_ref().map(|p| p.fingerprint);
            let first = saved_pixels.is_none();
            if first && quiet {
                return pixels;
            }
            // Pixels once per preparation (a record alone for a stage change).
            if let Some(p) = prepared.filter(|_| saved_pixels.flatten() != pixels) {
                let id = item.id;
                session.persist(move |store| async move { store.put_pixels(id, &p.png).await });
            }
            session.save_record(item, &stage, label, options, embedding);
            pixels
        });
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

    /// Saves an image's record: state, label, options, what was prepared, the vector.
    fn save_record(
        &self,
        item: ImageItem,
        stage: &Stage,
        label: String,
        options: PrepareOptions,
        embedding: Option<Embedded>,
    ) {
        let prepared = item.prepared.get_untracked();
        let meta = ImageMeta {
            name: item.name.get_value(),
            path: item.path.get_value(),
            label,
            stage: stage.word().to_string(),
            failure: stage.failure().map(str::to_string),
            options,
            channels: prepared.as_ref().map_or(0, |p| p.channels),
            source: prepared.as_ref().map(|p| p.source.clone()),
            window: prepared.as_ref().map(|p| p.window),
            fingerprint: prepared.as_ref().map(|p| p.fingerprint.to_string()),
            key: embedding.as_ref().map(|e| e.key.to_string()),
        };
        let vector = embedding.map(|e| e.vector);
        let id = item.id;
        self.persist(move |store| async move {
            store
                .put_image(id, &meta, vector.as_deref().map(Vec::as_slice))
                .await
        });
    }

    /// Saves the labels (with their vectors) and the scaling factor.
    fn save_labels(&self) {
        let record = LabelsRecord {
            labels: self.labels.with_untracked(|v| {
                v.iter()
                    .map(|l| {
                        let e = l.embedding.get_untracked();
                        SavedLabel {
                            text: l.text.get_untracked(),
                            key: e.as_ref().map(|e| e.key.to_string()),
                            vector: e.map(|e| e.vector.to_vec()),
                        }
                    })
                    .collect()
            }),
            scaling_factor: self.scaling_factor.get_untracked(),
        };
        self.persist(move |store| async move { store.put_labels(&record).await });
    }

    /// Opens the saved session and puts it back on screen: finished vectors as they
    /// were, prepared images ready to send, images whose originals were never prepared
    /// marked failed (originals are not kept).
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
        self.store.set_value(Some(store));
        restored
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

fn restored_item(s: crate::persist::store::SavedImage) -> ImageItem {
    let m = s.meta;
    let fingerprint = m.fingerprint.as_deref().and_then(|f| f.parse::<u64>().ok());
    let prepared = match (s.png, fingerprint, m.source.clone(), m.window) {
        (Some(png), Some(fingerprint), Some(source), Some(window)) => {
            Some(Arc::new(PreparedImage {
                png,
                fingerprint,
                channels: m.channels,
                source,
                window,
                options: m.options,
            }))
        }
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
