//! What the core's integration tests share: a multi-frame DICOM made from a shared
//! single-frame one, so that frame choice is tested on a real file's header.
#![allow(dead_code)] // each test file uses its own share of these

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;

/// `single` (a 16-bit, one-frame DICOM file with its 128-byte preamble) with its pixel
/// data replaced by the frames `make(samples, columns)` returns, one `Vec` per frame.
/// The result keeps a preamble (pydicom wants one; our decoder takes both).
pub fn multi_frame(single: &[u8], make: impl Fn(&[u16], usize) -> Vec<Vec<u16>>) -> Vec<u8> {
    let mut obj = dicom_object::OpenFileOptions::new()
        .from_reader(&single[128..])
        .unwrap();
    let columns = usize::from(obj.element(tags::COLUMNS).unwrap().to_int::<u16>().unwrap());
    let original: Vec<u16> = obj
        .element(tags::PIXEL_DATA)
        .unwrap()
        .to_multi_int::<u16>()
        .unwrap();
    let frames = make(&original, columns);
    let count = frames.len().to_string();
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(frames.concat().into()),
    ));
    obj.put(DataElement::new(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        PrimitiveValue::from(count.as_str()),
    ));
    let mut multi = Vec::new();
    obj.write_all(&mut multi).unwrap();
    if multi.starts_with(b"DICM") {
        multi.splice(0..0, [0u8; 128]);
    }
    multi
}
