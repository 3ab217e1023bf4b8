//! The pipeline on the shared real test images (`../shared/testdata`): every file
//! decodes and prepares; DICOM values match expectations computed independently with
//! pydicom (fixtures/dicom_expectations.py → .json); every encoding of `MR_small` gives
//! the same pixels; the MONOCHROME1 CR comes out with bone bright; broken files fail
//! with typed errors, never a panic.

mod common;

use std::path::PathBuf;

use medinsight_core::pipeline::decode::{decode, DecodeError, FrameChoice, Samples};
use medinsight_core::pipeline::window::percentiles;
use medinsight_core::pipeline::window::WindowKind;
use medinsight_core::pipeline::{prepare, Fit, PrepareOptions, Windowing};
use serde_json::Value;

fn testdata() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata");
    assert!(
        dir.is_dir(),
        "the shared test images are missing: expected {} (the repo's ../shared/testdata)",
        dir.display()
    );
    dir
}

fn read(rel: &str) -> Vec<u8> {
    let path = testdata().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn expectations() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dicom_expectations.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f32s(samples: &Samples) -> Vec<f32> {
    match samples {
        Samples::U8(v) => v.iter().map(|&x| f32::from(x)).collect(),
        Samples::F32(v) => v.clone(),
    }
}

#[test]
fn every_png_prepares_to_512_square_8_bit() {
    let mut seen = 0;
    for entry in std::fs::read_dir(testdata()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("png") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let prepared = prepare(&bytes, PrepareOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let back = image::load_from_memory(&prepared.png).unwrap();
        assert_eq!(
            (back.width(), back.height()),
            (512, 512),
            "{}",
            path.display()
        );
        assert_eq!(
            back.color().bytes_per_pixel(),
            prepared.channels,
            "{}",
            path.display()
        );
        assert!(matches!(prepared.channels, 1 | 3));
        assert_eq!(
            prepared.pixels.len(),
            512 * 512 * prepared.channels as usize
        );
        assert_eq!(
            prepared.window.kind,
            WindowKind::AsIs,
            "8-bit files are kept as they are by default"
        );
        seen += 1;
    }
    assert_eq!(seen, 10, "the ten PNGs of the shared test data");
    // Colour stays colour, gray stays gray.
    assert_eq!(
        prepare(&read("fundus_retina.png"), PrepareOptions::default())
            .unwrap()
            .channels,
        3
    );
    assert_eq!(
        prepare(&read("xray_chest_pa.png"), PrepareOptions::default())
            .unwrap()
            .channels,
        1
    );
}

#[test]
fn dicom_values_match_pydicom() {
    let expected = expectations();
    for (name, e) in expected.as_object().unwrap() {
        let source = decode(&read(&format!("dicom/{name}")), FrameChoice::Middle)
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        let info = &source.info;
        assert_eq!(
            u64::from(info.height),
            e["rows"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            u64::from(info.width),
            e["columns"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            info.photometric.as_deref(),
            e["photometric"].as_str(),
            "{name}"
        );
        assert_eq!(
            u64::from(info.frames),
            e["frames"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            u64::from(info.bits),
            e["bits_stored"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(info.modality.as_deref(), e["modality"].as_str(), "{name}");
        let values = f32s(&source.samples);
        if let Some(means) = e["channel_means"].as_array() {
            assert_eq!(source.channels, 3, "{name}");
            for (c, m) in means.iter().enumerate() {
                let mean = values
                    .iter()
                    .skip(c)
                    .step_by(3)
                    .map(|&v| f64::from(v))
                    .sum::<f64>()
                    / (values.len() / 3) as f64;
                // JPEG decoders may differ by one level on some pixels.
                assert!(
                    (mean - m.as_f64().unwrap()).abs() < 1.0,
                    "{name} channel {c}: {mean} vs {m}"
                );
            }
            continue;
        }
        let width = info.width as usize;
        for probe in e["probes"].as_array().unwrap() {
            let (y, x, v) = (
                probe[0].as_u64().unwrap() as usize,
                probe[1].as_u64().unwrap() as usize,
                probe[2].as_f64().unwrap(),
            );
            assert_eq!(f64::from(values[y * width + x]), v, "{name} at ({y}, {x})");
        }
        let min = values.iter().copied().fold(f32::INFINITY, f32::min);
        let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64;
        assert_eq!(
            (f64::from(min), f64::from(max)),
            (e["min"].as_f64().unwrap(), e["max"].as_f64().unwrap()),
            "{name}"
        );
        assert!(
            (mean - e["mean"].as_f64().unwrap()).abs() < 1e-3,
            "{name}: mean {mean}"
        );
        let (p1, p99) = percentiles(&source.samples, 1.0, 99.0);
        assert!(
            (p1 - e["p1"].as_f64().unwrap()).abs() < 1e-6,
            "{name}: p1 {p1}"
        );
        assert!(
            (p99 - e["p99"].as_f64().unwrap()).abs() < 1e-6,
            "{name}: p99 {p99}"
        );
        let window = e["window"]
            .as_array()
            .map(|w| (w[0].as_f64().unwrap(), w[1].as_f64().unwrap()));
        assert_eq!(source.file_window, window, "{name}");
    }
}

#[test]
fn every_encoding_of_mr_small_gives_identical_pixels() {
    let reference = decode(&read("dicom/MR_small.dcm"), FrameChoice::default()).unwrap();
    for variant in [
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
    ] {
        let other = decode(&read(&format!("dicom/{variant}")), FrameChoice::default()).unwrap();
        assert_eq!(other.samples, reference.samples, "{variant}");
        let a = prepare(&read("dicom/MR_small.dcm"), PrepareOptions::default()).unwrap();
        let b = prepare(
            &read(&format!("dicom/{variant}")),
            PrepareOptions::default(),
        )
        .unwrap();
        assert_eq!(a.png, b.png, "{variant}: the bytes sent must be identical");
    }
}

#[test]
fn monochrome1_cr_has_bone_bright() {
    let bytes = read("dicom/RG3_UNCR.dcm");
    let source = decode(&bytes, FrameChoice::default()).unwrap();
    assert!(source.monochrome1);
    // By default the stored window is ignored, as Microsoft's client does…
    let prepared = prepare(&bytes, PrepareOptions::default()).unwrap();
    assert_eq!(prepared.window.kind, WindowKind::Percentile);
    assert!(prepared.window.inverted);
    // …and is one choice away.
    let stored = prepare(
        &bytes,
        PrepareOptions {
            window: Windowing::FromFile,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(stored.window.kind, WindowKind::File);
    assert!(stored.window.inverted);
    assert_eq!((stored.window.center, stored.window.width), (550.0, 1024.0));
    // Independent check: the shared xray_tibia.png was made from this file by another
    // tool (percentiles 0.5–99.5, inverted). Same window here → the same picture.
    let ours = prepare(
        &bytes,
        PrepareOptions {
            window: Windowing::Percentile {
                low: 0.5,
                high: 99.5,
            },
            ..Default::default()
        },
    )
    .unwrap();
    let theirs = prepare(
        &read("xray_tibia.png"),
        PrepareOptions {
            fit: Fit::Stretch,
            ..Default::default()
        },
    )
    .unwrap();
    let r = correlation(&ours.pixels, &theirs.pixels);
    assert!(r > 0.97, "correlation with the reference rendering is {r}");
    let not_inverted: Vec<u8> = ours.pixels.iter().map(|v| 255 - v).collect();
    assert!(correlation(&not_inverted, &theirs.pixels) < -0.97);
}

fn correlation(a: &[u8], b: &[u8]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (
        a.iter().map(|&x| f64::from(x)).sum::<f64>() / n,
        b.iter().map(|&x| f64::from(x)).sum::<f64>() / n,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (f64::from(x) - ma, f64::from(y) - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa * sbb).sqrt()
}

#[test]
fn ct_default_is_the_percentile_clip_and_manual_windows_apply() {
    let bytes = read("dicom/CT_small.dcm");
    let p = prepare(&bytes, PrepareOptions::default()).unwrap();
    assert_eq!(p.window.kind, WindowKind::Percentile);
    assert_eq!(p.source.modality.as_deref(), Some("CT"));
    let lung = prepare(
        &bytes,
        PrepareOptions {
            window: Windowing::Manual {
                center: -600.0,
                width: 1500.0,
            },
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(lung.window.kind, WindowKind::Manual);
    assert_ne!(lung.png, p.png);
}

#[test]
fn unsupported_transfer_syntax_is_named() {
    // The J2K file with its transfer syntax UID swapped for JPEG-LS lossless (same length).
    let mut bytes = read("dicom/MR_small_jp2klossless.dcm");
    let (from, to) = (b"1.2.840.10008.1.2.4.90", b"1.2.840.10008.1.2.4.80");
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the J2K transfer syntax UID");
    bytes[at..at + to.len()].copy_from_slice(to);
    let err = decode(&bytes, FrameChoice::default()).unwrap_err();
    assert!(
        matches!(&err, DecodeError::UnsupportedTransferSyntax { uid, .. } if uid == "1.2.840.10008.1.2.4.80"),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("JPEG-LS") && message.contains("1.2.840.10008.1.2.4.80"),
        "{message}"
    );
}

#[test]
fn twelve_bit_lossy_jpeg_is_named_before_the_decoder_fails() {
    // The 8-bit baseline JPEG file with its frame header's precision set to 12, as in
    // JPEG Extended files of older CT.
    let mut bytes = read("dicom/SC_rgb_jpeg_dcmtk.dcm");
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline start-of-frame");
    assert_eq!(bytes[sof + 4], 8);
    bytes[sof + 4] = 12;
    let err = decode(&bytes, FrameChoice::First).unwrap_err();
    assert!(
        matches!(err, DecodeError::JpegPrecision { bits: 12, .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("12-bit lossy JPEG") && message.contains("1.2.840.10008.1.2.4.50"),
        "{message}"
    );
    // The file as it is still decodes.
    assert!(decode(&read("dicom/SC_rgb_jpeg_dcmtk.dcm"), FrameChoice::First).is_ok());
}

#[test]
fn truncated_and_corrupted_dicom_fail_cleanly() {
    let whole = read("dicom/CT_small.dcm");
    for cut in [140, 400, whole.len() / 2, whole.len() - 100] {
        let result = decode(&whole[..cut], FrameChoice::default());
        assert!(result.is_err(), "cut at {cut} decoded");
    }
    // Flip bytes across the header; any outcome but a panic is acceptable, and an
    // accepted file must still have the declared number of samples. (Before the length
    // guard, some of these made dicom-rs zero-fill gigabytes for seconds each.)
    for i in (132..2000).step_by(7) {
        let mut bytes = whole.clone();
        bytes[i] ^= 0xA5;
        if let Ok(s) = decode(&bytes, FrameChoice::default()) {
            assert_eq!(
                f32s(&s.samples).len(),
                (s.width * s.height) as usize * s.channels as usize
            );
        }
    }
}

/// The data set of a DICOM file alone: preamble, `DICM` and the file meta group cut
/// off, as old ACR-NEMA files are stored.
fn bare_data_set(file: &[u8]) -> Vec<u8> {
    let mut pos = 132;
    // The file meta group is explicit VR little endian, with 2-byte lengths except for
    // OB, OW, OF, SQ, UT and UN.
    while u16::from_le_bytes([file[pos], file[pos + 1]]) == 0x0002 {
        let vr = &file[pos + 4..pos + 6];
        pos += if matches!(vr, b"OB" | b"OW" | b"OF" | b"SQ" | b"UT" | b"UN") {
            12 + u32::from_le_bytes(file[pos + 8..pos + 12].try_into().unwrap()) as usize
        } else {
            8 + usize::from(u16::from_le_bytes([file[pos + 6], file[pos + 7]]))
        };
    }
    file[pos..].to_vec()
}

#[test]
fn a_bare_data_set_without_preamble_or_meta_is_read_in_each_encoding() {
    let reference = decode(&read("dicom/MR_small.dcm"), FrameChoice::First).unwrap();
    for name in [
        "MR_small.dcm",
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
    ] {
        let bare = bare_data_set(&read(&format!("dicom/{name}")));
        let group = if name.contains("big") {
            [0x00, 0x08]
        } else {
            [0x08, 0x00]
        };
        assert_eq!(
            bare[..2],
            group,
            "{name}: the data set starts with group 0008"
        );
        let source = decode(&bare, FrameChoice::First)
            .unwrap_or_else(|e| panic!("{name} without its meta: {e}"));
        assert_eq!(f32s(&source.samples), f32s(&reference.samples), "{name}");
        assert_eq!(
            (source.width, source.height),
            (reference.width, reference.height)
        );
    }
    // Group 0008 in neither byte order: still not an image.
    let mut other = bare_data_set(&read("dicom/MR_small.dcm"));
    other[0] = 0x10;
    assert!(matches!(
        decode(&other, FrameChoice::First),
        Err(DecodeError::Unrecognised { .. })
    ));
}

/// MR_small (64×64, 16-bit) turned into a PALETTE COLOR image: index = column × 4,
/// red rising with the index, green falling, blue constant; 16-bit entries.
fn palette_image(first_mapped: u16) -> Vec<u8> {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    let single = read("dicom/MR_small.dcm");
    let mut obj = dicom_object::OpenFileOptions::new()
        .from_reader(&single[128..])
        .unwrap();
    let indices: Vec<u16> = (0..64 * 64).map(|i| (i % 64) as u16 * 4).collect();
    let put = |obj: &mut dicom_object::DefaultDicomObject, tag, vr, value| {
        obj.put(DataElement::new(tag, vr, value));
    };
    put(
        &mut obj,
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(indices.into()),
    );
    put(
        &mut obj,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        PrimitiveValue::from("PALETTE COLOR"),
    );
    put(
        &mut obj,
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0u16),
    );
    let descriptor = PrimitiveValue::U16([256, first_mapped, 16].as_slice().into());
    let red: Vec<u16> = (0..256u16).map(|i| i * 256).collect();
    let green: Vec<u16> = (0..256u16).map(|i| (255 - i) * 256).collect();
    let blue = vec![0x8000u16; 256];
    for (d, t, table) in [
        (
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            red,
        ),
        (
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            green,
        ),
        (
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            blue,
        ),
    ] {
        put(&mut obj, d, VR::US, descriptor.clone());
        put(&mut obj, t, VR::OW, PrimitiveValue::U16(table.into()));
    }
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    out
}

#[test]
fn palette_color_images_are_read_through_their_lookup_tables() {
    let source = decode(&palette_image(0), FrameChoice::First).unwrap();
    assert_eq!(source.channels, 3);
    let Samples::U8(rgb) = &source.samples else {
        panic!("palette images decode to 8-bit RGB");
    };
    // Column 10: index 40 → red 40, green 215, blue 128.
    assert_eq!(rgb[10 * 3..10 * 3 + 3], [40, 215, 128]);
    assert_eq!(rgb[63 * 3..63 * 3 + 3], [252, 3, 128]);
    // A table that starts at index 100: lower indices take its first entry.
    let shifted = decode(&palette_image(100), FrameChoice::First).unwrap();
    let Samples::U8(rgb) = &shifted.samples else {
        panic!()
    };
    assert_eq!(rgb[0..3], [0, 255, 128], "index 0 < first mapped 100");
    assert_eq!(
        rgb[30 * 3..30 * 3 + 3],
        [20, 235, 128],
        "index 120 → entry 20"
    );
    // And it prepares like any colour image.
    let prepared = prepare(&palette_image(0), PrepareOptions::default()).unwrap();
    assert_eq!(prepared.channels, 3);
}

#[test]
fn frame_out_of_range_is_explained() {
    let err = decode(&read("dicom/CT_small.dcm"), FrameChoice::Index(3)).unwrap_err();
    assert_eq!(
        err,
        DecodeError::NoSuchFrame {
            frame: 3,
            frames: 1
        }
    );
}

#[test]
fn rle_segment_that_unpacks_short_is_an_error_not_a_panic() {
    // Found by `cargo fuzz run decode` on a mutated MR_small_RLE: when a segment unpacks
    // to fewer bytes than the image has pixels, dicom-rs's RLE decoder indexed past its
    // buffer. Here segment 1 is made to start 6 bytes after segment 0.
    let mut bytes = read("dicom/MR_small_RLE.dcm");
    let header = [2u8, 0, 0, 0, 64, 0, 0, 0];
    let at = bytes
        .windows(8)
        .position(|w| w == header)
        .expect("the RLE header: 2 segments, the first at 64");
    bytes[at + 8..at + 12].copy_from_slice(&70u32.to_le_bytes());
    let Err(err) = decode(&bytes, FrameChoice::default()) else {
        panic!("a short RLE segment must not decode")
    };
    assert!(err.to_string().contains("segment 0 unpacks to"), "{err}");
}

#[test]
fn multi_frame_dicom_uses_the_chosen_frame() {
    // MR_small made into 3 frames: frame k holds the original values + 1000·k.
    let bytes = read("dicom/MR_small.dcm");
    let multi = common::multi_frame(&bytes, |original, _| {
        (0..3u16)
            .map(|k| original.iter().map(|v| v + 1000 * k).collect())
            .collect()
    });

    let single = f32s(&decode(&bytes, FrameChoice::First).unwrap().samples);
    for (choice, k) in [
        (FrameChoice::First, 0u32),
        (FrameChoice::Middle, 1),
        (FrameChoice::Index(2), 2),
    ] {
        let source = decode(&multi, choice).unwrap();
        assert_eq!(
            (source.info.frames, source.info.frame),
            (3, k),
            "{choice:?}"
        );
        let expected: Vec<f32> = single.iter().map(|v| v + 1000.0 * k as f32).collect();
        assert_eq!(
            f32s(&source.samples),
            expected,
            "{choice:?} must give frame {k}"
        );
    }
    assert_eq!(
        decode(&multi, FrameChoice::Index(3)).unwrap_err(),
        DecodeError::NoSuchFrame {
            frame: 3,
            frames: 3
        }
    );
}

/// `name` with its Rows and Columns set to `side`, the pixel data left as it is.
fn with_declared_side(name: &str, side: u16) -> Vec<u8> {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    let file = read(&format!("dicom/{name}"));
    let mut obj = dicom_object::OpenFileOptions::new()
        .from_reader(&file[128..])
        .unwrap();
    for tag in [tags::ROWS, tags::COLUMNS] {
        obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(side)));
    }
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    out
}

#[test]
fn a_codestream_larger_than_the_declared_image_is_refused_with_both_sizes() {
    // dicom-rs's JPEG and JPEG 2000 adapters index past their buffer on these (a panic
    // natively caught as "the decoder failed", in wasm the end of the worker).
    let cases = [
        (
            "SC_rgb_jpeg_dcmtk.dcm",
            10,
            "JPEG",
            "its JPEG pixel data is 100×100 pixels, 3 samples of 8 bits, but its header \
             declares 10×10 pixels, 3 samples of 8 bits",
        ),
        (
            "MR_small_jp2klossless.dcm",
            8,
            "JPEG 2000",
            "its JPEG 2000 pixel data is 64×64 pixels, 1 sample of 16 bits, but its header \
             declares 8×8 pixels, 1 sample of 16 bits",
        ),
    ];
    for (name, side, codec, words) in cases {
        let err = decode(&with_declared_side(name, side), FrameChoice::First).unwrap_err();
        assert!(
            matches!(&err, DecodeError::CodestreamMismatch { codec: c, .. } if *c == codec),
            "{name}: {err}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with("the DICOM file contradicts itself: ") && message.contains(words),
            "{name}: {message}"
        );
        // The untouched file, and the file rewritten at its true size, still decode.
        let whole = decode(&read(&format!("dicom/{name}")), FrameChoice::First).unwrap();
        let rewritten = with_declared_side(name, whole.width as u16);
        assert_eq!(
            decode(&rewritten, FrameChoice::First).unwrap().samples,
            whole.samples,
            "{name}"
        );
    }
}
