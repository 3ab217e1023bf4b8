//! What leaves the app as files: the whole session as JSON (to resume, share or compare)
//! and the embeddings as CSV (for a spreadsheet, R or pandas).
//!
//! The session file is versioned (`format`, `version`) so that a later app can read an
//! older file, and holds no pixels: names, ground-truth labels, prompts, vectors, the
//! scaling factor and the settings. CSV follows RFC 4180 (fields with a comma, quote or
//! line break are quoted) and writes floats in their shortest exact form.

use serde::{Deserialize, Serialize};

use crate::pipeline::{AppliedWindow, SourceInfo};
use crate::settings::Settings;

/// The `format` field of a session file.
pub const SESSION_FORMAT: &str = "medinsight-session";
/// The current session file version.
pub const SESSION_VERSION: u32 = 1;

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
}

/// Quotes a CSV field when it needs it.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Embeddings as CSV: `kind,name,ground_truth,d0…d{n-1}`, one row per embedded image,
/// then one per embedded label; items without a vector are left out.
pub fn embeddings_csv(images: &[SessionImage], labels: &[SessionLabel]) -> String {
    let dim = images
        .iter()
        .filter_map(|i| i.vector.as_ref())
        .chain(labels.iter().filter_map(|l| l.vector.as_ref()))
        .map(Vec::len)
        .max()
        .unwrap_or(crate::EMBEDDING_DIM);
    let mut out = String::from("kind,name,ground_truth");
    for d in 0..dim {
        out.push_str(&format!(",d{d}"));
    }
    out.push('\n');
    let rows = images
        .iter()
        .filter_map(|i| {
            Some((
                "image",
                i.name.as_str(),
                i.label.as_str(),
                i.vector.as_ref()?,
            ))
        })
        .chain(
            labels
                .iter()
                .filter_map(|l| Some(("text", l.text.as_str(), "", l.vector.as_ref()?))),
        );
    for (kind, name, label, vector) in rows {
        out.push_str(kind);
        out.push(',');
        out.push_str(&csv_field(name));
        out.push(',');
        out.push_str(&csv_field(label));
        for v in vector {
            out.push(',');
            out.push_str(&v.to_string());
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(name: &str, label: &str, vector: Option<Vec<f32>>) -> SessionImage {
        SessionImage {
            name: name.into(),
            path: format!("{label}/{name}"),
            label: label.into(),
            vector,
            ..Default::default()
        }
    }

    #[test]
    fn csv_has_a_header_and_one_row_per_vector_with_exact_floats() {
        let images = [
            image("a.png", "Atelectasis", Some(vec![0.5, -0.25, 1e-7])),
            image("not yet.png", "", None),
        ];
        let labels = [SessionLabel {
            text: "x-ray chest, \"AP\" view".into(),
            vector: Some(vec![0.1, 0.2, 0.3]),
        }];
        let csv = embeddings_csv(&images, &labels);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "kind,name,ground_truth,d0,d1,d2");
        assert_eq!(lines[1], "image,a.png,Atelectasis,0.5,-0.25,0.0000001");
        assert_eq!(
            lines[2],
            "text,\"x-ray chest, \"\"AP\"\" view\",,0.1,0.2,0.3"
        );
        assert_eq!(lines.len(), 3);
        let back: f32 = lines[1].rsplit(',').next().unwrap().parse().unwrap();
        assert_eq!(back, 1e-7);
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
}
