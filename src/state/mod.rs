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
mod verdicts;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use medinsight_core::formats::pseudonym::PseudonymKey;
use medinsight_core::formats::session::{SessionFile, SessionImage, SessionLabel};
use medinsight_core::pipeline::PrepareOptions;
use medinsight_core::settings::Settings;
use medinsight_core::view::selection::Selection;
use web_sys::File;

pub use images::{distinct_labels, embedded, Embedded, ImageItem, Images, Origin, Prepared, Stage};
pub use labels::LabelItem;
pub use run_state::Progress;
pub use verdicts::Verdict;

use crate::persist::store::Store;

#[derive(Clone, Copy)]
pub struct Session {
    pub images: RwSignal<Images>,
    pub labels: RwSignal<Vec<LabelItem>>,
    pub scaling_factor: RwSignal<Option<f64>>,
    pub selected: RwSignal<Option<u64>>,
    pub progress: RwSignal<Progress>,
    pub cancel: RwSignal<bool>,
    /// A `/score` answer carried the emulator's mark.
    pub emulator: RwSignal<bool>,
    /// Images the outlier view marks in the gallery.
    pub marked: RwSignal<Vec<u64>>,
    /// Every embedded image's outlier score from the last scoring (the outlier view
    /// sets it; the gallery sorts and filters by it).
    pub outlier_scores: RwSignal<Arc<HashMap<u64, f32>>>,
    /// The images picked for actions on many (gallery clicks, select all, the map's
    /// lasso). `selected` is the one image the inspector shows.
    pub selection: RwSignal<Selection>,
    /// The IndexedDB copy of the session, once opened and read back.
    pub(crate) store: StoredValue<Option<Rc<Store>>, LocalStorage>,
    /// The last storage failure, shown to the user.
    pub storage_error: RwSignal<Option<String>>,
    pub settings: RwSignal<Settings>,
    /// The key of this session's export pseudonyms (kept in `localStorage` by `App`,
    /// replaced by "Clear session", never exported). `None`: the browser gave no
    /// random numbers.
    pub pseudonym_key: RwSignal<Option<PseudonymKey>>,
    files: StoredValue<HashMap<u64, File>, LocalStorage>,
    pub(crate) next_id: StoredValue<u64>,
}

/// The first id this page gives: the clock in microseconds (exact in the f64 that
/// IndexedDB keys are). Above every id a saved session holds, so an image imported or
/// dropped while the saved one is still being read cannot take one of its ids.
fn first_id() -> u64 {
    crate::platform::clock::unix_ms()
        .saturating_mul(1000)
        .max(1)
}

impl Session {
    /// A session whose settings are `settings` (remembered by the caller).
    pub fn new(settings: RwSignal<Settings>) -> Self {
        Self {
            images: RwSignal::new(Images::default()),
            labels: RwSignal::new(Vec::new()),
            scaling_factor: RwSignal::new(None),
            selected: RwSignal::new(None),
            progress: RwSignal::new(Progress::default()),
            cancel: RwSignal::new(false),
            emulator: RwSignal::new(false),
            marked: RwSignal::new(Vec::new()),
            outlier_scores: RwSignal::new(Arc::default()),
            selection: RwSignal::new(Selection::default()),
            store: StoredValue::new_local(None),
            storage_error: RwSignal::new(None),
            settings,
            pseudonym_key: RwSignal::new(crate::persist::local::fresh_pseudonym_key()),
            files: StoredValue::new_local(HashMap::new()),
            next_id: StoredValue::new(first_id()),
        }
    }

    /// The same session with its pseudonym key kept in `key` (the remembered one).
    pub fn with_pseudonym_key(self, key: RwSignal<Option<PseudonymKey>>) -> Self {
        Self {
            pseudonym_key: key,
            ..self
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
                let origin = Origin {
                    name: inc.file.name(),
                    label: inc.folder(),
                    path: inc.path.clone(),
                };
                let item = ImageItem::new(id, origin, Stage::Queued, options, None, None);
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

    /// The image with this id, O(1), untracked.
    pub fn image(&self, id: u64) -> Option<ImageItem> {
        self.images.with_untracked(|v| v.get(id))
    }

    /// Removes an image (from storage too: `persist::sync` follows the collection).
    /// Work still under way for it (a preparation, a request) finds it gone and drops
    /// its result.
    pub fn remove_image(&self, id: u64) {
        if self.selected.get_untracked() == Some(id) {
            self.selected.set(None);
        }
        self.images.update(|v| {
            v.remove(id);
        });
        self.selection.update(|s| s.retain(|x| x != id));
        self.files.update_value(|f| {
            f.remove(&id);
        });
    }

    /// Removes many images at once (one pass over the collection, whatever their number).
    pub fn remove_images(&self, ids: &HashSet<u64>) {
        if ids.is_empty() {
            return;
        }
        if self
            .selected
            .get_untracked()
            .is_some_and(|id| ids.contains(&id))
        {
            self.selected.set(None);
        }
        self.images.update(|v| v.retain(|i| !ids.contains(&i.id)));
        self.selection.update(|s| s.retain(|id| !ids.contains(&id)));
        self.files
            .update_value(|f| f.retain(|id, _| !ids.contains(id)));
    }

    /// Gives many images the same ground truth.
    pub fn label_images(&self, ids: &HashSet<u64>, label: &str) {
        let items: Vec<ImageItem> = self
            .images
            .with_untracked(|v| ids.iter().filter_map(|&id| v.get(id)).collect());
        for item in items {
            if item.label.get_untracked() != label {
                item.label.set(label.to_string());
            }
        }
    }

    /// Removes every image.
    pub fn clear_images(&self) {
        self.selected.set(None);
        self.selection.update(Selection::clear);
        self.images.update(|v| v.retain(|_| false));
        self.files.update_value(HashMap::clear);
    }

    pub fn add_label(&self, text: String) {
        let item = LabelItem::new(self.next_id(), text, None);
        self.labels.update(|v| v.push(item));
    }

    /// Removes a label (its signals go with it).
    pub fn remove_label(&self, id: u64) {
        let mut gone = None;
        self.labels.update(|v| {
            if let Some(i) = v.iter().position(|l| l.id == id) {
                gone = Some(v.remove(i));
            }
        });
        gone.into_iter().for_each(LabelItem::dispose);
    }

    /// Moves a label `by` places up (negative) or down, if there is room.
    pub fn move_label(&self, id: u64, by: isize) {
        self.labels.update(|v| {
            if let Some(i) = v.iter().position(|l| l.id == id) {
                let j = i as isize + by;
                if (0..v.len() as isize).contains(&j) {
                    v.swap(i, j as usize);
                }
            }
        })
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
                let origin = Origin {
                    name: im.name,
                    path: im.path,
                    label: im.label,
                };
                let options = PrepareOptions::default();
                ImageItem::new(self.next_id(), origin, stage, options, None, embedded)
            })
            .collect();
        let n = new.len();
        self.images.update(|v| v.extend(new));
        n
    }

    /// Resumes a saved session file: its images (vectors, no pixels), its labels with
    /// their vectors, its scaling factor and settings.
    pub fn import(&self, file: SessionFile) {
        self.add_vectors(file.images);
        for l in file.labels {
            let key = LabelItem::key(&l.text);
            let embedding = l.vector.map(|v| Embedded {
                vector: Arc::new(v),
                key,
            });
            let item = LabelItem::new(self.next_id(), l.text, embedding);
            self.labels.update(|v| v.push(item));
        }
        if file.scaling_factor.is_some() {
            self.scaling_factor.set(file.scaling_factor);
        }
        self.settings.set(file.settings.sanitised());
    }

    /// The zero-shot prediction of every embedded image (needs labels and a scaling
    /// factor): file name, top label, ground truth. Scored by the core
    /// (`analysis::zero_shot`), as the zero-shot view is, so the export and the view
    /// always agree.
    pub fn zero_shot_rows(&self) -> Option<Vec<medinsight_core::formats::zero_shot::ZeroShotRow>> {
        use medinsight_core::analysis::zero_shot::predict;
        use medinsight_core::endpoint::wire::ScalingFactor;
        use medinsight_core::formats::zero_shot::ZeroShotRow;
        let scaling_factor = ScalingFactor(self.scaling_factor.get_untracked()?);
        let (names, labels): (Vec<String>, Vec<Vec<f32>>) = self.labels.with_untracked(|v| {
            v.iter()
                .filter_map(|l| Some((l.text.get_untracked(), l.current_vector_untracked()?)))
                .unzip()
        });
        let (files, images): (Vec<(String, String)>, Vec<Vec<f32>>) =
            self.images.with_untracked(|v| {
                v.iter()
                    .filter_map(|i| {
                        let vector = i.current_vector_untracked()?;
                        Some(((i.name.get_value(), i.label.get_untracked()), vector))
                    })
                    .unzip()
            });
        let predictions = predict(&images, &labels, scaling_factor)?;
        Some(
            files
                .into_iter()
                .zip(predictions)
                .map(|((file_name, ground_truth), p)| ZeroShotRow {
                    file_name,
                    prediction: names[p.top].clone(),
                    ground_truth,
                })
                .collect(),
        )
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
