//! `localStorage`: small things read before the first paint (settings, theme). It may be
//! disabled (private mode) or full; reads then give nothing and writes a
//! [`BrowserError`], and the app carries on with its defaults.

use super::{call, window, BrowserError};

fn storage() -> Result<web_sys::Storage, BrowserError> {
    window()?
        .local_storage()
        .map_err(call("opening localStorage"))?
        .ok_or(BrowserError::Call {
            what: "opening localStorage",
            message: "the browser offers none".into(),
        })
}

/// A value stored under `key`, if any.
pub fn load(key: &str) -> Option<String> {
    storage().ok()?.get_item(key).ok()?
}

/// Stores `value` under `key` (fails when storage is full or disabled).
pub fn store(key: &str, value: &str) -> Result<(), BrowserError> {
    storage()?
        .set_item(key, value)
        .map_err(call("saving to localStorage"))
}
