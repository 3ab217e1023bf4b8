//! The TensorBoard projector's TSV pair: vectors (one row per vector, tab-separated, no
//! header) and metadata (a header row, then one row per vector), and reading metadata
//! back.
//!
//! The metadata layout is also what accompanies the app's `.npy` export, so that one
//! reader serves both. The projector splits on tabs and line breaks and knows no
//! quoting, so fields are made safe by replacing those with spaces rather than quoted.

use super::ImportError;

/// Makes a TSV field safe: tabs and line breaks become spaces.
pub fn tsv_field(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// The projector's vectors file: one row per vector, tab-separated, no header.
pub fn projector_vectors(rows: &[impl AsRef<[f32]>]) -> String {
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r.as_ref().iter().map(f32::to_string).collect();
        out.push_str(&line.join("\t"));
        out.push('\n');
    }
    out
}

/// The projector's metadata file: a header row, then one row per vector (the projector
/// needs the header whenever there is more than one column).
pub fn projector_metadata(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = header
        .iter()
        .map(|h| tsv_field(h))
        .collect::<Vec<_>>()
        .join("\t");
    out.push('\n');
    for r in rows {
        out.push_str(
            &r.iter()
                .map(|f| tsv_field(f))
                .collect::<Vec<_>>()
                .join("\t"),
        );
        out.push('\n');
    }
    out
}

/// Reads a metadata TSV with a header row: (header, rows). Blank lines are skipped and
/// fields trimmed: files edited by hand often end with an empty line.
pub fn read_metadata(text: &str) -> Result<(Vec<String>, Vec<Vec<String>>), ImportError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .ok_or(ImportError::EmptyMetadata)?
        .split('\t')
        .map(|h| h.trim().to_string())
        .collect();
    let rows = lines
        .map(|l| l.split('\t').map(|f| f.trim().to_string()).collect())
        .collect();
    Ok((header, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projector_files_have_the_layout_tensorboard_reads() {
        assert_eq!(
            projector_vectors(&[vec![0.5f32, -1.0], vec![2.0, 0.0]]),
            "0.5\t-1\n2\t0\n"
        );
        let meta = projector_metadata(
            &["name", "label"],
            &[vec!["a\tb.png".into(), "Edema".into()]],
        );
        assert_eq!(meta, "name\tlabel\na b.png\tEdema\n");
        let (h, rows) = read_metadata(&meta).unwrap();
        assert_eq!(h, vec!["name", "label"]);
        assert_eq!(rows, vec![vec!["a b.png".to_string(), "Edema".into()]]);
        assert_eq!(read_metadata("\n"), Err(ImportError::EmptyMetadata));
    }

    #[test]
    fn tsv_fields_lose_their_tabs_and_line_breaks() {
        assert_eq!(tsv_field("a\tb\r\nc"), "a b  c");
        assert_eq!(tsv_field("plain, \"quoted\""), "plain, \"quoted\"");
    }
}
