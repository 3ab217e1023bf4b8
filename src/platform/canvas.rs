//! Drawing on a `<canvas>`: whole matrices as one `ImageData` (heatmaps), dots for the
//! map. Errors (no 2D context, a refused `ImageData`) come back typed, to be shown.

use wasm_bindgen::JsCast;

use super::{call, BrowserError};

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

/// Sizes a canvas to `width × height` pixels (which clears it), for a picture painted
/// band by band with [`paint_band`].
pub fn resize(canvas: &web_sys::HtmlCanvasElement, width: u32, height: u32) {
    canvas.set_width(width.max(1));
    canvas.set_height(height.max(1));
}

/// Paints `rgba` (`width × rows × 4` bytes, full rows) at rows `top..top + rows` of a
/// canvas already sized by [`resize`]: a 2 048 × 2 048 heatmap is painted in slices
/// short enough not to freeze the page, each one `putImageData`.
pub fn paint_band(
    canvas: &web_sys::HtmlCanvasElement,
    width: u32,
    top: u32,
    rgba: &[u8],
) -> Result<(), BrowserError> {
    let rows = (rgba.len() / 4).checked_div(width as usize).unwrap_or(0) as u32;
    if rows == 0 {
        return Ok(());
    }
    let context = context_2d(canvas)?;
    let image = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        wasm_bindgen::Clamped(rgba),
        width,
        rows,
    )
    .map_err(call("making ImageData"))?;
    context
        .put_image_data(&image, 0.0, f64::from(top))
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
