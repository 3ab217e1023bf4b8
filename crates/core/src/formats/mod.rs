//! Files other tools read, and reading them back: embeddings as NumPy `.npy` (float32,
//! N × D, what `numpy.load` returns unchanged), the TensorBoard projector's TSV pair
//! (vectors without a header; metadata with one), and the zero-shot results in the
//! layout of Microsoft's zero-shot notebook (`file_name, zero_shot_pred,
//! ground_truth_label`).
//!
//! `.npy` is written and read with `npyz` (the format's header is a Python literal; a
//! hand-written writer is easy to get subtly wrong for numpy's padding rules).

pub mod session;

use session::csv_field;

/// Why an imported file could not be used; each says what was expected.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ImportError {
    #[error("not a NumPy .npy file, or a damaged one: {0}")]
    Npy(String),
    #[error("the .npy array has shape {0:?}; expected two dimensions, N × D (one row per image)")]
    NpyShape(Vec<u64>),
    #[error("the .npy array holds {0}; expected float32 or float64 numbers")]
    NpyType(String),
    #[error("the metadata has {metadata} rows but the vectors {vectors}; they must describe the same items in the same order")]
    RowCount { metadata: usize, vectors: usize },
    #[error("the metadata file is empty; expected a header row (e.g. `name<TAB>label`) and one row per vector")]
    EmptyMetadata,
    #[error("the file is not a session saved by this app: {0}")]
    Session(String),
    #[error("the session file is version {0}; this app reads version {1} and older")]
    SessionVersion(u32, u32),
}

/// `rows` (one length) as a float32 `.npy`, shape `rows.len() × dim`.
pub fn npy_f32(rows: &[impl AsRef<[f32]>]) -> Vec<u8> {
    use npyz::WriterBuilder;
    let dim = rows.first().map_or(0, |r| r.as_ref().len());
    let mut out = Vec::new();
    {
        let mut writer = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&[rows.len() as u64, dim as u64])
            .writer(&mut out)
            .begin_nd()
            .expect("writing to memory cannot fail");
        for r in rows {
            writer
                .extend(r.as_ref().iter().copied())
                .expect("writing to memory cannot fail");
        }
        writer.finish().expect("writing to memory cannot fail");
    }
    out
}

/// Reads an N × D `.npy` of float32 or float64 (C order) into rows.
pub fn read_npy(bytes: &[u8]) -> Result<Vec<Vec<f32>>, ImportError> {
    let npy = npyz::NpyFile::new(bytes).map_err(|e| ImportError::Npy(e.to_string()))?;
    let shape = npy.shape().to_vec();
    if shape.len() != 2 {
        return Err(ImportError::NpyShape(shape));
    }
    if npy.order() != npyz::Order::C {
        return Err(ImportError::Npy(
            "Fortran-ordered arrays are not read; save with numpy.ascontiguousarray first".into(),
        ));
    }
    let dtype = npy.dtype();
    let values: Vec<f32> = match &dtype {
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Float && t.size_field() == 4 => {
            npy.into_vec::<f32>()
                .map_err(|e| ImportError::Npy(e.to_string()))?
        }
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Float && t.size_field() == 8 => {
            npy.into_vec::<f64>()
                .map_err(|e| ImportError::Npy(e.to_string()))?
                .into_iter()
                .map(|v| v as f32)
                .collect()
        }
        other => return Err(ImportError::NpyType(other.descr())),
    };
    if shape[1] == 0 {
        return Err(ImportError::NpyShape(shape));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(ImportError::Npy(format!(
            "value {i} (row {}) is not a finite number",
            i / shape[1] as usize
        )));
    }
    Ok(values
        .chunks(shape[1] as usize)
        .map(<[f32]>::to_vec)
        .collect())
}

/// Makes a TSV field safe: tabs and line breaks become spaces.
fn tsv_field(text: &str) -> String {
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

/// Reads a metadata TSV with a header row: (header, rows).
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

/// One image's zero-shot result.
#[derive(Clone, Debug, PartialEq)]
pub struct ZeroShotRow {
    pub file_name: String,
    pub prediction: String,
    pub ground_truth: String,
}

/// The zero-shot notebook's results table.
pub fn zero_shot_csv(rows: &[ZeroShotRow]) -> String {
    let mut out = String::from("file_name,zero_shot_pred,ground_truth_label\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{}\n",
            csv_field(&r.file_name),
            csv_field(&r.prediction),
            csv_field(&r.ground_truth)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trips_and_has_numpys_header() {
        let rows = vec![vec![1.0f32, -2.5, 3.25], vec![0.0, 1e-7, f32::MAX]];
        let bytes = npy_f32(&rows);
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        let header = String::from_utf8_lossy(&bytes[10..bytes.len() - 24]);
        assert!(header.contains("'descr': '<f4'"), "{header}");
        assert!(header.contains("'shape': (2, 3"), "{header}");
        assert_eq!(
            (bytes.len() - 24) % 64,
            0,
            "numpy aligns the data to 64 bytes"
        );
        assert_eq!(read_npy(&bytes).unwrap(), rows);
    }

    #[test]
    fn bad_npy_files_are_explained() {
        assert!(matches!(read_npy(b"not numpy"), Err(ImportError::Npy(_))));
        let one_d = {
            use npyz::WriterBuilder;
            let mut out = Vec::new();
            let mut w = npyz::WriteOptions::<f32>::new()
                .default_dtype()
                .shape(&[3])
                .writer(&mut out)
                .begin_nd()
                .unwrap();
            w.extend([1.0f32, 2.0, 3.0]).unwrap();
            w.finish().unwrap();
            out
        };
        assert_eq!(read_npy(&one_d), Err(ImportError::NpyShape(vec![3])));
        let empty_rows = {
            use npyz::WriterBuilder;
            let mut out = Vec::new();
            let w = npyz::WriteOptions::<f32>::new()
                .default_dtype()
                .shape(&[1 << 40, 0])
                .writer(&mut out)
                .begin_nd()
                .unwrap();
            w.finish().unwrap();
            out
        };
        assert_eq!(
            read_npy(&empty_rows),
            Err(ImportError::NpyShape(vec![1 << 40, 0]))
        );
        let nan = npy_f32(&[vec![1.0f32, f32::NAN]]);
        assert!(
            matches!(read_npy(&nan), Err(ImportError::Npy(m)) if m.contains("value 1 (row 0)"))
        );
        let ints = {
            use npyz::WriterBuilder;
            let mut out = Vec::new();
            let mut w = npyz::WriteOptions::<i32>::new()
                .default_dtype()
                .shape(&[1, 2])
                .writer(&mut out)
                .begin_nd()
                .unwrap();
            w.extend([1, 2]).unwrap();
            w.finish().unwrap();
            out
        };
        assert!(matches!(read_npy(&ints), Err(ImportError::NpyType(t)) if t.contains("i4")));
    }

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
    fn zero_shot_csv_uses_the_notebooks_columns() {
        let csv = zero_shot_csv(&[ZeroShotRow {
            file_name: "a,1.png".into(),
            prediction: "x-ray chest Effusion".into(),
            ground_truth: "Effusion".into(),
        }]);
        assert_eq!(csv, "file_name,zero_shot_pred,ground_truth_label\n\"a,1.png\",x-ray chest Effusion,Effusion\n");
    }
}
