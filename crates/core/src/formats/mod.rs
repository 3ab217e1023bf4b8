//! Files other tools read, and reading them back: the whole session as JSON
//! ([`session`]), embeddings as CSV ([`csv`]) and as NumPy `.npy` ([`npy`]), the
//! TensorBoard projector's TSV pair ([`projector`]), and the zero-shot results in the
//! layout of Microsoft's zero-shot notebook ([`zero_shot`]). [`export`] makes every
//! file the export panel offers, through [`pseudonym`] (keyed-hash pseudonyms for file
//! names, folders and DICOM UIDs) when the user keeps that option on.
//!
//! Everything here works on bytes and strings, never on files or the browser: the app
//! reads a file and hands its contents over, so every check an imported file goes
//! through (format, version, widths, finite values, row counts, columns) is tested
//! natively. All import failures share [`ImportError`], whose messages say what was
//! expected, because the app shows them to the user as they are.

pub mod csv;
pub mod export;
pub mod npy;
pub mod projector;
pub mod pseudonym;
pub mod session;
pub mod zero_shot;

/// Why an imported file could not be used; each says what was expected.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ImportError {
    #[error("not a NumPy .npy file, or a damaged one: {0}")]
    Npy(String),
    #[error("the .npy array has shape {0:?}; expected two dimensions, N × D (one row per image)")]
    NpyShape(Vec<u64>),
    #[error("the .npy array holds {0}; expected float32 or float64 numbers")]
    NpyType(String),
    #[error("the .npy file declares {rows} × {columns} numbers but holds only {bytes} bytes; it is damaged or truncated")]
    NpyTooShort {
        rows: u64,
        columns: u64,
        bytes: usize,
    },
    #[error("the .npy header claims {claimed} bytes but the file holds only {bytes}; it is damaged or not a .npy file")]
    NpyHeaderTooLong { claimed: u64, bytes: usize },
    #[error("the .npy header nests brackets {depth} deep where a float array's nests {max} at most; it is damaged or not a .npy file", max = npy::MAX_HEADER_NESTING)]
    NpyHeaderNesting { depth: usize },
    #[error("the .npy rows have {0} values; MedImageInsight vectors have {dim}", dim = crate::EMBEDDING_DIM)]
    NpyWidth(usize),
    #[error("the metadata has {metadata} rows but the vectors {vectors}; they must describe the same items in the same order")]
    RowCount { metadata: usize, vectors: usize },
    #[error("the metadata file is empty; expected a header row (e.g. `name<TAB>label`) and one row per vector")]
    EmptyMetadata,
    #[error("the metadata has no `{column}` column, nor `file_name`, `filename`, `file` or `path` (its header is {header:?}); which column names the files?")]
    MissingColumn {
        column: &'static str,
        header: Vec<String>,
    },
    #[error("the file is not a session saved by this app: {0}")]
    Session(String),
    #[error("the session file is version {0}; this app reads version {1} and older")]
    SessionVersion(u32, u32),
    #[error("the vector of “{name}” has {width} values; MedImageInsight vectors have {dim}", dim = crate::EMBEDDING_DIM)]
    VectorWidth { name: String, width: usize },
    #[error("value {index} of the vector of “{name}” is not a finite number")]
    VectorNotFinite { name: String, index: usize },
}
