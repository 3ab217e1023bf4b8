//! The small picture of a prepared image that cards, chips and map tooltips show.
//!
//! A gallery of 10 000 cards must not decode 10 000 PNGs of 512²: the browser keeps every
//! decoded `<img>` it shows as a bitmap (1 MB for a 512² RGBA), and the page heap target
//! is 1.5 GB. So the worker that prepares an image also makes, once, a thumbnail of at
//! most [`THUMBNAIL_SIDE`] pixels on its longest side, from the very pixels the model
//! sees (the inspector shows the exact PNG on demand).
//!
//! It is a JPEG (quality [`QUALITY`]): a thumbnail is only looked at, never sent, and a
//! 128² JPEG is a few kilobytes where the lossless PNG is 3–5 times more — ten thousand of
//! them are written to IndexedDB and read back at every reload. The resize is the
//! pipeline's own (`fast_image_resize`, Catmull–Rom, which averages when shrinking 4×).

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageEncoder};

use super::resize::{self, ResizeError};

/// The longest side of a thumbnail, in pixels: 96-pixel cards on a 1.33× screen, 80-pixel
/// chips on a 1.5× one.
pub const THUMBNAIL_SIDE: u32 = 128;

/// JPEG quality: no visible blocking at 128², a third of quality 95's bytes.
pub const QUALITY: u8 = 85;

/// The MIME type of what [`thumbnail`] returns.
pub const MIME: &str = "image/jpeg";

#[derive(Debug, thiserror::Error)]
pub enum ThumbnailError {
    #[error(transparent)]
    Resize(#[from] ResizeError),
    #[error("{channels} channels cannot be made a thumbnail (1 or 3)")]
    Channels { channels: u8 },
    #[error("the thumbnail could not be encoded: {0}")]
    Encode(#[from] image::ImageError),
}

/// The size of the thumbnail of a `width`×`height` image: the longest side
/// [`THUMBNAIL_SIDE`] (never enlarged), the aspect kept, no side below 1.
pub fn size(width: u32, height: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= THUMBNAIL_SIDE {
        return (width.max(1), height.max(1));
    }
    let scale = f64::from(THUMBNAIL_SIDE) / f64::from(longest);
    let side = |s: u32| ((f64::from(s) * scale).round() as u32).clamp(1, THUMBNAIL_SIDE);
    (side(width), side(height))
}

/// A JPEG thumbnail of 8-bit `pixels` (`channels` 1 or 3, row-major `width`×`height`).
pub fn thumbnail(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u8,
) -> Result<Vec<u8>, ThumbnailError> {
    let color = match channels {
        1 => ExtendedColorType::L8,
        3 => ExtendedColorType::Rgb8,
        _ => return Err(ThumbnailError::Channels { channels }),
    };
    if width == 0 || height == 0 {
        return Err(ResizeError::Empty { width, height }.into());
    }
    let (w, h) = size(width, height);
    let small = resize::resize(pixels, width, height, channels, w, h)?;
    let mut out = Vec::with_capacity(small.len() / 4);
    JpegEncoder::new_with_quality(&mut out, QUALITY).write_image(&small, w, h, color)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_side_becomes_128_and_the_aspect_is_kept() {
        assert_eq!(size(512, 512), (128, 128));
        assert_eq!(size(512, 256), (128, 64));
        assert_eq!(size(300, 1200), (32, 128));
        // Never enlarged, never empty.
        assert_eq!(size(100, 40), (100, 40));
        assert_eq!(size(5000, 1), (128, 1));
    }

    #[test]
    fn a_prepared_image_becomes_a_small_jpeg_of_the_same_picture() {
        // A 512² gray ramp, left dark, right bright, with ±8 of grain as a radiograph
        // has (a smooth ramp alone would be a tiny PNG).
        let mut seed = 12345u32;
        let pixels: Vec<u8> = (0..512 * 512)
            .map(|i| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let grain = (seed >> 16) % 17;
                ((i % 512) / 2 + grain as usize).saturating_sub(8).min(255) as u8
            })
            .collect();
        let jpeg = thumbnail(&pixels, 512, 512, 1).unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "a JPEG starts with SOI");
        let png = crate::pipeline::encode::png(
            &pixels,
            512,
            512,
            1,
            crate::pipeline::PngCompression::default(),
        )
        .unwrap();
        assert!(
            jpeg.len() * 10 < png.len(),
            "{} vs {}",
            jpeg.len(),
            png.len()
        );
        let back = image::load_from_memory(&jpeg).unwrap().to_luma8();
        assert_eq!(back.dimensions(), (128, 128));
        // The ramp survives (the grain averages out): column x of the thumbnail is about
        // column 4x + 1.5 of the original, whose value is (4x + 1.5) / 2.
        for x in [4u32, 32, 64, 100, 123] {
            let want = (4.0 * x as f32 + 1.5) / 2.0;
            let got = f32::from(back.get_pixel(x, 64).0[0]);
            assert!((got - want).abs() <= 5.0, "column {x}: {got} vs {want}");
        }
    }

    #[test]
    fn colour_stays_colour_and_other_channel_counts_are_refused() {
        // Pure red RGB, letterboxed 512×256.
        let pixels: Vec<u8> = [200u8, 0, 0].repeat(512 * 256);
        let jpeg = thumbnail(&pixels, 512, 256, 3).unwrap();
        let back = image::load_from_memory(&jpeg).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (128, 64));
        let [r, g, b] = back.get_pixel(64, 32).0;
        assert!(r > 180 && g < 25 && b < 25, "{r} {g} {b}");
        assert!(matches!(
            thumbnail(&[0; 8], 2, 2, 2),
            Err(ThumbnailError::Channels { channels: 2 })
        ));
        assert!(matches!(
            thumbnail(&[], 0, 0, 1),
            Err(ThumbnailError::Resize(ResizeError::Empty { .. }))
        ));
    }
}
