//! Every file the export panel offers, made in one place: the session JSON, the
//! embeddings CSV, the `.npy` with its metadata TSV, the TensorBoard projector's TSV
//! pair and the zero-shot CSV, each pseudonymised ([`super::pseudonym`]) when the user
//! asks, before any writer sees a name, path or UID.
//!
//! One function for all of them so that no writer can be left out of the option, and
//! so that the native tests can check what the browser would download: that nothing
//! identifying is in any file, and that the rows still match from file to file.

use super::csv::embeddings_csv;
use super::npy::npy_f32;
use super::projector::{projector_metadata, projector_vectors};
use super::pseudonym::Pseudonymiser;
use super::session::{SessionFile, METADATA_COLUMNS};
use super::zero_shot::{zero_shot_csv, ZeroShotRow};

/// What the user asked to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Export {
    /// `medinsight-session.json`.
    Session,
    /// `medinsight-embeddings.csv`.
    EmbeddingsCsv,
    /// `medinsight-embeddings.npy` and `medinsight-embeddings-metadata.tsv`.
    Npy,
    /// `projector-vectors.tsv` and `projector-metadata.tsv`.
    Projector,
    /// `zero_shot_results.csv`.
    ZeroShot,
}

impl Export {
    pub const ALL: [Export; 5] = [
        Export::Session,
        Export::EmbeddingsCsv,
        Export::Npy,
        Export::Projector,
        Export::ZeroShot,
    ];
}

/// One file to offer for download.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportFile {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub mime: &'static str,
}

/// Why an export could not be made.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ExportError {
    #[error("Zero-shot results need embedded labels and images first.")]
    NoZeroShot,
}

const TSV: &str = "text/tab-separated-values";

/// The files of `export`, through `pseudonymiser` when given. Its sources are asked for
/// only when needed (each is a copy of every vector): `session` for all but
/// [`Export::ZeroShot`], `zero_shot` (the rows, `None` when there are none) for it.
pub fn export_files(
    export: Export,
    session: impl FnOnce() -> SessionFile,
    zero_shot: impl FnOnce() -> Option<Vec<ZeroShotRow>>,
    pseudonymiser: Option<&Pseudonymiser>,
) -> Result<Vec<ExportFile>, ExportError> {
    let file = |name, bytes: Vec<u8>, mime| ExportFile { name, bytes, mime };
    let session = move || match pseudonymiser {
        Some(p) => p.session(session()),
        None => session(),
    };
    Ok(match export {
        Export::Session => vec![file(
            "medinsight-session.json",
            session().to_json().into_bytes(),
            "application/json",
        )],
        Export::EmbeddingsCsv => {
            let s = session();
            vec![file(
                "medinsight-embeddings.csv",
                embeddings_csv(&s.images, &s.labels).into_bytes(),
                "text/csv",
            )]
        }
        Export::Npy => {
            let (vectors, meta) = session().embedded_rows();
            vec![
                file(
                    "medinsight-embeddings.npy",
                    npy_f32(&vectors),
                    "application/octet-stream",
                ),
                file(
                    "medinsight-embeddings-metadata.tsv",
                    projector_metadata(&METADATA_COLUMNS, &meta).into_bytes(),
                    TSV,
                ),
            ]
        }
        Export::Projector => {
            let (vectors, meta) = session().embedded_rows();
            vec![
                file(
                    "projector-vectors.tsv",
                    projector_vectors(&vectors).into_bytes(),
                    TSV,
                ),
                file(
                    "projector-metadata.tsv",
                    projector_metadata(&METADATA_COLUMNS, &meta).into_bytes(),
                    TSV,
                ),
            ]
        }
        Export::ZeroShot => {
            let rows = zero_shot().ok_or(ExportError::NoZeroShot)?;
            let rows = match pseudonymiser {
                Some(p) => p.zero_shot(rows),
                None => rows,
            };
            vec![file(
                "zero_shot_results.csv",
                zero_shot_csv(&rows).into_bytes(),
                "text/csv",
            )]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::pseudonym::PseudonymKey;
    use super::super::session::{self, SessionImage, SessionLabel};
    use super::*;
    use crate::pipeline::SourceInfo;
    use crate::settings::Settings;
    use crate::EMBEDDING_DIM;

    const STUDY: &str = "1.2.826.0.1.3680043.8.498.4242";
    const SERIES: &str = "1.2.826.0.1.3680043.8.498.4243";

    /// Names, folders and UIDs that must not leave the browser, and the images that
    /// carry them (the last without a vector: it is in the JSON only).
    fn identifying() -> (Vec<&'static str>, SessionFile) {
        let secrets = vec![
            "Doe_Jane_PID998877",
            "Smith^John",
            "Ward 7 Doe",
            "Study 2024-03-01",
            STUDY,
            SERIES,
        ];
        let vector = |first: f32| {
            let mut v = vec![0.0; EMBEDDING_DIM];
            v[0] = first;
            Some(v)
        };
        let source = SourceInfo {
            format: "DICOM".into(),
            study_uid: Some(STUDY.into()),
            series_uid: Some(SERIES.into()),
            ..SourceInfo::default()
        };
        let images = vec![
            SessionImage {
                name: "Doe_Jane_PID998877.dcm".into(),
                path: "Ward 7 Doe/Study 2024-03-01/Effusion/Doe_Jane_PID998877.dcm".into(),
                label: "Effusion".into(),
                vector: vector(0.5),
                source: Some(source.clone()),
                window: None,
            },
            SessionImage {
                name: "Smith^John.png".into(),
                path: "Ward 7 Doe/Study 2024-03-01/Normal/Smith^John.png".into(),
                label: "Normal".into(),
                vector: vector(-0.5),
                source: Some(source),
                window: None,
            },
            SessionImage {
                name: "Smith^John (2).png".into(),
                path: "Ward 7 Doe/Smith^John (2).png".into(),
                ..SessionImage::default()
            },
        ];
        let labels = vec![SessionLabel {
            text: "x-ray chest Effusion".into(),
            vector: vector(0.25),
        }];
        (
            secrets,
            SessionFile::new(Settings::default(), Some(4.5), images, labels),
        )
    }

    fn zero_shot_rows(s: &SessionFile) -> Vec<ZeroShotRow> {
        s.images
            .iter()
            .filter(|i| i.vector.is_some())
            .map(|i| ZeroShotRow {
                file_name: i.name.clone(),
                prediction: "x-ray chest Effusion".into(),
                ground_truth: i.label.clone(),
            })
            .collect()
    }

    fn all_files(s: &SessionFile, p: Option<&Pseudonymiser>) -> Vec<ExportFile> {
        Export::ALL
            .into_iter()
            .flat_map(|e| export_files(e, || s.clone(), || Some(zero_shot_rows(s)), p).unwrap())
            .collect()
    }

    fn text(f: &ExportFile) -> String {
        String::from_utf8_lossy(&f.bytes).into_owned()
    }

    #[test]
    fn without_the_option_the_names_are_there_as_they_were() {
        let (secrets, s) = identifying();
        let files = all_files(&s, None);
        let json = text(&files[0]);
        for secret in &secrets {
            assert!(
                json.contains(secret),
                "{secret} missing from the plain JSON"
            );
        }
        assert_eq!(files.len(), 7);
    }

    #[test]
    fn pseudonymised_exports_hold_no_name_folder_or_uid() {
        let (secrets, s) = identifying();
        let p = Pseudonymiser::new(&PseudonymKey::from_bytes([42; 32]));
        for f in all_files(&s, Some(&p)) {
            let t = text(&f);
            for secret in &secrets {
                assert!(!t.contains(secret), "{} holds {secret}", f.name);
            }
            // Nor any part of one (the UIDs' common root, the names' pieces).
            for piece in ["Doe", "Smith", "PID998877", "2024", "3680043"] {
                assert!(!t.contains(piece), "{} holds {piece}", f.name);
            }
        }
    }

    #[test]
    fn rows_match_from_file_to_file_and_read_back() {
        let (_, s) = identifying();
        let p = Pseudonymiser::new(&PseudonymKey::from_bytes([7; 32]));
        let files = all_files(&s, Some(&p));
        let by_name = |n: &str| files.iter().find(|f| f.name == n).map(text).unwrap();
        let back = session::read(&by_name("medinsight-session.json")).unwrap();
        let names: Vec<&str> = back.images.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names[0], p.file_name("Doe_Jane_PID998877.dcm"));
        assert!(names[0].ends_with(".dcm"));
        // Same folders, same pseudonyms: the two images still share their study folder.
        let folder = |i: usize| back.images[i].path.rsplit_once('/').unwrap().0.to_string();
        assert_eq!(
            folder(0).rsplit_once('/').unwrap().0,
            folder(1).rsplit_once('/').unwrap().0
        );
        let uids = |i: usize| {
            let src = back.images[i].source.as_ref().unwrap();
            (
                src.study_uid.clone().unwrap(),
                src.series_uid.clone().unwrap(),
            )
        };
        assert_eq!(uids(0), uids(1));
        assert_eq!(uids(0), (p.uid(STUDY), p.uid(SERIES)));
        // Labels and prompts are the classes: as they were.
        assert_eq!(back.images[0].label, "Effusion");
        assert_eq!(back.labels[0].text, "x-ray chest Effusion");
        // Every table names the embedded images by the same pseudonyms, in order.
        let column = |file: &str, sep: char, col: usize| -> Vec<String> {
            by_name(file)
                .lines()
                .skip(1)
                .filter_map(|l| l.split(sep).nth(col).map(str::to_string))
                .collect()
        };
        let embedded = vec![names[0].to_string(), names[1].to_string()];
        assert_eq!(
            column("medinsight-embeddings.csv", ',', 1)[..2],
            embedded[..]
        );
        assert_eq!(column("zero_shot_results.csv", ',', 0), embedded);
        assert_eq!(
            column("medinsight-embeddings-metadata.tsv", '\t', 0),
            embedded
        );
        assert_eq!(column("projector-metadata.tsv", '\t', 0), embedded);
        let paths = column("projector-metadata.tsv", '\t', 2);
        assert_eq!(paths[0], back.images[0].path);
        // The .npy and its TSV import back under the same names.
        let npy = files
            .iter()
            .find(|f| f.name == "medinsight-embeddings.npy")
            .unwrap();
        let imported =
            session::import_vectors(&npy.bytes, &by_name("medinsight-embeddings-metadata.tsv"))
                .unwrap();
        assert_eq!(imported[1].name, names[1]);
        assert_eq!(imported[1].path, back.images[1].path);
    }

    #[test]
    fn a_pseudonymised_session_imported_and_exported_again_keeps_its_pseudonyms() {
        let (_, s) = identifying();
        let first = Pseudonymiser::new(&PseudonymKey::from_bytes([1; 32]));
        let json = text(&export_files(Export::Session, || s, || None, Some(&first)).unwrap()[0]);
        // A new session (another key) imports the file and exports it again.
        let again = Pseudonymiser::new(&PseudonymKey::from_bytes([2; 32]));
        let back = session::read(&json).unwrap();
        let json2 = text(
            &export_files(Export::Session, || back.clone(), || None, Some(&again)).unwrap()[0],
        );
        assert_eq!(session::read(&json2).unwrap(), back);
    }

    #[test]
    fn zero_shot_needs_rows() {
        let (_, s) = identifying();
        assert_eq!(
            export_files(Export::ZeroShot, || s, || None, None),
            Err(ExportError::NoZeroShot)
        );
    }
}
