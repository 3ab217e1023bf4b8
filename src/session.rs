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
use medinsight_core::export::{SessionFile, SessionImage, SessionLabel};
use medinsight_core::pipeline::PrepareOptions;
use medinsight_core::settings::Settings;
use web_sys::File;

use crate::prepare_worker::PreparedImage;

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
    /// The embedding, only if it is of the image as prepared now.
    pub fn current_vector(&self) -> Option<Arc<Vec<f32>>> {
        let e = self.embedding.get()?;
        let p = self.prepared.get()?;
        (e.key == p.fingerprint).then_some(e.vector)
    }
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
        if item.options.get_untracked() != options
            || matches!(item.stage.get_untracked(), Stage::Failed(_))
        {
            item.options.set(options);
            item.stage.set(Stage::Queued);
        }
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
    fn current_vector_untracked(&self) -> Option<Vec<f32>> {
        let e = self.embedding.get_untracked()?;
        let p = self.prepared.get_untracked()?;
        (e.key == p.fingerprint).then(|| e.vector.to_vec())
    }
}

impl LabelItem {
    fn current_vector_untracked(&self) -> Option<Vec<f32>> {
        let e = self.embedding.get_untracked()?;
        (e.key == Self::key(&self.text.get_untracked())).then(|| e.vector.to_vec())
    }
}
