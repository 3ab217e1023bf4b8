//! CSV for a spreadsheet, R or pandas: the embeddings table, and the one quoting rule
//! every CSV the app writes follows.
//!
//! Quoting follows RFC 4180 (a field with a comma, quote or line break is quoted, its
//! quotes doubled), and a text a spreadsheet would run as a formula is made text first;
//! floats are written in their shortest exact form, so that reading
//! the text back gives the very same f32.

use super::session::{SessionImage, SessionLabel};

/// A text as a CSV field: neutralised if a spreadsheet would run it, quoted when it
/// needs it.
pub fn csv_field(text: &str) -> String {
    // A name or label starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a
    // formula to a spreadsheet (CSV injection): as OWASP advises, a leading `'` makes it
    // text. File names and folder labels come from wherever the user's files came from.
    let text: std::borrow::Cow<'_, str> = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.into_owned()
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
        SessionImage::example(name, label, vector)
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
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain name.png"), "plain name.png");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\r"), "\"cr\r\"");
    }

    #[test]
    fn csv_fields_that_a_spreadsheet_would_run_are_neutralised() {
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-2+3"), "'-2+3");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("\tcmd"), "'\tcmd");
        assert_eq!(csv_field("\r=1"), "\"'\r=1\"");
        // Elsewhere in a field these characters are harmless.
        assert_eq!(csv_field("a-b=c@d.png"), "a-b=c@d.png");
    }
}
