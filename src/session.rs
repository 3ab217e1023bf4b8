//! The session: the images, their preparation and embedding state, the labels (text
//! prompts), the scaling factor and the run's progress, as Leptos signals.
//!
//! It is provided once by `App` as a `Copy` handle of signals; each component reads or
//! writes only what it needs. Every image and label carries the fingerprint of what was
//! embedded, so a re-run sends only what is new or changed (another window, an edited
//! prompt). Original files stay as browser `File` handles (not in memory): they are
//! read again only when an image is re-prepared.

use std::collections::HashMap;
use std::sync::Arc;

use leptos::prelude::*;
use medinsight_core::formats::session::{SessionFile, SessionImage, SessionLabel};
use medinsight_core::pipeline::PrepareOptions;
use medinsight_core::settings::Settings;
use web_sys::File;

use std::rc::Rc;

use leptos::task::spawn_local;

use crate::compute_worker::PreparedImage;
use crate::store::{ImageMeta, LabelsRecord, SavedLabel, Store};

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

/// One text prompt.
#[derive(Clone, Copy)]
pub struct LabelItem {
    pub id: u64,
    pub text: RwSignal<String>,
    pub embedding: RwSignal<Option<Embedded>>,
    pub error: RwSignal<Option<String>>,
}

impl LabelItem {
    pub fn key(text: &str) -> u64 {
        medinsight_core::fingerprint(text.trim().as_bytes())
    }

    /// The embedding, only if it is of the prompt as written now.
    pub fn current_vector(&self) -> Option<Arc<Vec<f32>>> {
        let e = self.embedding.get()?;
        (e.key == Self::key(&self.text.get())).then_some(e.vector)
    }
}

/// The run's figures, for the progress bar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    pub running: bool,
    pub cancelling: bool,
    /// Images and labels this run sends.
    pub total: usize,
    pub embedded: usize,
    pub failed: usize,
    pub in_flight: usize,
    /// Requests the adaptive window allows in flight now.
    pub window: usize,
    /// Answers 429/503 so far (each retried).
    pub throttled: u64,
    pub requests: usize,
    pub retries: usize,
    pub started_ms: f64,
    pub finished_ms: Option<f64>,
    /// What the user should know now: waiting for preparation, a stop and its reason…
    pub note: Option<String>,
    /// A failure that stopped the whole run (bad key, no deployment).
    pub fatal: Option<String>,
}

#[derive(Clone, Copy)]
pub struct Session {
    pub images: RwSignal<Vec<ImageItem>>,
    pub labels: RwSignal<Vec<LabelItem>>,
    pub scaling_factor: RwSignal<Option<f64>>,
    pub selected: RwSignal<Option<u64>>,
    pub progress: RwSignal<Progress>,
    pub cancel: RwSignal<bool>,
    /// A `/score` answer carried the emulator's mark.
    pub emulator: RwSignal<bool>,
    /// Images the outlier view marks in the gallery.
    pub marked: RwSignal<Vec<u64>>,
    /// The IndexedDB copy of the session, once opened and read back.
    store: StoredValue<Option<Rc<Store>>, LocalStorage>,
    /// The last storage failure, shown to the user.
    pub storage_error: RwSignal<Option<String>>,
    pub settings: RwSignal<Settings>,
    files: StoredValue<HashMap<u64, File>, LocalStorage>,
    next_id: StoredValue<u64>,
}

impl Session {
    pub fn new(settings: Settings) -> Self {
        Self {
            images: RwSignal::new(Vec::new()),
            labels: RwSignal::new(Vec::new()),
            scaling_factor: RwSignal::new(None),
            selected: RwSignal::new(None),
            progress: RwSignal::new(Progress::default()),
            cancel: RwSignal::new(false),
            emulator: RwSignal::new(false),
            marked: RwSignal::new(Vec::new()),
            store: StoredValue::new_local(None),
            storage_error: RwSignal::new(None),
            settings: RwSignal::new(settings),
            files: StoredValue::new_local(HashMap::new()),
            next_id: StoredValue::new(1),
        }
    }

    fn next_id(&self) -> u64 {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        id
    }

    /// Adds files as queued images; returns how many.
    pub fn add_files(&self, incoming: Vec<crate::files::Incoming>) -> usize {
        let options = PrepareOptions::default();
        let new: Vec<ImageItem> = incoming
            .into_iter()
            .map(|inc| {
                let id = self.next_id();
                let item = ImageItem {
                    id,
                    name: StoredValue::new(inc.file.name()),
                    label: RwSignal::new(inc.folder()),
                    path: StoredValue::new(inc.path.clone()),
                    stage: RwSignal::new(Stage::Queued),
                    options: RwSignal::new(options),
                    prepared: RwSignal::new(None),
                    preview_url: RwSignal::new(None),
                    embedding: RwSignal::new(None),
                };
                self.files.update_value(|f| {
                    f.insert(id, inc.file);
                });
                item
            })
            .collect();
        let n = new.len();
        for item in &new {
            self.save_image(*item);
        }
        self.images.update(|v| v.extend(new));
        n
    }

    pub fn file(&self, id: u64) -> Option<File> {
        self.files.with_value(|f| f.get(&id).cloned())
    }

    pub fn image(&self, id: u64) -> Option<ImageItem> {
        self.images
            .with_untracked(|v| v.iter().find(|i| i.id == id).copied())
    }

    pub fn remove_image(&self, id: u64) {
        if let Some(item) = self.image(id) {
            if let Some(url) = item.preview_url.get_untracked() {
                crate::browser::revoke_url(&url);
            }
        }
        self.images.update(|v| v.retain(|i| i.id != id));
        self.files.update_value(|f| {
            f.remove(&id);
        });
        self.persist(move |store| async move { store.delete_image(id).await });
        if self.selected.get_untracked() == Some(id) {
            self.selected.set(None);
        }
    }

    pub fn clear_images(&self) {
        for id in self
            .images
            .with_untracked(|v| v.iter().map(|i| i.id).collect::<Vec<_>>())
        {
            self.remove_image(id);
        }
    }

    pub fn add_label(&self, text: String) {
        let item = LabelItem {
            id: self.next_id(),
            text: RwSignal::new(text),
            embedding: RwSignal::new(None),
            error: RwSignal::new(None),
        };
        self.labels.update(|v| v.push(item));
    }

    /// Changes the preparation of one image: it is prepared again, and embedded again on
    /// the next run if the pixels differ.
    pub fn set_options(&self, item: ImageItem, options: PrepareOptions) {
        // Restored and imported images have no original to prepare again.
        if self.file(item.id).is_none() {
            return;
        }
        if item.options.get_untracked() != options
            || matches!(item.stage.get_untracked(), Stage::Failed(_))
        {
            item.options.set(options);
            item.stage.set(Stage::Queued);
        }
    }

    /// Adds images known only by their vectors (an imported session or `.npy`): they
    /// take part in every analysis; they have no pixels to show or send.
    pub fn add_vectors(&self, images: Vec<SessionImage>) -> usize {
        let new: Vec<ImageItem> = images
            .into_iter()
            .map(|im| {
                let embedded = im.vector.map(|v| Embedded {
                    vector: Arc::new(v),
                    key: 0,
                });
                let stage = if embedded.is_some() {
                    Stage::Embedded
                } else {
                    Stage::Failed("imported without a vector, and without pixels to embed".into())
                };
                ImageItem {
                    id: self.next_id(),
                    name: StoredValue::new(im.name),
                    path: StoredValue::new(im.path),
                    label: RwSignal::new(im.label),
                    stage: RwSignal::new(stage),
                    options: RwSignal::new(PrepareOptions::default()),
                    prepared: RwSignal::new(None),
                    preview_url: RwSignal::new(None),
                    embedding: RwSignal::new(embedded),
                }
            })
            .collect();
        let n = new.len();
        for item in &new {
            self.save_image(*item);
        }
        self.images.update(|v| v.extend(new));
        n
    }

    /// Resumes a saved session file: its images (vectors, no pixels), its labels with
    /// their vectors, its scaling factor and settings.
    pub fn import(&self, file: SessionFile) {
        self.add_vectors(file.images);
        for l in file.labels {
            let key = LabelItem::key(&l.text);
            let item = LabelItem {
                id: self.next_id(),
                text: RwSignal::new(l.text),
                embedding: RwSignal::new(l.vector.map(|v| Embedded {
                    vector: Arc::new(v),
                    key,
                })),
                error: RwSignal::new(None),
            };
            self.labels.update(|v| v.push(item));
        }
        if file.scaling_factor.is_some() {
            self.scaling_factor.set(file.scaling_factor);
        }
        self.settings.set(file.settings.sanitised());
    }

    /// The zero-shot prediction of every embedded image (needs labels and a scaling
    /// factor): file name, top label, ground truth.
    pub fn zero_shot_rows(&self) -> Option<Vec<medinsight_core::formats::ZeroShotRow>> {
        use medinsight_core::analysis::similarity::{cosine_matrix, zero_shot};
        let temperature = self.scaling_factor.get_untracked()?.exp();
        let (names, vectors): (Vec<String>, Vec<Vec<f32>>) = self.labels.with_untracked(|v| {
            v.iter()
                .filter_map(|l| Some((l.text.get_untracked(), l.current_vector_untracked()?)))
                .unzip()
        });
        if names.is_empty() {
            return None;
        }
        let rows = self.images.with_untracked(|v| {
            v.iter()
                .filter_map(|i| {
                    let image = i.current_vector_untracked()?;
                    let cos = cosine_matrix(&[image], &vectors);
                    let p = zero_shot(&cos, temperature);
                    let top = medinsight_core::analysis::evaluation::argmax(&p)?;
                    Some(medinsight_core::formats::ZeroShotRow {
                        file_name: i.name.get_value(),
                        prediction: names[top].clone(),
                        ground_truth: i.label.get_untracked(),
                    })
                })
                .collect()
        });
        Some(rows)
    }

    /// The session as a file: names, labels, vectors, scaling factor, settings.
    pub fn to_file(&self) -> SessionFile {
        let images = self.images.with_untracked(|v| {
            v.iter()
                .map(|i| {
                    let prepared = i.prepared.get_untracked();
                    SessionImage {
                        name: i.name.get_value(),
                        path: i.path.get_value(),
                        label: i.label.get_untracked(),
                        vector: i.current_vector_untracked(),
                        source: prepared.as_ref().map(|p| p.source.clone()),
                        window: prepared.as_ref().map(|p| p.window),
                    }
                })
                .collect()
        });
        let labels = self.labels.with_untracked(|v| {
            v.iter()
                .map(|l| SessionLabel {
                    text: l.text.get_untracked(),
                    vector: l.current_vector_untracked(),
                })
                .collect()
        });
        SessionFile::new(
            self.settings.get_untracked(),
            self.scaling_factor.get_untracked(),
            images,
            labels,
        )
    }
}

impl ImageItem {
    /// [`ImageItem::current_vector`], read without tracking (exports, saves).
    fn current_vector_untracked(&self) -> Option<Vec<f32>> {
        untrack(|| self.current_vector()).map(|v| v.to_vec())
    }
}

impl LabelItem {
    /// [`LabelItem::current_vector`], read without tracking (exports, saves).
    fn current_vector_untracked(&self) -> Option<Vec<f32>> {
        untrack(|| self.current_vector()).map(|v| v.to_vec())
    }
}

/// Saving to IndexedDB. Each save is its own task, started in call order (IndexedDB
/// runs transactions in the order they are created); a failure is shown, not swallowed.
impl Session {
    fn persist<F, Fut>(&self, write: F)
    where
        F: FnOnce(Rc<Store>) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<(), crate::store::StoreError>> + 'static,
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

fn restored_item(s: crate::store::SavedImage) -> ImageItem {
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
        .and_then(|p| crate::browser::object_url(&p.png, "image/png").ok());
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
