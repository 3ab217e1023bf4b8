//! Bytes as things the page can point at: `Blob`s, `blob:` URLs for thumbnails and
//! previews, and downloads of exported files. A URL holds its bytes until revoked, so
//! every [`object_url`] or [`blob_url`] has its [`revoke_url`].
//!
//! A `Blob` is how the page keeps image bytes *outside* its wasm heap: the browser holds
//! its data (Chromium in another process, paged to disk when memory is short; a Blob
//! read back from IndexedDB is a file), and the page holds only a handle. Bytes come
//! back into wasm with [`read`], for as long as the caller needs them.

use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, Url};

use wasm_bindgen::JsCast;

use super::{call, window, BrowserError};

/// A `Blob` holding a copy of `bytes` (the caller may drop them).
pub fn blob(bytes: &[u8], mime: &str) -> Result<Blob, BrowserError> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(call("making a Blob"))
}

/// A `blob:` URL showing `bytes` (for `<img src>`); release it with [`revoke_url`].
pub fn object_url(bytes: &[u8], mime: &str) -> Result<String, BrowserError> {
    Url::create_object_url_with_blob(&blob(bytes, mime)?).map_err(call("making an object URL"))
}

/// A `blob:` URL showing `blob` (for `<img src>`); release it with [`revoke_url`].
pub fn blob_url(blob: &Blob) -> Result<String, BrowserError> {
    Url::create_object_url_with_blob(blob).map_err(call("making an object URL"))
}

/// A `Blob`'s bytes, copied into the wasm heap.
pub async fn read(blob: &Blob) -> Result<Vec<u8>, BrowserError> {
    let buffer = wasm_bindgen_futures::JsFuture::from(blob.array_buffer())
        .await
        .map_err(call("reading a Blob"))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

pub fn revoke_url(url: &str) {
    let _ = Url::revoke_object_url(url);
}

/// Offers `bytes` to the user as a download named `name`.
pub fn download(name: &str, bytes: &[u8], mime: &str) -> Result<(), BrowserError> {
    let url = object_url(bytes, mime)?;
    let document = window()?.document().ok_or(BrowserError::NoWindow)?;
    let anchor: HtmlAnchorElement = document
        .create_element("a")
        .map_err(call("making a link"))?
        .unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    // The download has started from the URL by now; releasing it later keeps slow
    // browsers safe.
    let release = url.clone();
    gloo_timers::callback::Timeout::new(60_000, move || revoke_url(&release)).forget();
    Ok(())
}
