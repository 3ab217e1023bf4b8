//! The session: the images, their preparation and embedding state, the labels (text
//! prompts), the scaling factor and the run's progress, as Leptos signals.
//!
//! It is provided once by `App` as a `Copy` handle of signals; each component reads or
//! writes only what it needs. Every image and label carries the fingerprint of what was
//! embedded, so a re-run sends only what is new or changed (another window, an edited
//! prompt). Original files stay as browser `File` handles (not in memory): they are
//! read again only when an image is re-prepared.

mod images;
mod labels;
mod run_state;

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use medinsight_core::formats::session::{SessionFile, SessionImage, SessionLabel};
use medinsight_core::pipeline::PrepareOptions;
use medinsight_core::settings::Settings;
use web_sys::File;

pub use images::{distinct_labels, embedded, Embedded, ImageItem, Stage};
pub use labels::LabelItem;
pub use run_state::Progress;

use crate::persist::store::Store;

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
    pub(crate) store: StoredValue<Option<Rc<Store>>, LocalStorage>,
    /// The last storage failure, shown to the user.
    pub storage_error: RwSignal<Option<String>>,
    pub settings: RwSignal<Settings>,
    files: StoredValue<HashMap<u64, File>, LocalStorage>,
    pub(crate) next_id: StoredValue<u64>,
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

    pub(crate) fn next_id(&self) -> u64 {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        id
    }

    /// Adds files as queued images; returns how many.
    pub fn add_files(&self, incoming: Vec<crate::platform::files::Incoming>) -> usize {
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
                crate::platform::blobs::revoke_url(&url);
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
