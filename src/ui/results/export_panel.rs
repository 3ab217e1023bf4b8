//! Files in and out. Out: the session as JSON (names, labels, vectors, scaling factor,
//! settings: everything but pixels), embeddings as CSV and as NumPy `.npy` (float32,
//! N × 1024) with a metadata TSV, the TensorBoard projector's TSV pair, and the
//! zero-shot results in the layout of Microsoft's notebook. In: a session JSON (to
//! resume or compare) or an `.npy` with its metadata TSV.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use medinsight_core::formats::session::{
    embeddings_csv, SessionFile, SessionImage, SESSION_FORMAT, SESSION_VERSION,
};
use medinsight_core::formats::{
    npy_f32, projector_metadata, projector_vectors, read_metadata, read_npy, zero_shot_csv,
    ImportError, ZeroShotRow,
};

/// What the panel needs from the session.
#[derive(Clone, Copy)]
pub struct ExportSources {
    pub session: Callback<(), SessionFile>,
    pub zero_shot: Callback<(), Option<Vec<ZeroShotRow>>>,
    pub import_session: Callback<SessionFile>,
    pub import_vectors: Callback<Vec<SessionImage>, usize>,
}

/// The embedded images' vectors and their metadata rows (name, label, path).
fn embedded_rows(s: &SessionFile) -> (Vec<Vec<f32>>, Vec<Vec<String>>) {
    s.images
        .iter()
        .filter_map(|i| {
            Some((
                i.vector.clone()?,
                vec![i.name.clone(), i.label.clone(), i.path.clone()],
            ))
        })
        .unzip()
}

fn parse_session(text: &str) -> Result<SessionFile, ImportError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ImportError::Session(e.to_string()))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(SESSION_FORMAT) {
        return Err(ImportError::Session(format!(
            "its \"format\" is not \"{SESSION_FORMAT}\""
        )));
    }
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    if version > SESSION_VERSION {
        return Err(ImportError::SessionVersion(version, SESSION_VERSION));
    }
    let file: SessionFile =
        serde_json::from_value(value).map_err(|e| ImportError::Session(e.to_string()))?;
    // Every vector must be usable by the analyses: 1024 finite values.
    let vectors = file
        .images
        .iter()
        .map(|i| (&i.name, &i.vector))
        .chain(file.labels.iter().map(|l| (&l.text, &l.vector)));
    for (name, v) in vectors {
        if let Some(v) = v {
            if v.len() != medinsight_core::EMBEDDING_DIM || v.iter().any(|x| !x.is_finite()) {
                return Err(ImportError::Session(format!(
                    "the vector of “{name}” is not {} finite numbers",
                    medinsight_core::EMBEDDING_DIM
                )));
            }
        }
    }
    Ok(file)
}

/// Rows of an `.npy` with their metadata (header with a `name` column, optionally
/// `label` and `path`).
fn parse_vectors(npy: &[u8], tsv: &str) -> Result<Vec<SessionImage>, ImportError> {
    let vectors = read_npy(npy)?;
    if let Some(v) = vectors
        .first()
        .filter(|v| v.len() != medinsight_core::EMBEDDING_DIM)
    {
        return Err(ImportError::Npy(format!(
            "its rows have {} values; MedImageInsight vectors have {}",
            v.len(),
            medinsight_core::EMBEDDING_DIM
        )));
    }
    let (header, rows) = read_metadata(tsv)?;
    if rows.len() != vectors.len() {
        return Err(ImportError::RowCount {
            metadata: rows.len(),
            vectors: vectors.len(),
        });
    }
    let col = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (name, label, path) = (col("name").unwrap_or(0), col("label"), col("path"));
    Ok(vectors
        .into_iter()
        .zip(rows)
        .map(|(v, r)| {
            let get = |c: Option<usize>| c.and_then(|c| r.get(c).cloned()).unwrap_or_default();
            SessionImage {
                name: get(Some(name)),
                label: get(label),
                path: get(path),
                vector: Some(v),
                ..Default::default()
            }
        })
        .collect())
}

#[component]
pub fn ExportPanel(sources: ExportSources) -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let save = move |name: &str, bytes: &[u8], mime: &str| {
        status.set(Some(
            match crate::platform::blobs::download(name, bytes, mime) {
                Ok(()) => format!("Saved {name} ({} bytes).", bytes.len()),
                Err(e) => format!("Could not save {name}: {e}"),
            },
        ));
    };
    let session_input = NodeRef::<html::Input>::new();
    let npy_input = NodeRef::<html::Input>::new();
    let tsv_input = NodeRef::<html::Input>::new();
    let first_file =
        |r: NodeRef<html::Input>| r.get().and_then(|i| i.files()).and_then(|l| l.get(0));
    let import_session = move |_| {
        let Some(file) = first_file(session_input) else {
            return;
        };
        spawn_local(async move {
            let outcome = match crate::platform::files::read_bytes(&file).await {
                Ok(bytes) => {
                    parse_session(&String::from_utf8_lossy(&bytes)).map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            status.set(Some(match outcome {
                Ok(s) => {
                    let (n, l) = (s.images.len(), s.labels.len());
                    sources.import_session.run(s);
                    format!("Imported {n} images and {l} labels from {}.", file.name())
                }
                Err(e) => format!("{} was not imported: {e}", file.name()),
            }));
        });
    };
    let import_vectors = move |_| {
        let (Some(npy), Some(tsv)) = (first_file(npy_input), first_file(tsv_input)) else {
            status.set(Some(
                "Choose both the .npy file and its metadata .tsv.".into(),
            ));
            return;
        };
        spawn_local(async move {
            let outcome = async {
                let a = crate::platform::files::read_bytes(&npy)
                    .await
                    .map_err(|e| e.to_string())?;
                let b = crate::platform::files::read_bytes(&tsv)
                    .await
                    .map_err(|e| e.to_string())?;
                parse_vectors(&a, &String::from_utf8_lossy(&b)).map_err(|e| e.to_string())
            }
            .await;
            status.set(Some(match outcome {
                Ok(images) => format!(
                    "Imported {} vectors from {}.",
                    sources.import_vectors.run(images),
                    npy.name()
                ),
                Err(e) => format!("{} was not imported: {e}", npy.name()),
            }));
        });
    };
    view! {
        <div class="export-panel">
            <h3>"Export"</h3>
            <p class="muted">"Exports hold names, ground-truth labels, prompts and vectors — never pixels."</p>
            <div class="buttons">
                <button class="export-json" on:click=move |_| {
                    let json = sources.session.run(()).to_json();
                    save("medinsight-session.json", json.as_bytes(), "application/json")
                }>"Session (JSON)"</button>
                <button class="export-csv" on:click=move |_| {
                    let s = sources.session.run(());
                    save("medinsight-embeddings.csv", embeddings_csv(&s.images, &s.labels).as_bytes(), "text/csv")
                }>"Embeddings (CSV)"</button>
                <button class="export-npy" on:click=move |_| {
                    let (vectors, meta) = embedded_rows(&sources.session.run(()));
                    save("medinsight-embeddings.npy", &npy_f32(&vectors), "application/octet-stream");
                    save("medinsight-embeddings-metadata.tsv", projector_metadata(&["name", "label", "path"], &meta).as_bytes(), "text/tab-separated-values");
                }>"Embeddings (.npy + metadata TSV)"</button>
                <button class="export-projector" on:click=move |_| {
                    let (vectors, meta) = embedded_rows(&sources.session.run(()));
                    save("projector-vectors.tsv", projector_vectors(&vectors).as_bytes(), "text/tab-separated-values");
                    save("projector-metadata.tsv", projector_metadata(&["name", "label", "path"], &meta).as_bytes(), "text/tab-separated-values");
                }>"TensorBoard projector (TSV pair)"</button>
                <button class="export-zero-shot" on:click=move |_| match sources.zero_shot.run(()) {
                    Some(rows) => save("zero_shot_results.csv", zero_shot_csv(&rows).as_bytes(), "text/csv"),
                    None => status.set(Some("Zero-shot results need embedded labels and images first.".into())),
                }>"Zero-shot results (CSV)"</button>
            </div>
            <h3>"Import"</h3>
            <div class="import">
                <label>"A session (JSON) " <input type="file" accept=".json,application/json" class="import-session-file" node_ref=session_input /></label>
                <button class="import-session" on:click=import_session>"Import session"</button>
            </div>
            <div class="import">
                <label>"Vectors (.npy) " <input type="file" accept=".npy" class="import-npy-file" node_ref=npy_input /></label>
                <label>"Metadata (.tsv, header row) " <input type="file" accept=".tsv,.txt" class="import-tsv-file" node_ref=tsv_input /></label>
                <button class="import-vectors" on:click=import_vectors>"Import vectors"</button>
            </div>
            <p class="muted export-status" role="status">{move || status.get()}</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_checked_before_they_are_read() {
        assert!(
            matches!(parse_session("{}"), Err(ImportError::Session(m)) if m.contains("format"))
        );
        let future = format!("{{\"format\":\"{SESSION_FORMAT}\",\"version\":99}}");
        assert_eq!(
            parse_session(&future).unwrap_err(),
            ImportError::SessionVersion(99, SESSION_VERSION)
        );
        let file = SessionFile::new(Default::default(), Some(4.5), vec![], vec![]);
        assert_eq!(parse_session(&file.to_json()).unwrap(), file);
        let short = SessionFile::new(
            Default::default(),
            None,
            vec![SessionImage {
                name: "a.png".into(),
                vector: Some(vec![0.5; 3]),
                ..Default::default()
            }],
            vec![],
        );
        assert!(
            matches!(parse_session(&short.to_json()), Err(ImportError::Session(m)) if m.contains("a.png"))
        );
    }

    #[test]
    fn vectors_pair_with_their_metadata() {
        let (a, b) = (vec![0.5f32; 1024], vec![-0.25f32; 1024]);
        let npy = npy_f32(&[a, b.clone()]);
        let images = parse_vectors(&npy, "label\tname\nEdema\ta.png\n\tb.png\n").unwrap();
        assert_eq!(images[0].name, "a.png");
        assert_eq!(images[0].label, "Edema");
        assert_eq!(images[1].vector, Some(b));
        let narrow = npy_f32(&[vec![1.0f32, 0.0]]);
        assert!(
            matches!(parse_vectors(&narrow, "name\na\n"), Err(ImportError::Npy(m)) if m.contains("2 values"))
        );
        assert_eq!(
            parse_vectors(&npy, "name\na.png\n").unwrap_err(),
            ImportError::RowCount {
                metadata: 1,
                vectors: 2
            }
        );
    }
}
