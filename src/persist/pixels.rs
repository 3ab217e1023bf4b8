//! Where a prepared PNG is, and getting it back: the item's own `Blob` handle when the
//! page made (or already read) it, else the `pixels` store. The run reads a batch's PNGs
//! just before it builds the request ([`Pixels::pngs`]), the inspector one PNG when it
//! shows it ([`Pixels::png`]); nothing reads them all.
//!
//! A Blob read back from IndexedDB is a handle on the database's file, so it is kept
//! on its item. A PNG saved before version 2 comes back as bytes: it is turned into a
//! `Blob` for this use and written back as one — not kept, so that the browser does
//! not hold every old PNG in memory; the next read gets the database's file.

use std::rc::Rc;

use leptos::prelude::*;
use web_sys::Blob;

use crate::persist::store::{Changes, PixelsRecord, Store, StoreError, StoredPng};
use crate::platform::blobs;
use crate::platform::BrowserError;
use crate::state::{ImageItem, Session};

/// Why a prepared PNG could not be had.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PixelsError {
    #[error("the prepared image is no longer in this browser's storage: load the file again")]
    Missing,
    #[error("the image was removed")]
    Removed,
    #[error("the prepared image could not be read back: {0}")]
    Store(#[from] StoreError),
    #[error("the prepared image could not be read back: {0}")]
    Browser(#[from] BrowserError),
}

/// The handle views and the run use to reach prepared PNGs.
#[derive(Clone, Copy)]
pub struct Pixels {
    store: StoredValue<Option<Rc<Store>>, LocalStorage>,
}

impl Session {
    pub fn pixels(&self) -> Pixels {
        Pixels { store: self.store }
    }
}

impl Pixels {
    /// The PNG of `item` as a `Blob`.
    pub async fn png(&self, item: ImageItem) -> Result<Blob, PixelsError> {
        self.pngs(&[item])
            .await
            .pop()
            .unwrap_or(Err(PixelsError::Missing))
    }

    /// The PNGs of `items`, in their order; those not in hand are read in one
    /// transaction (and kept on their item: a handle on the database's file).
    pub async fn pngs(&self, items: &[ImageItem]) -> Vec<Result<Blob, PixelsError>> {
        let mut out: Vec<Result<Blob, PixelsError>> = items
            .iter()
            .map(|i| {
                i.png
                    .try_get_value()
                    .ok_or(PixelsError::Removed)?
                    .ok_or(PixelsError::Missing)
            })
            .collect();
        let missing: Vec<usize> = (0..items.len())
            .filter(|&at| matches!(out[at], Err(PixelsError::Missing)))
            .collect();
        if missing.is_empty() {
            return out;
        }
        let Some(store) = self.store.get_value() else {
            return out;
        };
        let ids: Vec<u64> = missing.iter().map(|&at| items[at].id).collect();
        let stored = match store.pngs(&ids).await {
            Ok(stored) => stored,
            Err(e) => {
                for &at in &missing {
                    out[at] = Err(e.clone().into());
                }
                return out;
            }
        };
        let mut migrated = Changes::default();
        for (&at, png) in missing.iter().zip(stored) {
            let item = items[at];
            out[at] = match png {
                None => Err(PixelsError::Missing),
                Some(StoredPng::Blob(b)) => {
                    // Removed meanwhile: nothing to keep it on.
                    match item.png.try_set_value(Some(b.clone())) {
                        None => Ok(b),
                        Some(_) => Err(PixelsError::Removed),
                    }
                }
                Some(StoredPng::Bytes(bytes)) => {
                    let blob = blobs::blob(&bytes, "image/png").map_err(PixelsError::from);
                    if let Ok(b) = &blob {
                        migrated.pixels.push(PixelsRecord {
                            id: item.id,
                            png: b.clone(),
                            thumbnail: None,
                        });
                    }
                    blob
                }
            };
        }
        if !migrated.is_empty() {
            // Best effort: if it fails, the bytes are simply read again next time.
            let _ = store.write(&migrated).await;
        }
        out
    }
}
