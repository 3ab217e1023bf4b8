//! The image pipeline: any image or DICOM file → exactly what MedImageInsight wants,
//! an 8-bit mono or RGB PNG of 512×512, and its base64.
//!
//! The stages, each its own module so that each can be tested and measured alone:
//! [`decode`] (raster formats via `image`, DICOM via dicom-rs, with a pixel budget
//! checked before anything large is allocated) → [`window`] (modality values to 8 bits:
//! by default as Microsoft's client does, or the file's window, a percentile clip,
//! min–max, a manual window; MONOCHROME1 inverted) → [`resize`] (`fast_image_resize`, stretch or letterbox) → [`encode`]
//! (lossless PNG with the `png` crate, then base64); [`thumbnail`] makes the small
//! picture the page shows of a prepared image. It runs natively (the `medinsight
//! prepare` command, tests, benchmarks) and in the browser (compiled to wasm32), the
//! same code in both. Nothing from a DICOM header reaches the PNG: only pixels travel.

pub mod codestream;
pub mod decode;
pub mod dicom_guard;
pub mod encode;
pub mod file_size;
pub mod resize;
pub mod thumbnail;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod wasm_libc;
pub mod window;

pub use decode::{decode, DecodeError, FrameChoice, Source, SourceInfo};
pub use encode::{EncodeError, PngCompression};
pub use file_size::{check_file_size, FileTooLarge, MAX_FILE_BYTES};
pub use resize::{Fit, ResizeError, SIDE};
pub use window::{AppliedWindow, Windowing};

/// How to prepare an image. Every field has the default a user would pick first.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrepareOptions {
    /// Default [`Windowing::Microsoft`]: what Microsoft's client does — every DICOM and
    /// every image deeper than 8 bits clipped to its 1st–99th percentiles, 8-bit images
    /// as they are.
    pub window: Windowing,
    /// Default [`FrameChoice::First`] for multi-frame DICOM, as Microsoft's client.
    pub frame: FrameChoice,
    /// Default [`Fit::Stretch`], what the service does anyway.
    pub fit: Fit,
    /// Default [`PngCompression::Balanced`] (see `encode` for the measurements).
    pub compression: PngCompression,
}

/// What one image becomes: what to send, what to show, and what was done.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    /// The PNG sent to the endpoint (8-bit gray or RGB, 512×512).
    pub png: Vec<u8>,
    /// `png` in standard base64 without line breaks: the request's `image` cell.
    pub base64: String,
    /// The 512×512 pixels the model sees (1 or 3 channels), for a preview.
    pub pixels: Vec<u8>,
    /// 1 (gray) or 3 (RGB).
    pub channels: u8,
    pub source: SourceInfo,
    pub window: AppliedWindow,
}

/// Why an image could not be prepared; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Resize(#[from] ResizeError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// Runs the whole pipeline on a file's bytes.
pub fn prepare(bytes: &[u8], options: PrepareOptions) -> Result<Prepared, PrepareError> {
    let source = decode(bytes, options.frame)?;
    let (eight_bit, window) = window::apply(&source, options.window);
    let channels = source.channels;
    let pixels = resize::to_model_size(
        &eight_bit,
        source.width,
        source.height,
        channels,
        options.fit,
    )?;
    let png = encode::png(&pixels, SIDE, SIDE, channels, options.compression)?;
    let base64 = encode::base64(&png);
    Ok(Prepared {
        png,
        base64,
        pixels,
        channels,
        source: source.info,
        window,
    })
}
