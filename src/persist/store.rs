//! The session in IndexedDB, so that closing the tab loses nothing finished: every
//! image's prepared 512² PNG (not the original), its state, label and vector; the
//! labels with theirs; the scaling factor. Settings live in `localStorage` (small,
//! read before the first paint).
//!
//! Three object stores keep writes small: `pixels` is written once per preparation,
//! `images` (metadata as JSON plus the vector as a `Float32Array`) whenever an image
//! changes, `session` holds one record for the labels and scaling factor. Errors — a
//! full quota above all — come back typed, with the browser's own words, for the page to
//! show.

use js_sys::{Float32Array, Object, Reflect, Uint8Array};
use medinsight_core::pipeline::{AppliedWindow, PrepareOptions, SourceInfo};
use rexie::{ObjectStore, Rexie, TransactionMode};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};

const DB: &str = "medinsight-session";
const VERSION: u32 = 1;
const IMAGES: &str = "images";
const PIXELS: &str = "pixels";
const SESSION: &str = "session";
const LABELS_KEY: &str = "labels";

/// Why the session could not be saved or read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("the browser's storage refused: {0} (if it is full, free space or clear the session)")]
    Browser(String),
    #[error("a saved record is unreadable and was skipped: {0}")]
    Corrupt(String),
}

fn browser(e: rexie::Error) -> StoreError {
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

/// One saved image.
pub struct SavedImage {
    pub id: u64,
    pub meta: ImageMeta,
    pub vector: Option<Vec<f32>>,
    pub png: Option<Vec<u8>>,
}

/// Everything saved.
#[derive(Default)]
pub struct Saved {
    pub images: Vec<SavedImage>,
    pub labels: LabelsRecord,
    /// Records that could not be read (reported, not fatal).
    pub skipped: Vec<String>,
}

pub struct Store {
    db: Rexie,
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

impl Store {
    pub async fn open() -> Result<Self, StoreError> {
        let db = Rexie::builder(DB)
            .version(VERSION)
            .add_object_store(ObjectStore::new(IMAGES).key_path("id"))
            .add_object_store(ObjectStore::new(PIXELS).key_path("id"))
            .add_object_store(ObjectStore::new(SESSION).key_path("id"))
            .build()
            .await
            .map_err(browser)?;
        Ok(Self { db })
    }

    async fn put(&self, store: &str, value: JsValue) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[store], TransactionMode::ReadWrite)
            .map_err(browser)?;
        tx.store(store)
            .map_err(browser)?
            .put(&value, None)
            .await
            .map_err(browser)?;
        tx.done().await.map_err(browser)?;
        Ok(())
    }

    pub async fn put_image(
        &self,
        id: u64,
        meta: &ImageMeta,
        vector: Option<&[f32]>,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(meta).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let vector = vector.map_or(JsValue::NULL, |v| Float32Array::from(v).into());
        self.put(
            IMAGES,
            record(&[
                ("id", (id as f64).into()),
                ("meta", json.into()),
                ("vector", vector),
            ]),
        )
        .await
    }

    pub async fn put_pixels(&self, id: u64, png: &[u8]) -> Result<(), StoreError> {
        self.put(
            PIXELS,
            record(&[
                ("id", (id as f64).into()),
                ("png", Uint8Array::from(png).into()),
            ]),
        )
        .await
    }

    pub async fn put_labels(&self, labels: &LabelsRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(labels).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.put(
            SESSION,
            record(&[("id", LABELS_KEY.into()), ("json", json.into())]),
        )
        .await
    }

    pub async fn delete_image(&self, id: u64) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[IMAGES, PIXELS], TransactionMode::ReadWrite)
            .map_err(browser)?;
        for s in [IMAGES, PIXELS] {
            tx.store(s)
                .map_err(browser)?
                .delete((id as f64).into())
                .await
                .map_err(browser)?;
        }
        tx.done().await.map_err(browser)?;
        Ok(())
    }

    /// Empties every store: "clear session".
    pub async fn clear(&self) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[IMAGES, PIXELS, SESSION], TransactionMode::ReadWrite)
            .map_err(browser)?;
        for s in [IMAGES, PIXELS, SESSION] {
            tx.store(s)
                .map_err(browser)?
                .clear()
                .await
                .map_err(browser)?;
        }
        tx.done().await.map_err(browser)?;
        Ok(())
    }

    /// Reads everything back, images in the order they were added.
    pub async fn load(&self) -> Result<Saved, StoreError> {
        let tx = self
            .db
            .transaction(&[IMAGES, PIXELS, SESSION], TransactionMode::ReadOnly)
            .map_err(browser)?;
        let images = tx
            .store(IMAGES)
            .map_err(browser)?
            .get_all(None, None)
            .await
            .map_err(browser)?;
        let pixels = tx
            .store(PIXELS)
            .map_err(browser)?
            .get_all(None, None)
            .await
            .map_err(browser)?;
        let session = tx
            .store(SESSION)
            .map_err(browser)?
            .get(LABELS_KEY.into())
            .await
            .map_err(browser)?;
        let mut saved = Saved::default();
        let mut pngs = std::collections::HashMap::new();
        for p in pixels {
            if let (Some(id), Ok(png)) = (
                field(&p, "id").as_f64(),
                field(&p, "png").dyn_into::<Uint8Array>(),
            ) {
                pngs.insert(id as u64, png.to_vec());
            }
        }
        for r in images {
            let Some(id) = field(&r, "id").as_f64().map(|f| f as u64) else {
                continue;
            };
            let meta = field(&r, "meta").as_string().unwrap_or_default();
            match serde_json::from_str::<ImageMeta>(&meta) {
                Ok(meta) => saved.images.push(SavedImage {
                    id,
                    meta,
                    vector: field(&r, "vector")
                        .dyn_into::<Float32Array>()
                        .ok()
                        .map(|v| v.to_vec()),
                    png: pngs.remove(&id),
                }),
                Err(e) => saved.skipped.push(format!("image {id}: {e}")),
            }
        }
        saved.images.sort_by_key(|i| i.id);
        if let Some(s) = session {
            match serde_json::from_str(&field(&s, "json").as_string().unwrap_or_default()) {
                Ok(l) => saved.labels = l,
                Err(e) => saved.skipped.push(format!("labels: {e}")),
            }
        }
        Ok(saved)
    }
}
