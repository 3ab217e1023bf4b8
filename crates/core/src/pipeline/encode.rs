//! The last stage: 8-bit pixels → lossless PNG → base64, the request's `image` cell.
//!
//! Compression was chosen by measurement (`cargo bench -p medinsight-core --bench
//! pipeline`, 512×512, 2 cores): see [`PngCompression`]. The PNG carries no text chunks:
//! nothing but pixels leaves the browser.

use base64::Engine;

/// PNG compression levels of the `png` crate, as offered to callers.
///
/// Measured by the `pipeline` benchmark (512² outputs, one core of this project's 2-core
/// machines, native; bytes, then milliseconds):
///
/// | image | Fast | Balanced | High |
/// |---|---|---|---|
/// | RG3 CR, gray | 47 752 B, 4.1 ms | 44 837 B (−6 %), 20 ms | 42 931 B (−10 %), 65 ms |
/// | IHC photo, RGB | 512 594 B, 12.5 ms | 459 293 B (−10 %), 58 ms | 458 904 B (−10 %), 63 ms |
///
/// Encoding runs off the main thread and overlaps the uploads, and an endpoint takes
/// about 5 MB/s, so the network, not the encoder, limits images per second: at 5 MB/s
/// `Balanced` sends about 10 % more photos per second than `Fast` while still encoding
/// ~17 a second per core. `High` costs up to 3× `Balanced`'s time for at most 4 % fewer
/// bytes. Hence `Balanced` is the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PngCompression {
    Fast,
    #[default]
    Balanced,
    High,
}

impl From<PngCompression> for png::Compression {
    fn from(c: PngCompression) -> Self {
        match c {
            PngCompression::Fast => png::Compression::Fast,
            PngCompression::Balanced => png::Compression::Balanced,
            PngCompression::High => png::Compression::High,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
    #[error("{channels} channels cannot be written as an 8-bit PNG the model accepts (1 or 3)")]
    Channels { channels: u8 },
}

/// An 8-bit gray (1 channel) or RGB (3 channels) PNG of `pixels`.
pub fn png(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u8,
    compression: PngCompression,
) -> Result<Vec<u8>, EncodeError> {
    let color = match channels {
        1 => png::ColorType::Grayscale,
        3 => png::ColorType::Rgb,
        _ => return Err(EncodeError::Channels { channels }),
    };
    let mut out = Vec::with_capacity(pixels.len() / 2);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(compression.into());
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(out)
}

/// Standard base64 without line breaks.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The length of [`base64`] of `n` bytes, without encoding them: every started group
/// of 3 bytes becomes 4 characters (padded with `=`). What an image adds to a request
/// body, known before the request is built, so batches can be planned by size.
pub fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trips_losslessly_in_gray_and_rgb() {
        for channels in [1u8, 3] {
            let pixels: Vec<u8> = (0..16 * 8 * channels as usize)
                .map(|i| (i * 37 % 256) as u8)
                .collect();
            let bytes = png(&pixels, 16, 8, channels, PngCompression::default()).unwrap();
            let decoded = image::load_from_memory(&bytes).unwrap();
            assert_eq!(decoded.width(), 16);
            let raw = if channels == 1 {
                decoded.to_luma8().into_raw()
            } else {
                decoded.to_rgb8().into_raw()
            };
            assert_eq!(raw, pixels);
            assert_eq!(decoded.color().channel_count(), channels);
        }
    }

    #[test]
    fn base64_has_no_line_breaks() {
        let s = base64(&[0u8; 300]);
        assert!(!s.contains('\n') && s.len() == 400);
    }

    #[test]
    fn base64_len_is_what_the_encoder_writes() {
        // By hand: 0 → 0, 1..=3 → 4, 4..=6 → 8, 7..=9 → 12, 10 → 16.
        let by_hand = [0, 4, 4, 4, 8, 8, 8, 12, 12, 12, 16];
        for (n, want) in by_hand.into_iter().enumerate() {
            assert_eq!(base64_len(n), want, "n = {n}");
            assert_eq!(base64(&vec![0xA5; n]).len(), want, "n = {n}");
        }
        // A large RGB PNG's worth, not a multiple of 3: 786 433 bytes → 262 145 groups.
        let n = 512 * 512 * 3 + 1;
        assert_eq!(base64_len(n), 262_145 * 4);
        assert_eq!(base64(&vec![7u8; n]).len(), base64_len(n));
    }

    #[test]
    fn other_channel_counts_are_refused() {
        assert!(matches!(
            png(&[0; 8], 2, 2, 2, PngCompression::Fast),
            Err(EncodeError::Channels { channels: 2 })
        ));
    }
}
