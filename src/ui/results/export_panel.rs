//! Files in and out. Out: the session as JSON (names, labels, vectors, scaling factor,
//! settings: everything but pixels), embeddings as CSV and as NumPy `.npy` (float32,
//! N × 1024) with a metadata TSV, the TensorBoard projector's TSV pair, and the
//! zero-shot results in the layout of Microsoft's notebook. In: a session JSON (to
//! resume or compare) or an `.npy` with its metadata TSV.
//!
//! The panel only reads files and hands their contents to `medinsight_core::formats`,
//! which writes every format and checks every import (format, version, widths, finite
//! values, row counts, columns) natively tested; its errors are shown as they are.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use medinsight_core::formats::csv::embeddings_csv;
use medinsight_core::formats::npy::npy_f32;
use medinsight_core::formats::projector::{projector_metadata, projector_vectors};
use medinsight_core::formats::session::{self, SessionFile, SessionImage, METADATA_COLUMNS};
use medinsight_core::formats::zero_shot::{zero_shot_csv, ZeroShotRow};

/// What the panel needs from the session.
#[derive(Clone, Copy)]
pub struct ExportSources {
    pub session: Callback<(), SessionFile>,
    pub zero_shot: Callback<(), Option<Vec<ZeroShotRow>>>,
    pub import_session: Callback<SessionFile>,
    pub import_vectors: Callback<Vec<SessionImage>, usize>,
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
                    session::read(&String::from_utf8_lossy(&bytes)).map_err(|e| e.to_string())
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
                session::import_vectors(&a, &String::from_utf8_lossy(&b)).map_err(|e| e.to_string())
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
                    let (vectors, meta) = sources.session.run(()).embedded_rows();
                    save("medinsight-embeddings.npy", &npy_f32(&vectors), "application/octet-stream");
                    save("medinsight-embeddings-metadata.tsv", projector_metadata(&METADATA_COLUMNS, &meta).as_bytes(), "text/tab-separated-values");
                }>"Embeddings (.npy + metadata TSV)"</button>
                <button class="export-projector" on:click=move |_| {
                    let (vectors, meta) = sources.session.run(()).embedded_rows();
                    save("projector-vectors.tsv", projector_vectors(&vectors).as_bytes(), "text/tab-separated-values");
                    save("projector-metadata.tsv", projector_metadata(&METADATA_COLUMNS, &meta).as_bytes(), "text/tab-separated-values");
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
