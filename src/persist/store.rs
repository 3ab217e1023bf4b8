//! The session in IndexedDB, so that closing the tab loses nothing finished: every
//! image's prepared 512² PNG (not the original) and its thumbnail, its state, label and
//! vector; the labels with theirs; the scaling factor. Settings live in `localStorage`
//! (small, read before the first paint).
//!
//! Four object stores, so that a reload reads only what it needs first:
//! - `images`: one record per image, `{id, meta: JSON, vector: Float32Array | null}`;
//!   read whole at start (the session is usable from these alone).
//! - `pixels`: `{id, png: Blob}`, read one batch at a time when a run sends it or the
//!   inspector shows it, never all at once. Sessions saved before version 2 hold
//!   `{id, png: Uint8Array}`: still read ([`StoredPng::Bytes`]), and rewritten as a Blob
//!   the first time they are (`persist::pixels`).
//! - `thumbnails` (version 2): `{id, jpeg: Blob}`, read after the session is on screen.
//! - `session`: one record for the labels and the scaling factor.
//!
//! `rexie` (over `idb`) takes and returns any `JsValue` the structured clone algorithm
//! accepts, so a `Blob` is stored as itself: the browser copies its bytes into its own
//! files, and a Blob read back is a handle on them — nothing is copied into the page
//! until someone reads it. Writes come as [`Changes`], one read-write transaction each
//! (the persistence layer batches them); [`Store::write_transactions`] counts them.
//! Errors — a full quota above all — come back typed, with the browser's own words, for
//! the page to show.

use std::cell::Cell;
use std::collections::HashSet;

use js_sys::{Float32Array, Object, Reflect, Uint8Array};
use medinsight_core::pipeline::{AppliedWindow, PrepareOptions, SourceInfo};
use rexie::{KeyRange, ObjectStore, Rexie, TransactionMode};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Blob;

const DB: &str = "medinsight-session";
/// 1: images, pixels (PNG as `Uint8Array`), session. 2: pixels as `Blob`, thumbnails.
const VERSION: u32 = 2;
const IMAGES: &str = "images";
const PIXELS: &str = "pixels";
const THUMBNAILS: &str = "thumbnails";
const SESSION: &str = "session";
const ALL: [&str; 4] = [IMAGES, PIXELS, THUMBNAILS, SESSION];
const LABELS_KEY: &str = "labels";

/// Why the session could not be saved or read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("the browser's storage refused: {0} (if it is full, free space or clear the session)")]
    Browser(String),
    #[error("a saved record is unreadable and was skipped: {0}")]
    Corrupt(String),
}

fn browser(e: impl std::error::Error) -> StoreError {
    StoreError::Browser(medinsight_core::error_chain(&e))
}

/// What is saved of an image besides its pixels and vector.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageMeta {
    pub name: String,
    pub path: String,
    pub label: String,
    /// `Stage::word()`; "failed" comes with `failure`.
    pub stage: String,
    pub failure: Option<String>,
    pub options: PrepareOptions,
    pub channels: u8,
    pub source: Option<SourceInfo>,
    pub window: Option<AppliedWindow>,
    /// Fingerprints as strings: JSON numbers lose u64 precision in JavaScript.
    pub fingerprint: Option<String>,
    pub key: Option<String>,
    /// Bytes of the saved PNG (absent in sessions saved before version 2).
    #[serde(default)]
    pub png_bytes: Option<u64>,
}

/// The labels and the scaling factor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelsRecord {
    pub labels: Vec<SavedLabel>,
    pub scaling_factor: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedLabel {
    pub text: String,
    pub vector: Option<Vec<f32>>,
    pub key: Option<String>,
}

/// One saved image, without its pixels.
pub struct SavedImage {
    pub id: u64,
    pub meta: ImageMeta,
    pub vector: Option<Vec<f32>>,
    /// Whether its PNG is in the `pixels` store (read only when needed).
    pub has_pixels: bool,
}

/// Everything saved but pixels and thumbnails.
#[derive(Default)]
pub struct Saved {
    pub images: Vec<SavedImage>,
    pub labels: LabelsRecord,
    /// Records that could not be read (reported, not fatal).
    pub skipped: Vec<String>,
}

/// A saved PNG as it comes back.
pub enum StoredPng {
    /// Version 2: a handle on the browser's copy.
    Blob(Blob),
    /// Version 1: the bytes themselves.
    Bytes(Vec<u8>),
}

/// An image record to write.
pub struct ImageRecord {
    pub id: u64,
    pub meta: ImageMeta,
    pub vector: Option<std::sync::Arc<Vec<f32>>>,
}

/// Pixels to write: the PNG and, when there is one, its thumbnail.
pub struct PixelsRecord {
    pub id: u64,
    pub png: Blob,
    pub thumbnail: Option<Blob>,
}

/// What one read-write transaction changes.
#[derive(Default)]
pub struct Changes {
    pub images: Vec<ImageRecord>,
    pub pixels: Vec<PixelsRecord>,
    /// Images gone: their record, pixels and thumbnail are deleted.
    pub deleted: Vec<u64>,
    /// Every image is gone: the image stores are emptied first.
    pub cleared: bool,
    pub labels: Option<LabelsRecord>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
            && self.pixels.is_empty()
            && self.deleted.is_empty()
            && !self.cleared
            && self.labels.is_none()
    }

    /// Records written (a deletion counts once, though it touches three stores).
    pub fn len(&self) -> usize {
        self.images.len()
            + self.pixels.len()
            + self.deleted.len()
            + usize::from(self.labels.is_some())
            + usize::from(self.cleared)
    }
}

pub struct Store {
    db: Rexie,
    writes: Cell<u64>,
}

fn record(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

fn field(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

/// IndexedDB keys are JavaScript numbers: ids are below 2⁵³ (microseconds since 1970).
fn key(id: u64) -> JsValue {
    (id as f64).into()
}

fn json<T: Serialize>(value: &T) -> Result<JsValue, StoreError> {
    serde_json::to_string(value)
        .map(JsValue::from)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    pub async fn open() -> Result<Self, StoreError> {
        // Opening version 2 over a version-1 database adds `thumbnails` and keeps the
        // other stores and their records (idb's builder creates only what is missing).
        let db = Rexie::builder(DB)
            .version(VERSION)
            .add_object_store(ObjectStore::new(IMAGES).key_path("id"))
            .add_object_store(ObjectStore::new(PIXELS).key_path("id"))
            .add_object_store(ObjectStore::new(THUMBNAILS).key_path("id"))
            .add_object_store(ObjectStore::new(SESSION).key_path("id"))
            .build()
            .await
            .map_err(browser)?;
        Ok(Self {
            db,
            writes: Cell::new(0),
        })
    }

    /// Read-write transactions this store has run (for tests and measurements).
    pub fn write_transactions(&self) -> u64 {
        self.writes.get()
    }

    /// Applies `changes` in one read-write transaction: all of them or, should the
    /// browser refuse (a full quota), none.
    pub async fn write(&self, changes: &Changes) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut images = Vec::with_capacity(changes.images.len());
        for r in &changes.images {
            let vector = r
                .vector
                .as_ref()
                .map_or(JsValue::NULL, |v| Float32Array::from(v.as_slice()).into());
            images.push(record(&[
                ("id", key(r.id)),
                ("meta", json(&r.meta)?),
                ("vector", vector),
            ]));
        }
        let labels = match &changes.labels {
            Some(l) => Some(record(&[("id", LABELS_KEY.into()), ("json", json(l)?)])),
            None => None,
        };
        self.writes.set(self.writes.get() + 1);
        let tx = self
            .db
            .transaction(&ALL, TransactionMode::ReadWrite)
            .map_err(browser)?;
        let store = |name: &str| tx.store(name).map_err(browser);
        if changes.cleared {
            for name in [IMAGES, PIXELS, THUMBNAILS] {
                store(name)?.clear().await.map_err(browser)?;
            }
        }
        // Every request is issued before any is awaited: the transaction stays busy
        // and the browser commits them together.
        store(IMAGES)?
            .put_all(images.into_iter().map(|v| (v, None)))
            .await
            .map_err(browser)?;
        let pixels = changes.pixels.iter().map(|p| {
            let value = record(&[("id", key(p.id)), ("png", p.png.clone().into())]);
            (value, None)
        });
        store(PIXELS)?.put_all(pixels).await.map_err(browser)?;
        let thumbnails = changes.pixels.iter().filter_map(|p| {
            let t = p.thumbnail.as_ref()?;
            Some((
                record(&[("id", key(p.id)), ("jpeg", t.clone().into())]),
                None,
            ))
        });
        store(THUMBNAILS)?
            .put_all(thumbnails)
            .await
            .map_err(browser)?;
        for &id in &changes.deleted {
            for name in [IMAGES, PIXELS, THUMBNAILS] {
                store(name)?.delete(key(id)).await.map_err(browser)?;
            }
        }
        if let Some(labels) = labels {
            store(SESSION)?.put(&labels, None).await.map_err(browser)?;
        }
        tx.done().await.map_err(browser)?;
        Ok(())
    }

    pub async fn put_image(
        &self,
        id: u64,
        meta: &ImageMeta,
        vector: Option<&[f32]>,
    ) -> Result<(), StoreError> {
        self.write(&Changes {
            images: vec![ImageRecord {
                id,
                meta: meta.clone(),
                vector: vector.map(|v| std::sync::Arc::new(v.to_vec())),
            }],
            ..Changes::default()
        })
        .await
    }

    pub async fn put_labels(&self, labels: &LabelsRecord) -> Result<(), StoreError> {
        self.write(&Changes {
            labels: Some(labels.clone()),
            ..Changes::default()
        })
        .await
    }

    pub async fn delete_image(&self, id: u64) -> Result<(), StoreError> {
        self.write(&Changes {
            deleted: vec![id],
            ..Changes::default()
        })
        .await
    }

    /// Empties every store: "clear session".
    pub async fn clear(&self) -> Result<(), StoreError> {
        self.writes.set(self.writes.get() + 1);
        let tx = self
            .db
            .transaction(&ALL, TransactionMode::ReadWrite)
            .map_err(browser)?;
        for s in ALL {
            tx.store(s)
                .map_err(browser)?
                .clear()
                .await
                .map_err(browser)?;
        }
        tx.done().await.map_err(browser)?;
        Ok(())
    }

    /// Reads back everything but pixels and thumbnails, images in the order they were
    /// added: one transaction, the image records in chunks of [`LOAD_CHUNK`] (each is
    /// one `getAll` the browser deserialises at once, so none freezes the page long).
    pub async fn load(&self) -> Result<Saved, StoreError> {
        let tx = self
            .db
            .transaction(&[IMAGES, PIXELS, SESSION], TransactionMode::ReadOnly)
            .map_err(browser)?;
        // Which images have pixels: the keys alone, not the values.
        let with_pixels: HashSet<u64> = tx
            .store(PIXELS)
            .map_err(browser)?
            .get_all_keys(None, None)
            .await
            .map_err(browser)?
            .iter()
            .filter_map(|k| k.as_f64().map(|f| f as u64))
            .collect();
        let mut saved = Saved::default();
        let images = tx.store(IMAGES).map_err(browser)?;
        let mut after: Option<f64> = None;
        loop {
            let range = match after {
                Some(a) => Some(KeyRange::lower_bound(&a.into(), Some(true)).map_err(browser)?),
                None => None,
            };
            let chunk = images
                .get_all(range, Some(LOAD_CHUNK))
                .await
                .map_err(browser)?;
            let n = chunk.len();
            for r in chunk {
                let Some(id) = field(&r, "id").as_f64() else {
                    continue;
                };
                after = Some(id);
                let id = id as u64;
                let meta = field(&r, "meta").as_string().unwrap_or_default();
                match serde_json::from_str::<ImageMeta>(&meta) {
                    Ok(meta) => saved.images.push(SavedImage {
                        id,
                        meta,
                        vector: field(&r, "vector")
                            .dyn_into::<Float32Array>()
                            .ok()
                            .map(|v| v.to_vec()),
                        has_pixels: with_pixels.contains(&id),
                    }),
                    Err(e) => saved.skipped.push(format!("image {id}: {e}")),
                }
            }
            if n < LOAD_CHUNK as usize {
                break;
            }
        }
        let session = tx
            .store(SESSION)
            .map_err(browser)?
            .get(LABELS_KEY.into())
            .await
            .map_err(browser)?;
        saved.images.sort_by_key(|i| i.id);
        if let Some(s) = session {
            match serde_json::from_str(&field(&s, "json").as_string().unwrap_or_default()) {
                Ok(l) => saved.labels = l,
                Err(e) => saved.skipped.push(format!("labels: {e}")),
            }
        }
        Ok(saved)
    }

    /// The saved PNGs of `ids`, in their order (`None`: not saved), in one transaction.
    pub async fn pngs(&self, ids: &[u64]) -> Result<Vec<Option<StoredPng>>, StoreError> {
        let tx = self
            .db
            .transaction(&[PIXELS], TransactionMode::ReadOnly)
            .map_err(browser)?;
        let store = tx.store(PIXELS).map_err(browser)?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let png = store
                .get(key(id))
                .await
                .map_err(browser)?
                .map(|r| field(&r, "png"));
            out.push(png.and_then(|png| {
                if let Some(blob) = png.dyn_ref::<Blob>() {
                    Some(StoredPng::Blob(blob.clone()))
                } else {
                    png.dyn_ref::<Uint8Array>()
                        .map(|bytes| StoredPng::Bytes(bytes.to_vec()))
                }
            }));
        }
        Ok(out)
    }

    /// Up to `limit` thumbnails of ids above `after`, in id order (gallery order).
    pub async fn thumbnails(
        &self,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<(u64, Blob)>, StoreError> {
        let tx = self
            .db
            .transaction(&[THUMBNAILS], TransactionMode::ReadOnly)
            .map_err(browser)?;
        let range = match after {
            Some(a) => Some(KeyRange::lower_bound(&key(a), Some(true)).map_err(browser)?),
            None => None,
        };
        let records = tx
            .store(THUMBNAILS)
            .map_err(browser)?
            .get_all(range, Some(limit))
            .await
            .map_err(browser)?;
        Ok(records
            .iter()
            .filter_map(|r| {
                let id = field(r, "id").as_f64()? as u64;
                Some((id, field(r, "jpeg").dyn_into::<Blob>().ok()?))
            })
            .collect())
    }
}

/// Image records per `getAll` at load: 1 MB of vectors, which the browser deserialises
/// and the page copies in well under 50 ms.
const LOAD_CHUNK: u32 = 250;
