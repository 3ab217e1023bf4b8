//! Keeping the session in the browser's IndexedDB as it changes, and putting it back at
//! start: each save is its own task, started in call order (IndexedDB runs transactions
//! in the order they are created); a failure is shown, not swallowed.

use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::persist::store::{ImageMeta, LabelsRecord, SavedLabel, Store};
use crate::state::{Embedded, ImageItem, LabelItem, Session, Stage};
use crate::worker::protocol::PreparedImage;

impl Session {
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

    /// Saves an image's state, label and vector.
    pub fn save_image(&self, item: ImageItem) {
        let prepared = item.prepared.get_untracked();
        let stage = item.stage.get_untracked();
        let embedding = item.embedding.get_untracked();
        let meta = ImageMeta {
            name: item.name.get_value(),
            path: item.path.get_value(),
            label: item.label.get_untracked(),
            stage: stage.word().to_string(),
            failure: match &stage {
                Stage::Failed(m) => Some(m.clone()),
                _ => None,
            },
            options: item.options.get_untracked(),
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

    /// Saves an image's prepared PNG (once per preparation) and its state.
    pub fn save_prepared(&self, item: ImageItem) {
        if let Some(p) = item.prepared.get_untracked() {
            let id = item.id;
            self.persist(move |store| async move { store.put_pixels(id, &p.png).await });
        }
        self.save_image(item);
    }

    /// Saves the labels (with their vectors) and the scaling factor.
    pub fn save_labels(&self) {
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
    pub async fn restore(&self) {
        let store = match Store::open().await {
            Ok(s) => Rc::new(s),
            Err(e) => {
                self.storage_error
                    .set(Some(format!("The session will not survive a reload: {e}")));
                return;
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
                self.images.update(|v| {
                    let fresh = std::mem::take(v);
                    *v = items;
                    v.extend(fresh);
                });
                for l in saved.labels.labels {
                    let embedding = match (l.vector, l.key.and_then(|k| k.parse().ok())) {
                        (Some(v), Some(key)) => Some(Embedded {
                            vector: Arc::new(v),
                            key,
                        }),
                        _ => None,
                    };
                    let item = LabelItem {
                        id: self.next_id(),
                        text: RwSignal::new(l.text),
                        embedding: RwSignal::new(embedding),
                        error: RwSignal::new(None),
                    };
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
    }

    /// Everything gone: on screen and in the browser's storage.
    pub fn clear_all(&self) {
        self.clear_images();
        self.labels.set(Vec::new());
        self.scaling_factor.set(None);
        self.marked.set(Vec::new());
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
    let embedded = match (&embedding, &prepared) {
        (Some(e), Some(p)) => e.key == p.fingerprint,
        (Some(_), None) => m.stage == "embedded",
        _ => false,
    };
    let stage = if embedded {
        Stage::Embedded
    } else if m.stage == "failed" && prepared.is_none() {
        Stage::Failed(
            m.failure
                .unwrap_or_else(|| "failed before the reload".into()),
        )
    } else if prepared.is_some() {
        // Ready, sending or a failed send: resumed by the next run.
        Stage::Ready
    } else {
        Stage::Failed(
            "the original file is not kept across a reload and was not prepared yet: load it again"
                .into(),
        )
    };
    let preview_url = prepared
        .as_ref()
        .and_then(|p| crate::platform::blobs::object_url(&p.png, "image/png").ok());
    ImageItem {
        id: s.id,
        name: StoredValue::new(m.name),
        path: StoredValue::new(m.path),
        label: RwSignal::new(m.label),
        stage: RwSignal::new(stage),
        options: RwSignal::new(m.options),
        prepared: RwSignal::new(prepared),
        preview_url: RwSignal::new(preview_url),
        embedding: RwSignal::new(embedding),
    }
}
