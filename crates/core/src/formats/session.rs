//! The whole session as a file, to resume, share or compare; and the two ways of
//! reading one back: its JSON ([`read`]), or the `.npy` export with its metadata TSV
//! ([`import_vectors`]).
//!
//! The session file is versioned (`format`, `version`) so that a later app can read an
//! older file, and holds no pixels: names, ground-truth labels, prompts, vectors, the
//! scaling factor and the settings. Whatever is read back is checked before the app
//! sees it: every vector must be usable by every analysis as it is (1024 finite
//! values), so no view has to guard against a foreign file.

use serde::{Deserialize, Serialize};

use super::npy::read_npy;
use super::projector::read_metadata;
use super::ImportError;
use crate::pipeline::{AppliedWindow, SourceInfo};
use crate::settings::Settings;
use crate::EMBEDDING_DIM;

/// The `format` field of a session file.
pub const SESSION_FORMAT: &str = "medinsight-session";
/// The current session file version.
pub const SESSION_VERSION: u32 = 1;
/// The columns of the metadata TSV written beside the `.npy` export, in order. Reading
/// needs only `name`; `label` and `path` are taken when present.
pub const METADATA_COLUMNS: [&str; 3] = ["name", "label", "path"];

/// One image of a session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionImage {
    pub name: String,
    /// The path the file was loaded from, folders included (`Atelectasis/img1.png`).
    pub path: String,
    /// Ground truth, empty when unknown.
    pub label: String,
    pub vector: Option<Vec<f32>>,
    pub source: Option<SourceInfo>,
    pub window: Option<AppliedWindow>,
}

/// One text prompt of a session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionLabel {
    pub text: String,
    pub vector: Option<Vec<f32>>,
}

/// A whole session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionFile {
    pub format: String,
    pub version: u32,
    pub settings: Settings,
    /// The endpoint's `scaling_factor` (log-temperature), when one was received.
    pub scaling_factor: Option<f64>,
    pub images: Vec<SessionImage>,
    pub labels: Vec<SessionLabel>,
}

impl SessionFile {
    pub fn new(
        settings: Settings,
        scaling_factor: Option<f64>,
        images: Vec<SessionImage>,
        labels: Vec<SessionLabel>,
    ) -> Self {
        Self {
            format: SESSION_FORMAT.to_string(),
            version: SESSION_VERSION,
            settings,
            scaling_factor,
            images,
            labels,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a session always serialises")
    }

    /// The embedded images' vectors and their metadata rows in [`METADATA_COLUMNS`]
    /// order: what the `.npy` and projector exports write, and [`import_vectors`] reads.
    pub fn embedded_rows(&self) -> (Vec<Vec<f32>>, Vec<Vec<String>>) {
        self.images
            .iter()
            .filter_map(|i| {
                Some((
                    i.vector.clone()?,
                    vec![i.name.clone(), i.label.clone(), i.path.clone()],
                ))
            })
            .unzip()
    }
}

/// Reads a session file back, refusing what is not one of ours, what a later app
/// wrote, and any vector the analyses could not use.
///
/// `format` and `version` are looked at before the whole file is parsed, so that a
/// newer file is refused for being newer, not for a field this app does not know.
pub fn read(text: &str) -> Result<SessionFile, ImportError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ImportError::Session(e.to_string()))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(SESSION_FORMAT) {
        return Err(ImportError::Session(format!(
            "its \"format\" is not \"{SESSION_FORMAT}\""
        )));
    }
    // A missing version reads as 0 and is left to the parse below to refuse; one too
    // large for a u32 is certainly newer than this app.
    let version = value
        .get("version")
        .and_then(|v| v.as_u64())
        .map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX));
    if version > SESSION_VERSION {
        return Err(ImportError::SessionVersion(version, SESSION_VERSION));
    }
    let file: SessionFile =
        serde_json::from_value(value).map_err(|e| ImportError::Session(e.to_string()))?;
    let vectors = file
        .images
        .iter()
        .map(|i| (&i.name, &i.vector))
        .chain(file.labels.iter().map(|l| (&l.text, &l.vector)));
    for (name, vector) in vectors {
        if let Some(v) = vector {
            check_vector(name, v)?;
        }
    }
    Ok(file)
}

/// A vector every analysis can use: [`EMBEDDING_DIM`] finite values. JSON has no NaN,
/// but a number beyond f32's range (`1e39`) reads as infinity.
fn check_vector(name: &str, v: &[f32]) -> Result<(), ImportError> {
    if v.len() != EMBEDDING_DIM {
        return Err(ImportError::VectorWidth {
            name: name.to_string(),
            width: v.len(),
        });
    }
    match v.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(ImportError::VectorNotFinite {
            name: name.to_string(),
            index,
        }),
        None => Ok(()),
    }
}

/// Images from the `.npy` export and its metadata TSV: row `i` of the array is the
/// vector of metadata row `i`. The header must name the file: a `name` column, or one
/// of the spellings other tools use (`file_name`, as Microsoft's notebooks write it,
/// `filename`, `file`), or else a `path` whose last part is taken (any case); `label`
/// and `path` are taken when present, and a short row leaves its missing fields empty.
///
/// Requiring a named column rather than guessing the first: a TSV from elsewhere whose
/// first column is, say, a label would otherwise import silently under wrong names.
pub fn import_vectors(npy: &[u8], tsv: &str) -> Result<Vec<SessionImage>, ImportError> {
    let vectors = read_npy(npy)?;
    // `read_npy` gives rows of one width and finite values; the width must be the model's.
    if let Some(v) = vectors.first().filter(|v| v.len() != EMBEDDING_DIM) {
        return Err(ImportError::NpyWidth(v.len()));
    }
    let (header, rows) = read_metadata(tsv)?;
    let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (label, path) = (column(METADATA_COLUMNS[1]), column(METADATA_COLUMNS[2]));
    let name = [METADATA_COLUMNS[0], "file_name", "filename", "file"]
        .into_iter()
        .find_map(column);
    if name.is_none() && path.is_none() {
        return Err(ImportError::MissingColumn {
            column: METADATA_COLUMNS[0],
            header: header.clone(),
        });
    }
    if rows.len() != vectors.len() {
        return Err(ImportError::RowCount {
            metadata: rows.len(),
            vectors: vectors.len(),
        });
    }
    Ok(vectors
        .into_iter()
        .zip(rows)
        .map(|(v, r)| {
            let get = |c: Option<usize>| c.and_then(|c| r.get(c).cloned()).unwrap_or_default();
            let path = get(path);
            let name = match name {
                Some(_) => get(name),
                None => path
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            };
            SessionImage {
                name,
                label: get(label),
                path,
                vector: Some(v),
                ..Default::default()
            }
        })
        .collect())
}

#[cfg(test)]
impl SessionImage {
    /// An image in folder `label` (tests of every format use it).
    pub(crate) fn example(name: &str, label: &str, vector: Option<Vec<f32>>) -> Self {
        Self {
            name: name.into(),
            path: format!("{label}/{name}"),
            label: label.into(),
            vector,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::npy::npy_f32;
    use super::super::projector::projector_metadata;
    use super::*;

    fn image(name: &str, label: &str, vector: Option<Vec<f32>>) -> SessionImage {
        SessionImage::example(name, label, vector)
    }

    /// A unit-ish vector of the model's width whose first value is `first`.
    fn vector(first: f32) -> Vec<f32> {
        let mut v = vec![0.0; EMBEDDING_DIM];
        v[0] = first;
        v
    }

    #[test]
    fn session_round_trips_through_json() {
        let s = SessionFile::new(
            Settings::default(),
            Some(4.51),
            vec![image("a.png", "Effusion", Some(vec![1.0; 4]))],
            vec![SessionLabel {
                text: "x-ray chest Effusion".into(),
                vector: None,
            }],
        );
        let json = s.to_json();
        assert!(json.contains("\"format\": \"medinsight-session\""));
        let back: SessionFile = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn read_gives_back_what_was_written() {
        let s = SessionFile::new(
            Settings::default(),
            Some(4.516357),
            vec![
                image("a.png", "Effusion", Some(vector(0.5))),
                image("b.png", "", None),
            ],
            vec![SessionLabel {
                text: "x-ray chest Effusion".into(),
                vector: Some(vector(-0.25)),
            }],
        );
        assert_eq!(read(&s.to_json()), Ok(s));
        let empty = SessionFile::new(Settings::default(), None, vec![], vec![]);
        assert_eq!(read(&empty.to_json()), Ok(empty));
    }

    #[test]
    fn read_refuses_other_files_and_later_versions() {
        assert!(matches!(read("not json"), Err(ImportError::Session(_))));
        assert!(matches!(read("{}"), Err(ImportError::Session(m)) if m.contains("format")));
        assert!(matches!(
            read(r#"{"format":"tensorboard","version":1}"#),
            Err(ImportError::Session(m)) if m.contains("format")
        ));
        let future = format!("{{\"format\":\"{SESSION_FORMAT}\",\"version\":99}}");
        assert_eq!(read(&future), Err(ImportError::SessionVersion(99, 1)));
        // 2^32 + 1 must not wrap to version 1.
        let wrapped = format!("{{\"format\":\"{SESSION_FORMAT}\",\"version\":4294967297}}");
        assert_eq!(
            read(&wrapped),
            Err(ImportError::SessionVersion(u32::MAX, 1))
        );
        // Right format and version, but no images, labels or settings.
        let hollow = format!("{{\"format\":\"{SESSION_FORMAT}\",\"version\":1}}");
        assert!(matches!(read(&hollow), Err(ImportError::Session(_))));
    }

    #[test]
    fn read_refuses_vectors_of_the_wrong_width() {
        let short = SessionFile::new(
            Settings::default(),
            None,
            vec![image("a.png", "", Some(vec![0.5; 3]))],
            vec![],
        );
        assert_eq!(
            read(&short.to_json()),
            Err(ImportError::VectorWidth {
                name: "a.png".into(),
                width: 3
            })
        );
        let long_label = SessionFile::new(
            Settings::default(),
            None,
            vec![],
            vec![SessionLabel {
                text: "x-ray".into(),
                vector: Some(vec![0.0; 1025]),
            }],
        );
        assert_eq!(
            read(&long_label.to_json()),
            Err(ImportError::VectorWidth {
                name: "x-ray".into(),
                width: 1025
            })
        );
    }

    #[test]
    fn read_refuses_values_beyond_f32() {
        // JSON cannot write NaN; 1e39 is the way a non-finite f32 gets into a file.
        let s = SessionFile::new(
            Settings::default(),
            None,
            vec![image("a.png", "", Some(vector(0.5)))],
            vec![],
        );
        let mut value: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        value["images"][0]["vector"][7] = serde_json::json!(1e39);
        assert_eq!(
            read(&value.to_string()),
            Err(ImportError::VectorNotFinite {
                name: "a.png".into(),
                index: 7
            })
        );
    }

    #[test]
    fn npy_and_metadata_round_trip_to_the_same_images() {
        let s = SessionFile::new(
            Settings::default(),
            None,
            vec![
                image("a.png", "Edema", Some(vector(0.5))),
                image("not embedded.png", "Edema", None),
                image("b\tc.png", "", Some(vector(-0.25))),
            ],
            vec![],
        );
        let (vectors, meta) = s.embedded_rows();
        assert_eq!(vectors.len(), 2);
        let npy = npy_f32(&vectors);
        let tsv = projector_metadata(&METADATA_COLUMNS, &meta);
        let back = import_vectors(&npy, &tsv).unwrap();
        assert_eq!(
            back,
            vec![
                image("a.png", "Edema", Some(vector(0.5))),
                SessionImage {
                    // The TSV turns the tab into a space.
                    name: "b c.png".into(),
                    path: "/b c.png".into(),
                    ..image("", "", Some(vector(-0.25)))
                },
            ]
        );
    }

    #[test]
    fn metadata_columns_are_found_by_name_in_any_order_and_case() {
        let b = vector(-0.25);
        let npy = npy_f32(&[vector(0.5), b.clone()]);
        let images = import_vectors(&npy, "Label\tNAME\nEdema\ta.png\n\tb.png\n").unwrap();
        assert_eq!(images[0].name, "a.png");
        assert_eq!(images[0].label, "Edema");
        assert_eq!(images[0].path, "");
        assert_eq!(images[1].name, "b.png");
        assert_eq!(images[1].label, "");
        assert_eq!(images[1].vector, Some(b));
    }

    #[test]
    fn import_vectors_refuses_what_does_not_match() {
        let npy = npy_f32(&[vector(0.5), vector(-0.25)]);
        // Wrong width.
        let narrow = npy_f32(&[vec![1.0f32, 0.0]]);
        assert_eq!(
            import_vectors(&narrow, "name\na\n"),
            Err(ImportError::NpyWidth(2))
        );
        // A NaN anywhere.
        let mut nan = vector(0.5);
        nan[1023] = f32::NAN;
        assert!(matches!(
            import_vectors(&npy_f32(&[nan]), "name\na\n"),
            Err(ImportError::Npy(m)) if m.contains("value 1023 (row 0)")
        ));
        // Rows that do not pair up.
        assert_eq!(
            import_vectors(&npy, "name\na.png\n"),
            Err(ImportError::RowCount {
                metadata: 1,
                vectors: 2
            })
        );
        // No column naming the file.
        assert_eq!(
            import_vectors(&npy, "label\tstudy\nEdema\tx\nEdema\ty\n"),
            Err(ImportError::MissingColumn {
                column: "name",
                header: vec!["label".into(), "study".into()]
            })
        );
        // Other tools' spellings, or the last part of a path.
        let named =
            import_vectors(&npy, "Label\tFile_Name\nEdema\ta.png\nNormal\tb.png\n").unwrap();
        assert_eq!(
            (named[1].name.as_str(), named[1].label.as_str()),
            ("b.png", "Normal")
        );
        let pathed = import_vectors(&npy, "path\nEdema/a.png\nc:\\x\\b.png\n").unwrap();
        assert_eq!(
            (pathed[0].name.as_str(), pathed[1].name.as_str()),
            ("a.png", "b.png")
        );
        // No metadata at all.
        assert_eq!(import_vectors(&npy, ""), Err(ImportError::EmptyMetadata));
        // Not an .npy.
        assert!(matches!(
            import_vectors(b"name\na\n", "name\na\n"),
            Err(ImportError::Npy(_))
        ));
    }

    #[test]
    fn import_vectors_refuses_a_huge_declared_shape() {
        use npyz::WriterBuilder;
        let mut huge = Vec::new();
        let w = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&[1 << 40, EMBEDDING_DIM as u64])
            .writer(&mut huge)
            .begin_nd()
            .unwrap();
        drop(w);
        assert!(matches!(
            import_vectors(&huge, "name\na\n"),
            Err(ImportError::NpyTooShort { rows, columns: 1024, .. }) if rows == 1 << 40
        ));
    }
}
