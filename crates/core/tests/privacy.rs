//! What a DICOM's patient module must never become: the pipeline reads a file carrying
//! a patient's name, ID and birth date, and neither what it keeps of the file (the
//! `SourceInfo` the app shows, saves in IndexedDB and exports), nor the PNG it sends,
//! nor the session JSON holds them. The file is made by the test with dicom-rs's object
//! API, so the values are known and nothing identifying is committed.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;
use medinsight_core::formats::export::{export_files, Export};
use medinsight_core::formats::pseudonym::{PseudonymKey, Pseudonymiser};
use medinsight_core::formats::session::{SessionFile, SessionImage};
use medinsight_core::pipeline::{prepare, PrepareOptions};
use medinsight_core::settings::Settings;

const PATIENT_NAME: &str = "Doe^Jane^Quincy";
const PATIENT_ID: &str = "PID-998877";
const BIRTH_DATE: &str = "19700101";
const STUDY: &str = "1.2.826.0.1.3680043.8.498.777001";
const SERIES: &str = "1.2.826.0.1.3680043.8.498.777002";

/// A 32×32 8-bit MONOCHROME2 CR image with a full patient module.
fn dicom_with_a_patient() -> Vec<u8> {
    let (rows, columns) = (32u16, 32u16);
    let pixels: Vec<u8> = (0..u32::from(rows) * u32::from(columns))
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    let text = |tag, vr, value: &str| DataElement::new(tag, vr, PrimitiveValue::from(value));
    let short = |tag, value: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(value));
    let obj = InMemDicomObject::from_element_iter([
        text(
            tags::SOP_CLASS_UID,
            VR::UI,
            uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE,
        ),
        text(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.8.498.777003",
        ),
        text(tags::PATIENT_NAME, VR::PN, PATIENT_NAME),
        text(tags::PATIENT_ID, VR::LO, PATIENT_ID),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, BIRTH_DATE),
        text(tags::STUDY_INSTANCE_UID, VR::UI, STUDY),
        text(tags::SERIES_INSTANCE_UID, VR::UI, SERIES),
        text(tags::MODALITY, VR::CS, "CR"),
        short(tags::SAMPLES_PER_PIXEL, 1),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        short(tags::ROWS, rows),
        short(tags::COLUMNS, columns),
        short(tags::BITS_ALLOCATED, 8),
        short(tags::BITS_STORED, 8),
        short(tags::HIGH_BIT, 7),
        short(tags::PIXEL_REPRESENTATION, 0),
        DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::from(pixels)),
    ]);
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .unwrap();
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).unwrap();
    // With the 128-byte preamble a file on disk has (dicom-rs writes it or not by
    // version).
    if bytes.starts_with(b"DICM") {
        bytes.splice(0..0, [0u8; 128]);
    }
    bytes
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The patient's values, and the parts of them a careless writer might keep (a name's
/// components, the ID without its prefix).
const PATIENT: [&str; 6] = [
    PATIENT_NAME,
    "Doe",
    "Quincy",
    PATIENT_ID,
    "998877",
    BIRTH_DATE,
];

#[test]
fn patient_name_id_and_birth_date_are_never_kept_nor_exported() {
    let bytes = dicom_with_a_patient();
    // The file does carry them: otherwise this test could not fail.
    for value in [PATIENT_NAME, PATIENT_ID, BIRTH_DATE] {
        assert!(holds(&bytes, value), "the test file lacks {value}");
    }
    let prepared = prepare(&bytes, PrepareOptions::default()).unwrap();
    // The header was read: what the app keeps of it is there.
    assert_eq!(prepared.source.study_uid.as_deref(), Some(STUDY));
    assert_eq!(prepared.source.modality.as_deref(), Some("CR"));

    let kept = serde_json::to_string(&prepared.source).unwrap();
    let shown = format!("{:?}", prepared.source);
    for value in PATIENT {
        assert!(
            !kept.contains(value),
            "the prepared metadata keeps {value}: {kept}"
        );
        assert!(
            !shown.contains(value),
            "the prepared metadata shows {value}"
        );
        assert!(!holds(&prepared.png, value), "the PNG holds {value}");
    }

    let image = SessionImage {
        name: "scan.dcm".into(),
        path: "scan.dcm".into(),
        label: "Normal".into(),
        vector: None,
        source: Some(prepared.source),
        window: Some(prepared.window),
    };
    let session = SessionFile::new(Settings::default(), None, vec![image], vec![]);
    let plain = export_files(Export::Session, || session.clone(), || None, None).unwrap();
    let p = Pseudonymiser::new(&PseudonymKey::from_bytes([9; 32]));
    let pseudonymised = export_files(Export::Session, || session, || None, Some(&p)).unwrap();
    for value in PATIENT {
        assert!(
            !holds(&plain[0].bytes, value),
            "the session JSON holds {value}"
        );
        assert!(!holds(&pseudonymised[0].bytes, value));
    }
    // Pseudonymised, the UIDs are gone too; as they are, they are kept.
    assert!(holds(&plain[0].bytes, STUDY) && holds(&plain[0].bytes, SERIES));
    assert!(!holds(&pseudonymised[0].bytes, STUDY) && !holds(&pseudonymised[0].bytes, SERIES));
}
