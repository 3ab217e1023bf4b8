//! The image pipeline compiled to wasm32 and run in headless Chromium: the same code the
//! app runs on users' files. The shared test images are embedded at compile time from
//! `../shared/testdata` (nothing is copied into the repository).
#![cfg(target_arch = "wasm32")]

use medinsight_core::pipeline::window::WindowKind;
use medinsight_core::pipeline::{prepare, DecodeError, PrepareError, PrepareOptions};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const RG3: &[u8] = include_bytes!("../../shared/testdata/dicom/RG3_UNCR.dcm");
const MR: &[u8] = include_bytes!("../../shared/testdata/dicom/MR_small.dcm");
const MR_J2K: &[u8] = include_bytes!("../../shared/testdata/dicom/MR_small_jp2klossless.dcm");
const MR_RLE: &[u8] = include_bytes!("../../shared/testdata/dicom/MR_small_RLE.dcm");
const SC_JPEG: &[u8] = include_bytes!("../../shared/testdata/dicom/SC_rgb_jpeg_dcmtk.dcm");
const FUNDUS: &[u8] = include_bytes!("../../shared/testdata/fundus_retina.png");

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

#[wasm_bindgen_test]
fn full_size_cr_prepares_in_the_browser() {
    let start = now_ms();
    let p = prepare(RG3, PrepareOptions::default()).expect("RG3 prepares");
    let elapsed = now_ms() - start;
    console_log!(
        "RG3_UNCR.dcm (6 MB, 1760²) → {} bytes of PNG in {elapsed:.0} ms in the browser",
        p.png.len()
    );
    assert_eq!(p.pixels.len(), 512 * 512);
    // By default, Microsoft's client's rendering: percentiles, the stored window ignored.
    assert_eq!(p.window.kind, WindowKind::Percentile);
    assert!(p.window.inverted);
    assert!(
        p.png.len() * 20 < RG3.len(),
        "≤ 5 % of the original on the wire"
    );
    let back = image::load_from_memory(&p.png).unwrap();
    assert_eq!((back.width(), back.height()), (512, 512));
}

#[wasm_bindgen_test]
fn compressed_dicom_decodes_identically_in_wasm() {
    let reference = prepare(MR, PrepareOptions::default()).unwrap();
    for (name, bytes) in [("JPEG 2000", MR_J2K), ("RLE", MR_RLE)] {
        let p = prepare(bytes, PrepareOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(p.png, reference.png, "{name}");
    }
    let colour = prepare(SC_JPEG, PrepareOptions::default()).unwrap();
    assert_eq!(colour.channels, 3);
    assert_eq!(
        prepare(FUNDUS, PrepareOptions::default()).unwrap().channels,
        3
    );
}

#[wasm_bindgen_test]
fn bad_input_is_a_typed_error_in_wasm_too() {
    assert!(matches!(
        prepare(b"", PrepareOptions::default()),
        Err(PrepareError::Decode(DecodeError::Empty))
    ));
    let err = prepare(b"hello, not an image", PrepareOptions::default()).unwrap_err();
    assert!(err.to_string().contains("text file"), "{err}");
}
