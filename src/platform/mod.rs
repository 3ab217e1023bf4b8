//! The browser, one small module per capability: blobs and object URLs ([`blobs`]), the
//! canvas ([`canvas`]), the clipboard ([`clipboard`]), clocks ([`clock`]), the page
//! ([`document`]), files coming in ([`files`]), requests to the page's own origin
//! ([`fetch`]), random bytes ([`random`]), the offline copy of the app
//! ([`service_worker`]) and `localStorage` ([`storage`]). Nothing else in the app calls
//! web-sys directly, except the worker pool and IndexedDB. Each call returns a typed error
//! (never unwraps a `JsValue`), so a browser that refuses (private mode, no clipboard
//! permission, a full storage) gives the user a message instead of a dead page.

pub mod blobs;
pub mod canvas;
pub mod clipboard;
pub mod clock;
pub mod document;
pub mod fetch;
pub mod files;
pub mod random;
pub mod service_worker;
pub mod storage;

use wasm_bindgen::{JsCast, JsValue};

/// Why a browser call failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BrowserError {
    #[error("the browser has no window (is this running in a worker?)")]
    NoWindow,
    #[error("{what} failed: {message}")]
    Call { what: &'static str, message: String },
}

/// What a thrown JavaScript value says: an `Error`'s message, a thrown string, or its
/// debug form.
pub fn js_error_text(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

pub(crate) fn call(what: &'static str) -> impl FnOnce(JsValue) -> BrowserError {
    move |e| BrowserError::Call {
        what,
        message: js_error_text(&e),
    }
}

pub(crate) fn window() -> Result<web_sys::Window, BrowserError> {
    web_sys::window().ok_or(BrowserError::NoWindow)
}
