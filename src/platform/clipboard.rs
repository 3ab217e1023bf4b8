//! The clipboard: copying a vector as JSON. Writing needs the page focused and, in some
//! browsers, a permission; a refusal comes back as a [`BrowserError`] to show.

use wasm_bindgen_futures::JsFuture;

use super::{call, window, BrowserError};

/// Puts `text` on the clipboard.
pub async fn copy_text(text: &str) -> Result<(), BrowserError> {
    let clipboard = window()?.navigator().clipboard();
    JsFuture::from(clipboard.write_text(text))
        .await
        .map(|_| ())
        .map_err(call("copying to the clipboard"))
}
