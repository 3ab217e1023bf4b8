//! The few direct browser calls the components need: object URLs for prepared PNGs,
//! saving a file, the clipboard, `localStorage`, the clock. Each returns a typed error
//! (never unwraps a `JsValue`), so a browser that refuses (private mode, no clipboard
//! permission, a full storage) gives the user a message instead of a dead page.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, Url};

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

fn call(what: &'static str) -> impl FnOnce(JsValue) -> BrowserError {
    move |e| BrowserError::Call {
        what,
        message: js_error_text(&e),
    }
}

fn window() -> Result<web_sys::Window, BrowserError> {
    web_sys::window().ok_or(BrowserError::NoWindow)
}

fn blob(bytes: &[u8], mime: &str) -> Result<Blob, BrowserError> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(call("making a Blob"))
}

/// A `blob:` URL showing `bytes` (for `<img src>`); release it with [`revoke_url`].
pub fn object_url(bytes: &[u8], mime: &str) -> Result<String, BrowserError> {
    Url::create_object_url_with_blob(&blob(bytes, mime)?).map_err(call("making an object URL"))
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

/// Puts `text` on the clipboard.
pub async fn copy_text(text: &str) -> Result<(), BrowserError> {
    let clipboard = window()?.navigator().clipboard();
    JsFuture::from(clipboard.write_text(text))
        .await
        .map(|_| ())
        .map_err(call("copying to the clipboard"))
}

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

/// Milliseconds since the page opened, for elapsed times.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Milliseconds since the Unix epoch (the computer's clock), to read a `Retry-After` date.
pub fn unix_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

/// The page's theme, set on `<html data-theme>` so the stylesheet follows it.
pub fn set_theme(theme: &str) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("data-theme", theme);
    }
}

/// How many workers to start: the machine's cores less one for the page, 1–4.
pub fn worker_count() -> usize {
    let cores = web_sys::window().map_or(2.0, |w| w.navigator().hardware_concurrency());
    ((cores as usize).saturating_sub(1)).clamp(1, 4)
}

fn context_2d(
    canvas: &web_sys::HtmlCanvasElement,
) -> Result<web_sys::CanvasRenderingContext2d, BrowserError> {
    Ok(canvas
        .get_context("2d")
        .map_err(call("getting a 2D canvas"))?
        .ok_or(BrowserError::Call {
            what: "getting a 2D canvas",
            message: "the browser offers none".into(),
        })?
        .unchecked_into())
}

/// Paints `rgba` (`width × height × 4` bytes) onto a canvas of that size, in one
/// `putImageData`: a heatmap of 300×300 cosines is one call, not 90 000 DOM nodes.
pub fn paint(
    canvas: &web_sys::HtmlCanvasElement,
    width: u32,
    height: u32,
    rgba: &[u8],
) -> Result<(), BrowserError> {
    canvas.set_width(width.max(1));
    canvas.set_height(height.max(1));
    if width == 0 || height == 0 {
        return Ok(());
    }
    let context = context_2d(canvas)?;
    let image = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        wasm_bindgen::Clamped(rgba),
        width,
        height,
    )
    .map_err(call("making ImageData"))?;
    context
        .put_image_data(&image, 0.0, 0.0)
        .map_err(call("painting the canvas"))
}

/// One dot of a scatter plot, in canvas CSS pixels.
pub struct Dot {
    pub x: f64,
    pub y: f64,
    pub rgb: [u8; 3],
    pub ring: bool,
}

/// Draws dots on a canvas sized `width × height` CSS pixels (sharp on HiDPI screens).
pub fn scatter(
    canvas: &web_sys::HtmlCanvasElement,
    width: f64,
    height: f64,
    dots: &[Dot],
) -> Result<(), BrowserError> {
    let ratio = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .max(1.0);
    canvas.set_width((width * ratio) as u32);
    canvas.set_height((height * ratio) as u32);
    let context = context_2d(canvas)?;
    context
        .scale(ratio, ratio)
        .map_err(call("scaling the canvas"))?;
    context.clear_rect(0.0, 0.0, width, height);
    for d in dots
        .iter()
        .filter(|d| !d.ring)
        .chain(dots.iter().filter(|d| d.ring))
    {
        context.begin_path();
        let _ = context.arc(
            d.x,
            d.y,
            if d.ring { 6.0 } else { 4.0 },
            0.0,
            std::f64::consts::TAU,
        );
        context.set_fill_style_str(&format!("rgb({},{},{})", d.rgb[0], d.rgb[1], d.rgb[2]));
        context.fill();
        if d.ring {
            context.set_line_width(2.5);
            context.set_stroke_style_str("#ffffff");
            context.stroke();
        }
    }
    Ok(())
}
