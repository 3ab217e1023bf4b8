//! The emulator's stand-in embeddings: deterministic, 1024-d, L2-normalised, and
//! meaningless for medicine.
//!
//! An image becomes a 32×32 grayscale thumbnail (1024 values, centred) plus the colour
//! of a 16×16 one (R−G and B−G, 512 values, zero when gray), multiplied by a fixed
//! Gaussian random matrix: a linear map, so the same image gives cosine 1 and
//! a near-duplicate stays close (Johnson–Lindenstrauss), which is what the app's tests
//! need. A text becomes the sum of fixed Gaussian vectors keyed by its CLIP tokens and
//! token pairs, cut at 77 tokens as the real model cuts, so texts that differ only after
//! the cut embed identically. Everything is seeded: same input, same vector, any run.

use std::io::Cursor;

use image::{imageops::FilterType, ImageReader, Limits};
use medinsight_core::text::clip::ClipText;
use medinsight_core::EMBEDDING_DIM;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

const THUMB_SIDE: u32 = 32;
const THUMB_LEN: usize = (THUMB_SIDE * THUMB_SIDE) as usize;
/// Colour is kept coarser: a 16×16 thumbnail's R−G and B−G, zero for a gray image.
const CHROMA_SIDE: u32 = 16;
const CHROMA_LEN: usize = 2 * (CHROMA_SIDE * CHROMA_SIDE) as usize;
const FEATURES: usize = THUMB_LEN + CHROMA_LEN;
const IMAGE_SEED: u64 = 0x4d49_4d47_0000_0001;
const TEXT_SEED: u64 = 0x4d49_5458_0000_0001;
/// Decoding limits: the service would refuse absurd images too, and a 40-byte PNG that
/// claims 100 000² pixels must not take the emulator down.
const MAX_SIDE: u32 = 16_384;
const MAX_DECODED_BYTES: u64 = 512 * 1024 * 1024;
/// Pixels one image may have (8192²; the app sends 512²), checked from the file's
/// header before any pixel is decoded: a few hundred bytes of PNG can claim gigabytes.
pub const MAX_IMAGE_PIXELS: u64 = 8192 * 8192;
/// Pixels one request's images may add up to: the most rows a request may have (1024),
/// each at the size the app sends. The body cap does not bound decoding work (a
/// megabyte of PNG can hold a billion flat pixels); this does.
pub const MAX_REQUEST_PIXELS: u64 = 1024 * 512 * 512;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("the image is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("the image does not decode: {0}")]
    Decode(#[from] image::ImageError),
    #[error("the image's format is not recognised: {0}")]
    Format(std::io::Error),
    // ASCII only: the reason also travels in a header.
    #[error("the image is {width}x{height} pixels, over the emulator's limit of {MAX_IMAGE_PIXELS} pixels per image (the app sends 512x512)")]
    TooLarge { width: u32, height: u32 },
    #[error("the request's images add up to more than {MAX_REQUEST_PIXELS} pixels, the emulator's limit per request; send fewer or smaller images per request")]
    OverBudget,
}

/// The bytes of a base64 image cell (line breaks allowed, as Python sends them).
pub fn decode_b64(cell: &str) -> Result<Vec<u8>, EmbedError> {
    use base64::Engine;
    let compact: String = cell.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    Ok(base64::engine::general_purpose::STANDARD.decode(compact)?)
}

/// The pixels `bytes` claims to hold, from its header alone; refused over
/// [`MAX_IMAGE_PIXELS`].
pub fn pixels(bytes: &[u8]) -> Result<u64, EmbedError> {
    let (width, height) = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(EmbedError::Format)?
        .into_dimensions()?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_IMAGE_PIXELS {
        return Err(EmbedError::TooLarge { width, height });
    }
    Ok(pixels)
}

pub struct Embedder {
    /// Row-major `EMBEDDING_DIM × THUMB_LEN` Gaussian matrix.
    projection: Vec<f32>,
    clip: ClipText,
}

impl Default for Embedder {
    fn default() -> Self {
        Self::new()
    }
}

impl Embedder {
    pub fn new() -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(IMAGE_SEED);
        let projection = (0..EMBEDDING_DIM * FEATURES)
            .map(|_| rng.sample::<f32, _>(StandardNormal))
            .collect();
        Self {
            projection,
            clip: ClipText::new(),
        }
    }

    /// The vector of a base64 image cell (line breaks allowed, as Python sends them).
    pub fn image_b64(&self, cell: &str) -> Result<Vec<f32>, EmbedError> {
        self.image(&decode_b64(cell)?)
    }

    pub fn image(&self, bytes: &[u8]) -> Result<Vec<f32>, EmbedError> {
        pixels(bytes)?;
        let mut reader = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(EmbedError::Format)?;
        let mut limits = Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        limits.max_alloc = Some(MAX_DECODED_BYTES);
        reader.limits(limits);
        let decoded = reader.decode()?;
        let thumb = decoded
            .resize_exact(THUMB_SIDE, THUMB_SIDE, FilterType::Triangle)
            .to_luma32f();
        let pixels = thumb.as_raw();
        let mean = pixels.iter().sum::<f32>() / THUMB_LEN as f32;
        let mut centred: Vec<f32> = pixels.iter().map(|p| p - mean).collect();
        if norm(&centred) < 1e-6 {
            // A flat image has no pattern to project: every flat image is the same.
            centred = vec![1.0; THUMB_LEN];
        }
        // Colour: a colour photograph among gray images stands apart, as it would for
        // the real model.
        let colour = decoded
            .resize_exact(CHROMA_SIDE, CHROMA_SIDE, FilterType::Triangle)
            .to_rgb32f();
        let mut features = centred;
        features.extend(colour.pixels().flat_map(|p| [p[0] - p[1], p[2] - p[1]]));
        let out = self
            .projection
            .chunks_exact(FEATURES)
            .map(|row| dot(row, &features))
            .collect();
        Ok(normalised(out))
    }

    pub fn text(&self, text: &str) -> Vec<f32> {
        let ids = self.clip.model_tokens(text);
        let mut acc = vec![0f32; EMBEDDING_DIM];
        let mut add = |key: u64, weight: f32| {
            let mut rng =
                ChaCha8Rng::seed_from_u64(TEXT_SEED ^ key.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            for a in acc.iter_mut() {
                *a += weight * rng.sample::<f32, _>(StandardNormal);
            }
        };
        for &id in &ids {
            add(u64::from(id), 1.0);
        }
        // Pairs make word order matter a little, as it does to a real text encoder.
        for pair in ids.windows(2) {
            add(
                (1 << 32) | (u64::from(pair[0]) << 16) | u64::from(pair[1]),
                0.5,
            );
        }
        normalised(acc)
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(v: &[f32]) -> f32 {
    dot(v, v).sqrt()
}

fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let n = norm(&v);
    v.iter_mut().for_each(|x| *x /= n);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, f: impl Fn(u32, u32) -> u8) -> Vec<u8> {
        let img = image::GrayImage::from_fn(width, height, |x, y| image::Luma([f(x, y)]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        dot(a, b)
    }

    #[test]
    fn vectors_are_unit_length_and_deterministic() {
        let e = Embedder::new();
        let gradient = png(64, 48, |x, y| (x * 3 + y) as u8);
        let a = e.image(&gradient).unwrap();
        assert_eq!(a.len(), EMBEDDING_DIM);
        assert!((norm(&a) - 1.0).abs() < 1e-5);
        assert_eq!(a, Embedder::new().image(&gradient).unwrap());
        let t = e.text("x-ray chest anteroposterior Atelectasis");
        assert!((norm(&t) - 1.0).abs() < 1e-5);
        assert_eq!(t, e.text("x-ray chest anteroposterior Atelectasis"));
    }

    #[test]
    fn near_duplicates_stay_close_and_different_images_do_not() {
        let e = Embedder::new();
        let base = e
            .image(&png(64, 64, |x, y| ((x * 4) ^ (y * 2)) as u8))
            .unwrap();
        let noisy = e
            .image(&png(64, 64, |x, y| {
                (((x * 4) ^ (y * 2)) as u8).saturating_add(((x + y) % 3) as u8)
            }))
            .unwrap();
        let other = e
            .image(&png(
                64,
                64,
                |x, y| if (x / 8 + y / 8) % 2 == 0 { 255 } else { 0 },
            ))
            .unwrap();
        assert!(
            cos(&base, &noisy) > 0.98,
            "near-duplicate cosine {}",
            cos(&base, &noisy)
        );
        assert!(
            cos(&base, &other) < 0.5,
            "unrelated cosine {}",
            cos(&base, &other)
        );
    }

    #[test]
    fn base64_with_line_breaks_is_the_same_image() {
        use base64::Engine;
        let e = Embedder::new();
        let bytes = png(20, 20, |x, _| (x * 10) as u8);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let wrapped: String = b64
            .as_bytes()
            .chunks(76)
            .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
            .collect();
        assert_eq!(e.image_b64(&b64).unwrap(), e.image_b64(&wrapped).unwrap());
    }

    #[test]
    fn texts_are_cut_at_77_tokens_like_the_model() {
        let e = Embedder::new();
        let long = "lung ".repeat(100);
        assert_eq!(
            e.text(&format!("{long} pneumothorax")),
            e.text(&format!("{long} effusion"))
        );
        let short_a = e.text("chest pneumothorax");
        let short_b = e.text("chest effusion");
        assert!(cos(&short_a, &short_b) < 0.9);
    }

    #[test]
    fn undecodable_and_oversized_images_are_errors() {
        let e = Embedder::new();
        assert!(matches!(
            e.image(b"not an image"),
            Err(EmbedError::Format(_)) | Err(EmbedError::Decode(_))
        ));
        assert!(matches!(e.image_b64("!!!"), Err(EmbedError::Base64(_))));
        // A PNG header claiming 100 000 × 100 000 pixels.
        let mut huge = png(1, 1, |_, _| 0);
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(e.image(&huge).is_err());
    }

    #[test]
    fn an_image_over_the_pixel_limit_is_refused_from_its_header() {
        // 10 000 × 10 000: under the decoder's own limits, over the emulator's.
        let mut claims = png(1, 1, |_, _| 0);
        claims[16..20].copy_from_slice(&10_000u32.to_be_bytes());
        claims[20..24].copy_from_slice(&10_000u32.to_be_bytes());
        let crc = crc32fast::hash(&claims[12..29]);
        claims[29..33].copy_from_slice(&crc.to_be_bytes());
        let err = Embedder::new().image(&claims).unwrap_err();
        assert!(
            matches!(
                err,
                EmbedError::TooLarge {
                    width: 10_000,
                    height: 10_000
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("10000x10000"), "{err}");
        assert_eq!(pixels(&png(30, 20, |_, _| 0)).unwrap(), 600);
    }

    #[test]
    fn a_colour_image_stands_apart_from_its_gray_twin() {
        let e = Embedder::new();
        let pattern = |x: u32, y: u32| ((x * 4 + y * 2) % 256) as u8;
        let gray = e.image(&png(64, 64, pattern)).unwrap();
        let tinted = {
            let img = image::RgbImage::from_fn(64, 64, |x, y| {
                let v = pattern(x, y);
                image::Rgb([v.saturating_add(90), v / 2, v / 3])
            });
            let mut out = Vec::new();
            img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
                .unwrap();
            e.image(&out).unwrap()
        };
        let brighter = e
            .image(&png(64, 64, |x, y| pattern(x, y) / 2 + 40))
            .unwrap();
        assert!(
            cos(&gray, &brighter) > 0.99,
            "gray images keep their pattern's cosine"
        );
        assert!(
            cos(&gray, &tinted) < 0.8,
            "colour moves the vector: {}",
            cos(&gray, &tinted)
        );
    }
}
