//! Bytes of any supported file → pixel values and what a user needs to know about them.
//!
//! Raster formats (PNG at any bit depth, JPEG, BMP, GIF's first frame, TIFF, WebP) go
//! through the `image` crate; DICOM through dicom-rs, with the modality LUT (rescale
//! slope/intercept) applied and the VOI window left to [`super::window`]. Alpha is
//! composited on black, the background of every medical display. Pixels that are
//! 8-bit gray or RGB stay bytes; anything deeper becomes `f32` so that windowing sees
//! the real values. Dimensions are checked against a pixel budget *before* pixel
//! memory is allocated, so a 40-byte file that claims 100 000² pixels is refused, not
//! obeyed. Every failure is a [`DecodeError`] whose message says what is wrong in terms
//! a user can act on; none panics.

use std::io::Cursor;

use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder, VoiLutOption};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};
use serde::{Deserialize, Serialize};

use super::codestream::{frame_header, Codec, FrameHeader};
use crate::error_chain;

/// Longest side accepted, in pixels.
pub const MAX_SIDE: u32 = 16_384;
/// Most samples (pixels × channels) of one frame accepted: 64 Mi, i.e. 256 MiB as f32.
pub const MAX_SAMPLES: u64 = 64 * 1024 * 1024;

/// Which frame of a multi-frame DICOM to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrameChoice {
    /// The first frame: what Microsoft's client sends (SimpleITK's first slice). The
    /// default, so that vectors compare with Microsoft's notebooks.
    #[default]
    First,
    /// The middle frame (index `frames / 2`): for a cine or a volume, the most typical.
    Middle,
    /// A 0-based frame index.
    Index(u32),
}

/// Pixel values, row-major, channels interleaved.
#[derive(Clone, Debug, PartialEq)]
pub enum Samples {
    U8(Vec<u8>),
    F32(Vec<f32>),
}

/// A decoded image, before windowing.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub width: u32,
    pub height: u32,
    /// 1 (gray) or 3 (RGB).
    pub channels: u8,
    pub samples: Samples,
    /// DICOM MONOCHROME1: low values are bright, invert after windowing.
    pub monochrome1: bool,
    /// The file's first Window Center/Width, in modality units.
    pub file_window: Option<(f64, f64)>,
    pub info: SourceInfo,
}

impl Source {
    /// Whether the pixels came from a DICOM file (Microsoft's client normalises every
    /// DICOM, 8-bit ones included).
    pub fn is_dicom(&self) -> bool {
        self.info.format == DICOM_FORMAT
    }
}

/// [`SourceInfo::format`] of a DICOM file.
pub const DICOM_FORMAT: &str = "DICOM";

/// What the user sees about the source file. Stays in the browser: none of it is sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// "DICOM", "PNG", "JPEG", …
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    /// Bits stored per sample.
    pub bits: u16,
    pub photometric: Option<String>,
    pub modality: Option<String>,
    pub body_part: Option<String>,
    pub transfer_syntax: Option<String>,
    pub frames: u32,
    /// 0-based index of the frame used.
    pub frame: u32,
    pub study_uid: Option<String>,
    pub series_uid: Option<String>,
}

/// Why a file could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("the file is empty (0 bytes)")]
    Empty,
    #[error(
        "not an image this tool reads ({hint}); expected PNG, JPEG, BMP, GIF, TIFF, WebP or DICOM"
    )]
    Unrecognised { hint: &'static str },
    #[error("the image is {width}×{height} pixels with {channels} channel(s), over the limit of {MAX_SIDE} pixels a side and {MAX_SAMPLES} samples; downsample it first")]
    TooLarge {
        width: u64,
        height: u64,
        channels: u64,
    },
    #[error("the {format} file is damaged or truncated: {message}")]
    Raster { format: String, message: String },
    #[error("the {format} file uses a variant this tool cannot read: {message}")]
    RasterUnsupported { format: String, message: String },
    #[error("the DICOM file is damaged or truncated: {0}")]
    Dicom(String),
    /// The structure check before dicom-rs reads the file refused it (a length past the
    /// end, a bad RLE segment table, …): the same words as [`DecodeError::Dicom`] for the
    /// user, and the typed reason for code.
    #[error("the DICOM file is damaged or truncated: {0}")]
    DicomStructure(#[from] super::dicom_guard::GuardError),
    #[error("the DICOM file has no pixel data (is it a report or a structured document?)")]
    DicomNoPixels,
    #[error("the DICOM transfer syntax {name} ({uid}) is not supported; convert the file to an uncompressed, RLE, JPEG or JPEG 2000 syntax first")]
    UnsupportedTransferSyntax { name: String, uid: String },
    #[error("the DICOM pixel data cannot be read: {0}")]
    DicomPixels(String),
    #[error("the DICOM pixels are a {bits}-bit lossy JPEG ({uid}), which this tool cannot decode; convert the file to an uncompressed or JPEG 2000 syntax first (e.g. dcmdjpeg or gdcmconv --raw)")]
    JpegPrecision { bits: u8, uid: String },
    #[error("frame {frame} does not exist: the file has {frames} frame(s), numbered from 0")]
    NoSuchFrame { frame: u32, frames: u32 },
    /// The pixel data's codestream holds another image than the data set declares:
    /// refused before decoding, because dicom-rs's JPEG and JPEG 2000 adapters index past
    /// their buffer when the codestream is the larger (a panic, fatal in wasm).
    #[error("the DICOM file contradicts itself: its {codec} pixel data is {found}, but its header declares {declared}; the file is damaged, or its header was edited without re-encoding the pixels")]
    CodestreamMismatch {
        codec: &'static str,
        found: FrameShape,
        declared: FrameShape,
    },
}

/// An image's size as a codestream or a data set states it, for
/// [`DecodeError::CodestreamMismatch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameShape {
    pub width: u32,
    pub height: u32,
    pub samples: u16,
    /// Bits per sample: the codestream's precision, the data set's Bits Allocated.
    pub bits: u16,
}

impl std::fmt::Display for FrameShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = if self.samples == 1 { "" } else { "s" };
        write!(
            f,
            "{}×{} pixels, {} sample{plural} of {} bits",
            self.width, self.height, self.samples, self.bits
        )
    }
}

/// Decodes `bytes`, whatever their format.
pub fn decode(bytes: &[u8], frame: FrameChoice) -> Result<Source, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        return decode_dicom(&bytes[128..], frame);
    }
    if bytes.starts_with(b"DICM") {
        return decode_dicom(bytes, frame);
    }
    match image::guess_format(bytes) {
        Ok(format) => decode_raster(bytes, format),
        Err(_) => match bare_dataset_syntax(bytes) {
            Some(uid) => decode_dicom(&with_file_meta(uid, bytes), frame),
            None => Err(DecodeError::Unrecognised {
                hint: content_hint(bytes),
            }),
        },
    }
}

/// The transfer syntax of a data set that starts directly with a group 0008 element, as
/// old ACR-NEMA files and some archives' exports do (no preamble, no `DICM`, no file
/// meta): explicit VR when a valid VR follows the first tag, else implicit (the
/// standard's default); big endian when the group reads 0008 that way. Implicit VR big
/// endian is no DICOM transfer syntax, and is not guessed.
fn bare_dataset_syntax(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() < 8 {
        return None;
    }
    let explicit = dicom_core::VR::from_binary([bytes[4], bytes[5]]).is_some();
    match (u16::from_le_bytes([bytes[0], bytes[1]]), explicit) {
        (0x0008, true) => Some("1.2.840.10008.1.2.1"),
        (0x0008, false) => Some("1.2.840.10008.1.2"),
        (0x0800, true) => Some("1.2.840.10008.1.2.2"),
        _ => None,
    }
}

/// `data_set` behind a `DICM` magic and the file-meta elements dicom-rs requires (the
/// group length, the transfer syntax), so a bare data set goes through the same guard and reader as
/// any file.
fn with_file_meta(transfer_syntax: &str, data_set: &[u8]) -> Vec<u8> {
    let mut uid = transfer_syntax.as_bytes().to_vec();
    if uid.len() % 2 == 1 {
        uid.push(0);
    }
    let mut out = Vec::with_capacity(data_set.len() + uid.len() + 24);
    out.extend_from_slice(b"DICM");
    out.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
    out.extend_from_slice(&(8 + uid.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
    out.extend_from_slice(&(uid.len() as u16).to_le_bytes());
    out.extend_from_slice(&uid);
    out.extend_from_slice(data_set);
    out
}

fn content_hint(bytes: &[u8]) -> &'static str {
    let head = &bytes[..bytes.len().min(512)];
    if head
        .iter()
        .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        "it looks like a text file"
    } else if bytes.len() < 132 {
        "it is too short to be an image"
    } else {
        "its first bytes match no known image format, and it has no DICOM preamble"
    }
}

fn check_budget(width: u64, height: u64, channels: u64) -> Result<(), DecodeError> {
    let side = u64::from(MAX_SIDE);
    if width > side || height > side || width * height * channels > MAX_SAMPLES {
        return Err(DecodeError::TooLarge {
            width,
            height,
            channels,
        });
    }
    Ok(())
}

fn format_name(format: ImageFormat) -> String {
    format!("{format:?}").to_uppercase()
}

/// Width, height and channels from a raster file's header, read without limits and
/// without decoding a pixel: only for the message of a refusal.
fn header_size(bytes: &[u8], format: ImageFormat) -> Option<(u64, u64, u64)> {
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format);
    reader.no_limits();
    let decoder = reader.into_decoder().ok()?;
    let (width, height) = decoder.dimensions();
    let channels = decoder.color_type().channel_count();
    Some((width.into(), height.into(), channels.into()))
}

fn decode_raster(bytes: &[u8], format: ImageFormat) -> Result<Source, DecodeError> {
    let name = format_name(format);
    let raster_error = |e: ImageError| match e {
        ImageError::Unsupported(u) => DecodeError::RasterUnsupported {
            format: name.clone(),
            message: u.to_string(),
        },
        other => DecodeError::Raster {
            format: name.clone(),
            message: other.to_string(),
        },
    };
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_SAMPLES * 4);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(|e| match e {
        // The decoder refused before telling its size: read the header alone (no pixel
        // memory) so the message gives the real dimensions.
        ImageError::Limits(_) => header_size(bytes, format).map_or(
            DecodeError::TooLarge {
                width: 0,
                height: 0,
                channels: 0,
            },
            |(width, height, channels)| DecodeError::TooLarge {
                width,
                height,
                channels,
            },
        ),
        other => raster_error(other),
    })?;
    let (width, height) = decoder.dimensions();
    let channels = u64::from(decoder.color_type().channel_count());
    check_budget(u64::from(width), u64::from(height), channels)?;
    let image = DynamicImage::from_decoder(decoder).map_err(raster_error)?;
    let bits = (image.color().bits_per_pixel() / u16::from(image.color().channel_count())).max(1);
    let (channels, samples) = raster_samples(image);
    let info = SourceInfo {
        format: name,
        width,
        height,
        channels,
        bits,
        frames: 1,
        ..SourceInfo::default()
    };
    Ok(Source {
        width,
        height,
        channels,
        samples,
        monochrome1: false,
        file_window: None,
        info,
    })
}

/// Channels and samples of a raster image: alpha composited on black, 8-bit kept as
/// bytes, deeper as f32, RGB whose channels are all equal reduced to gray.
fn raster_samples(image: DynamicImage) -> (u8, Samples) {
    use DynamicImage as D;
    match image {
        D::ImageLuma8(i) => (1, Samples::U8(i.into_raw())),
        D::ImageLumaA8(i) => (
            1,
            Samples::U8(i.pixels().map(|p| over_black_u8(p[0], p[1])).collect()),
        ),
        D::ImageRgb8(i) => rgb_or_gray(i.into_raw()),
        D::ImageRgba8(i) => rgb_or_gray(
            i.pixels()
                .flat_map(|p| [0, 1, 2].map(|c| over_black_u8(p[c], p[3])))
                .collect(),
        ),
        D::ImageLuma16(i) => (
            1,
            Samples::F32(i.into_raw().into_iter().map(f32::from).collect()),
        ),
        D::ImageLumaA16(i) => (
            1,
            Samples::F32(i.pixels().map(|p| over_black_f32(p[0], p[1])).collect()),
        ),
        D::ImageRgb16(i) => (
            3,
            Samples::F32(i.into_raw().into_iter().map(f32::from).collect()),
        ),
        D::ImageRgba16(i) => (
            3,
            Samples::F32(
                i.pixels()
                    .flat_map(|p| [0, 1, 2].map(|c| over_black_f32(p[c], p[3])))
                    .collect(),
            ),
        ),
        other => (3, Samples::F32(other.to_rgb32f().into_raw())),
    }
}

fn over_black_u8(v: u8, a: u8) -> u8 {
    ((u16::from(v) * u16::from(a) + 127) / 255) as u8
}

fn over_black_f32(v: u16, a: u16) -> f32 {
    f32::from(v) * f32::from(a) / 65535.0
}

fn rgb_or_gray(rgb: Vec<u8>) -> (u8, Samples) {
    if rgb.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]) {
        // Gray saved as RGB: one channel is a third of the bytes on the wire, same pixels.
        (1, Samples::U8(rgb.chunks_exact(3).map(|p| p[0]).collect()))
    } else {
        (3, Samples::U8(rgb))
    }
}

fn text(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Option<String> {
    let value = obj.element_opt(tag).ok()??.to_str().ok()?;
    let value = value.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!value.is_empty()).then(|| value.to_string())
}

fn number<T: std::str::FromStr>(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Option<T> {
    let element = obj.element_opt(tag).ok()??;
    element
        .to_int::<i64>()
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .or_else(|| text(obj, tag)?.parse().ok())
}

fn first_float(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Option<f64> {
    let element = obj.element_opt(tag).ok()??;
    element
        .to_multi_float64()
        .ok()?
        .first()
        .copied()
        .filter(|v| v.is_finite())
}

fn decode_dicom(bytes: &[u8], choice: FrameChoice) -> Result<Source, DecodeError> {
    super::dicom_guard::check_lengths(bytes).map_err(DecodeError::DicomStructure)?;
    let obj = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .from_reader(Cursor::new(bytes))
        .map_err(|e| DecodeError::Dicom(error_chain(&e)))?;
    let uid = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches(['\0', ' '])
        .to_string();
    let ts =
        TransferSyntaxRegistry
            .get(&uid)
            .ok_or_else(|| DecodeError::UnsupportedTransferSyntax {
                name: "an unknown transfer syntax".into(),
                uid: uid.clone(),
            })?;
    if ts.is_unsupported_pixel_encapsulation() || !ts.can_decode_all() {
        return Err(DecodeError::UnsupportedTransferSyntax {
            name: ts.name().to_string(),
            uid,
        });
    }
    let Some(pixel_data) = obj.element_opt(tags::PIXEL_DATA).ok().flatten() else {
        return Err(DecodeError::DicomNoPixels);
    };
    // The frame header of each compressed frame (of each fragment that starts one).
    let headers: Vec<FrameHeader> = pixel_data
        .fragments()
        .map(|f| f.iter().filter_map(|f| frame_header(f)).collect())
        .unwrap_or_default();
    // The JPEG decoder dicom-rs uses reads 8-bit lossy JPEG only; 12-bit (JPEG Extended,
    // common in older CT) is named before it fails with "unsupported feature".
    if let Some(h) = headers
        .first()
        .filter(|h| h.codec == Codec::JpegLossy && h.precision > 8)
    {
        return Err(DecodeError::JpegPrecision {
            bits: h.precision,
            uid,
        });
    }
    let rows: u32 = number(&obj, tags::ROWS).unwrap_or(0);
    let columns: u32 = number(&obj, tags::COLUMNS).unwrap_or(0);
    let samples_per_pixel: u32 = number(&obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    check_budget(
        u64::from(columns),
        u64::from(rows),
        u64::from(samples_per_pixel),
    )?;
    if rows == 0 || columns == 0 {
        return Err(DecodeError::DicomPixels(format!(
            "it declares {columns}×{rows} pixels"
        )));
    }
    let declared = FrameShape {
        width: columns,
        height: rows,
        samples: u16::try_from(samples_per_pixel).unwrap_or(u16::MAX),
        bits: number(&obj, tags::BITS_ALLOCATED).unwrap_or(8),
    };
    check_codestreams(&headers, declared)?;
    let frames: u32 = number(&obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    let frame = match choice {
        FrameChoice::First => 0,
        FrameChoice::Middle => frames / 2,
        FrameChoice::Index(i) if i < frames => i,
        FrameChoice::Index(i) => return Err(DecodeError::NoSuchFrame { frame: i, frames }),
    };
    let photometric =
        text(&obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_else(|| "MONOCHROME2".into());
    let monochrome = photometric.starts_with("MONOCHROME");
    // Third-party decoders on hostile bytes: the guard above stops the failures fuzzing
    // found; should another decoder still panic, natively it becomes this file's error
    // instead of ending the whole batch. (In wasm a panic aborts; the app isolates
    // decoding in a worker for that reason.)
    let palette = photometric == "PALETTE COLOR";
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if palette {
            palette_samples(&obj, frame)
        } else {
            pixel_samples(&obj, frame, monochrome)
        }
    }))
    .unwrap_or_else(|_| {
        Err(DecodeError::DicomPixels(
            "the pixel data decoder failed on this file".into(),
        ))
    });
    let (channels, samples) = decoded?;
    let expected = columns as usize * rows as usize * usize::from(channels);
    let got = match &samples {
        Samples::U8(v) => v.len(),
        Samples::F32(v) => v.len(),
    };
    if got != expected {
        return Err(DecodeError::DicomPixels(format!(
            "{got} samples decoded for {columns}×{rows}×{channels}"
        )));
    }
    let file_window = match (
        monochrome,
        first_float(&obj, tags::WINDOW_CENTER),
        first_float(&obj, tags::WINDOW_WIDTH),
    ) {
        (true, Some(c), Some(w)) if w > 0.0 => Some((c, w)),
        _ => None,
    };
    let info = SourceInfo {
        format: DICOM_FORMAT.into(),
        width: columns,
        height: rows,
        channels,
        bits: number(&obj, tags::BITS_STORED).unwrap_or(8),
        photometric: Some(photometric.clone()),
        modality: text(&obj, tags::MODALITY),
        body_part: text(&obj, tags::BODY_PART_EXAMINED),
        transfer_syntax: Some(format!("{} ({uid})", ts.name())),
        frames,
        frame,
        study_uid: text(&obj, tags::STUDY_INSTANCE_UID),
        series_uid: text(&obj, tags::SERIES_INSTANCE_UID),
    };
    Ok(Source {
        width: columns,
        height: rows,
        channels,
        samples,
        monochrome1: photometric == "MONOCHROME1",
        file_window,
        info,
    })
}

/// The frame's samples: modality values as f32 for monochrome, 8-bit RGB otherwise.
fn pixel_samples(
    obj: &DefaultDicomObject,
    frame: u32,
    monochrome: bool,
) -> Result<(u8, Samples), DecodeError> {
    let pixels = obj
        .decode_pixel_data_frame(frame)
        .map_err(|e| DecodeError::DicomPixels(error_chain(&e)))?;
    Ok(if monochrome {
        let options = ConvertOptions::new()
            .with_modality_lut(ModalityLutOption::Default)
            .with_voi_lut(VoiLutOption::Identity);
        let values: Vec<f32> = pixels
            .to_vec_frame_with_options(0, &options)
            .map_err(|e| DecodeError::DicomPixels(error_chain(&e)))?;
        (1u8, Samples::F32(values))
    } else {
        let image = pixels
            .to_dynamic_image_with_options(0, &ConvertOptions::new().force_8bit())
            .map_err(|e| DecodeError::DicomPixels(error_chain(&e)))?;
        rgb_or_gray(image.to_rgb8().into_raw())
    })
}

/// Every codestream's frame header against what the data set declares: the same size
/// (a JPEG height of 0, given later by a DNL segment, matches any), as many components
/// as samples per pixel, and no more bits than are allocated. dicom-rs sizes its output
/// from the data set and its adapters index past it when the codestream is larger.
fn check_codestreams(headers: &[FrameHeader], declared: FrameShape) -> Result<(), DecodeError> {
    for h in headers {
        let found = FrameShape {
            width: h.width,
            height: h.height,
            samples: h.components,
            bits: h.precision.into(),
        };
        let height_matches =
            h.height == declared.height || (h.height == 0 && h.codec != Codec::Jpeg2000);
        if h.width != declared.width
            || !height_matches
            || h.components != declared.samples
            || found.bits > declared.bits
        {
            return Err(DecodeError::CodestreamMismatch {
                codec: h.codec.name(),
                found,
                declared,
            });
        }
    }
    Ok(())
}

/// A PALETTE COLOR frame through its red, green and blue lookup tables, as 8-bit RGB
/// (what GDCM, and so Microsoft's client through SimpleITK, and pydicom's
/// `apply_color_lut` make of it). Each table is a descriptor — entries (0 meaning
/// 65 536), the first index mapped, bits per entry — and its data; indices outside the
/// table take its first or last entry, as PS3.3 C.7.6.3.1.5 says. Segmented tables are
/// refused by name.
fn palette_samples(obj: &DefaultDicomObject, frame: u32) -> Result<(u8, Samples), DecodeError> {
    let lut = |descriptor, data, colour| palette_lut(obj, descriptor, data, colour);
    let red = lut(
        tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        "red",
    )?;
    let green = lut(
        tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        "green",
    )?;
    let blue = lut(
        tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        "blue",
    )?;
    let pixels = obj
        .decode_pixel_data_frame(frame)
        .map_err(|e| DecodeError::DicomPixels(error_chain(&e)))?;
    let options = ConvertOptions::new()
        .with_modality_lut(ModalityLutOption::None)
        .with_voi_lut(VoiLutOption::Identity);
    let indices: Vec<i64> = pixels
        .to_vec_frame_with_options::<f32>(0, &options)
        .map_err(|e| DecodeError::DicomPixels(error_chain(&e)))?
        .into_iter()
        .map(|v| v as i64)
        .collect();
    let mut rgb = Vec::with_capacity(indices.len() * 3);
    for index in indices {
        rgb.extend([red.get(index), green.get(index), blue.get(index)]);
    }
    Ok(rgb_or_gray(rgb))
}

/// One colour's palette: 8-bit entries (16-bit ones keep their high byte) from `first`.
struct PaletteLut {
    first: i64,
    entries: Vec<u8>,
}

impl PaletteLut {
    fn get(&self, index: i64) -> u8 {
        let at = (index - self.first).clamp(0, self.entries.len() as i64 - 1);
        self.entries[at as usize]
    }
}

fn palette_lut(
    obj: &DefaultDicomObject,
    descriptor: dicom_core::Tag,
    data: dicom_core::Tag,
    colour: &str,
) -> Result<PaletteLut, DecodeError> {
    let refuse = |what: &str| DecodeError::DicomPixels(format!("its {colour} palette {what}"));
    let d: Vec<i64> = obj
        .element_opt(descriptor)
        .ok()
        .flatten()
        .and_then(|e| e.to_multi_int::<i64>().ok())
        .ok_or_else(|| {
            let segmented = tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA;
            if obj.element_opt(segmented).ok().flatten().is_some() {
                refuse("is segmented, which this tool does not read")
            } else {
                refuse("descriptor is missing")
            }
        })?;
    let [count, first, bits] = d[..] else {
        return Err(refuse("descriptor does not have three values"));
    };
    // The count and first index are US or SS by the pixel representation; 0 entries
    // means 65 536, and a negative count read as SS is its unsigned value.
    let count = match count.rem_euclid(65_536) {
        0 => 65_536,
        n => n as usize,
    };
    let element = obj
        .element_opt(data)
        .ok()
        .flatten()
        .ok_or_else(|| refuse("data is missing"))?;
    let words: Vec<u16> = element
        .to_multi_int::<u16>()
        .map_err(|_| refuse("data is not a table of numbers"))?;
    let entries: Vec<u8> = match bits {
        // 16-bit entries: the high byte is the 8-bit colour.
        16 => words.iter().map(|w| (w >> 8) as u8).collect(),
        // 8-bit entries, one per 16-bit word (values ≤ 255) or two per word.
        8 if words.len() >= count && words.iter().all(|&w| w <= 255) => {
            words.iter().map(|&w| w as u8).collect()
        }
        8 => words.iter().flat_map(|w| w.to_le_bytes()).collect(),
        other => {
            return Err(refuse(&format!(
                "has {other} bits per entry; expected 8 or 16"
            )))
        }
    };
    if entries.len() < count {
        return Err(refuse(&format!(
            "declares {count} entries but holds {}",
            entries.len()
        )));
    }
    Ok(PaletteLut {
        first,
        entries: entries[..count].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Vec::new();
        image.write_to(&mut Cursor::new(&mut out), format).unwrap();
        out
    }

    #[test]
    fn gray_rgb_and_16_bit_pngs() {
        let gray = image::GrayImage::from_fn(4, 2, |x, _| image::Luma([x as u8 * 60]));
        let s = decode(
            &encode(gray.into(), ImageFormat::Png),
            FrameChoice::default(),
        )
        .unwrap();
        assert_eq!(
            (s.channels, s.info.format.as_str(), s.info.bits),
            (1, "PNG", 8)
        );
        assert_eq!(
            s.samples,
            Samples::U8(vec![0, 60, 120, 180, 0, 60, 120, 180])
        );

        let deep = image::ImageBuffer::<image::Luma<u16>, _>::from_fn(2, 1, |x, _| {
            image::Luma([x as u16 * 4000 + 1000])
        });
        let s = decode(
            &encode(DynamicImage::ImageLuma16(deep), ImageFormat::Png),
            FrameChoice::default(),
        )
        .unwrap();
        assert_eq!(
            (s.info.bits, s.samples),
            (16, Samples::F32(vec![1000.0, 5000.0]))
        );

        let color = image::RgbImage::from_fn(2, 1, |x, _| image::Rgb([x as u8 * 100, 5, 9]));
        let s = decode(
            &encode(color.into(), ImageFormat::Png),
            FrameChoice::default(),
        )
        .unwrap();
        assert_eq!(
            (s.channels, s.samples),
            (3, Samples::U8(vec![0, 5, 9, 100, 5, 9]))
        );
    }

    #[test]
    fn alpha_is_composited_on_black_and_gray_rgb_becomes_gray() {
        let rgba = image::RgbaImage::from_fn(2, 1, |x, _| {
            image::Rgba([200, 200, 200, if x == 0 { 255 } else { 0 }])
        });
        let s = decode(
            &encode(rgba.into(), ImageFormat::Png),
            FrameChoice::default(),
        )
        .unwrap();
        assert_eq!((s.channels, s.samples), (1, Samples::U8(vec![200, 0])));
    }

    #[test]
    fn jpeg_and_bmp_decode() {
        let gray = image::RgbImage::from_fn(16, 16, |x, y| {
            image::Rgb([(x * 16) as u8, (y * 16) as u8, 128])
        });
        for format in [ImageFormat::Jpeg, ImageFormat::Bmp] {
            let s = decode(&encode(gray.clone().into(), format), FrameChoice::default()).unwrap();
            assert_eq!((s.width, s.height, s.channels), (16, 16, 3), "{format:?}");
        }
    }

    #[test]
    fn hostile_inputs_are_typed_errors() {
        assert_eq!(decode(b"", FrameChoice::default()), Err(DecodeError::Empty));
        let err = decode(b"patient,finding\n1,none\n", FrameChoice::default()).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Unrecognised {
                hint: "it looks like a text file"
            }
        );
        let random: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        assert!(matches!(
            decode(&random, FrameChoice::default()),
            Err(DecodeError::Unrecognised { .. })
        ));
        // A valid PNG cut in half.
        let png = encode(
            image::GrayImage::from_fn(64, 64, |x, y| image::Luma([(x ^ y) as u8])).into(),
            ImageFormat::Png,
        );
        assert!(matches!(
            decode(&png[..png.len() / 2], FrameChoice::default()),
            Err(DecodeError::Raster { .. })
        ));
    }

    #[test]
    fn a_tiny_png_claiming_huge_dimensions_is_refused_before_allocating() {
        let mut png = encode(image::GrayImage::new(1, 1).into(), ImageFormat::Png);
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32fast::hash(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(png.len() < 100);
        let err = decode(&png, FrameChoice::default()).unwrap_err();
        assert_eq!(
            err,
            DecodeError::TooLarge {
                width: 100_000,
                height: 100_000,
                channels: 1
            },
            "the message gives the real dimensions"
        );
        assert!(err
            .to_string()
            .starts_with("the image is 100000×100000 pixels with 1 channel(s)"));
    }
}
