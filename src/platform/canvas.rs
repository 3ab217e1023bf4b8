//! Drawing on a `<canvas>`: whole matrices as one `ImageData` (heatmaps), dots for the
//! map (batched by look). Errors (no 2D context, a refused `ImageData`) come back typed, to be shown.

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

/// Dots that look alike, drawn as one path and one fill: a map of 10 000 points is a
/// dozen fills, not 10 000 (nor 10 000 DOM nodes).
pub struct DotLayer<'a> {
    /// Centres, in the plot's own units (see [`scatter`]).
    pub centres: &'a [[f64; 2]],
    pub radius: f64,
    /// Squares of the same area instead of discs: in a software-rasterised canvas 10 000
    /// discs took ~30 ms to fill and squares ~11 ms (headless Chromium, `tests/map.rs`),
    /// and at a radius of 2 pixels the eye barely tells them apart.
    pub square: bool,
    /// A CSS colour to fill with, if filled.
    pub fill: Option<&'a str>,
    /// A CSS colour and line width to outline with, if outlined.
    pub stroke: Option<(&'a str, f64)>,
    /// Opacity, 0 to 1.
    pub alpha: f64,
}

/// Draws `layers` in order on a canvas showing a `width × height` plot, whatever size
/// CSS gives the canvas: its backing store is its displayed size times the device pixel
/// ratio (sharp on HiDPI screens), and the plot is scaled onto it. The store is resized
/// only when that size changes, since resizing reallocates it.
pub fn scatter(
    canvas: &web_sys::HtmlCanvasElement,
    width: f64,
    height: f64,
    layers: &[DotLayer<'_>],
) -> Result<(), BrowserError> {
    let ratio = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .max(1.0);
    // Not laid out (a hidden tab): draw at the plot's own size.
    let shown = match canvas.client_width() {
        w if w > 0 => f64::from(w),
        _ => width,
    };
    let k = ratio * shown / width;
    let (w, h) = ((width * k).round() as u32, (height * k).round() as u32);
    if canvas.width() != w || canvas.height() != h {
        canvas.set_width(w.max(1));
        canvas.set_height(h.max(1));
    }
    let context = context_2d(canvas)?;
    context
        .set_transform(k, 0.0, 0.0, k, 0.0, 0.0)
        .map_err(call("scaling the canvas"))?;
    context.clear_rect(0.0, 0.0, width, height);
    for layer in layers.iter().filter(|l| !l.centres.is_empty()) {
        context.set_global_alpha(layer.alpha);
        context.begin_path();
        if layer.square {
            // Side r·√π: the disc's area.
            let half = layer.radius * std::f64::consts::PI.sqrt() / 2.0;
            for &[x, y] in layer.centres {
                context.rect(x - half, y - half, 2.0 * half, 2.0 * half);
            }
        } else {
            for &[x, y] in layer.centres {
                context.move_to(x + layer.radius, y);
                context
                    .arc(x, y, layer.radius, 0.0, std::f64::consts::TAU)
                    .map_err(call("drawing a dot"))?;
            }
        }
        if let Some(fill) = layer.fill {
            context.set_fill_style_str(fill);
            context.fill();
        }
        if let Some((colour, line)) = layer.stroke {
            context.set_line_width(line);
            context.set_stroke_style_str(colour);
            context.stroke();
        }
    }
    context.set_global_alpha(1.0);
    Ok(())
}
