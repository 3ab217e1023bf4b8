//! Files in and out. Out: the session as JSON (names, labels, vectors, scaling factor,
//! settings: everything but pixels), embeddings as CSV and as NumPy `.npy` (float32,
//! N × 1024) with a metadata TSV, the TensorBoard projector's TSV pair, and the
//! zero-shot results in the layout of Microsoft's notebook. In: a session JSON (to
//! resume or compare) or an `.npy` with its metadata TSV.
//!
//! Every export goes through one option, on by default each time the panel opens:
//! pseudonymise file names, folders and study/series UIDs under the session's key
//! (`formats::pseudonym`). It is not remembered: forgetting to tick it again must not
//! leak names. A pseudonymised file imported back keeps its pseudonyms as its names.
//!
//! The panel only reads files and hands their contents to `medinsight_core::formats`,
//! which writes every format (`formats::export`) and checks every import (format,
//! version, widths, finite values, row counts, columns) natively tested; its errors are
//! shown as they are.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use medinsight_core::formats::export::{export_files, Export};
use medinsight_core::formats::pseudonym::{PseudonymKey, Pseudonymiser};
use medinsight_core::formats::session::{self, SessionFile, SessionImage};
use medinsight_core::formats::zero_shot::ZeroShotRow;

/// What the panel needs from the session.
#[derive(Clone, Copy)]
pub struct ExportSources {
    pub session: Callback<(), SessionFile>,
    pub zero_shot: Callback<(), Option<Vec<ZeroShotRow>>>,
    /// The session's pseudonym key (`None`: the browser gave no random numbers).
    pub pseudonym_key: Signal<Option<PseudonymKey>>,
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
    let pseudonymise = RwSignal::new(true);
    let export = move |kind: Export| {
        let pseudonymiser = match (
            pseudonymise.get_untracked(),
            sources.pseudonym_key.get_untracked(),
        ) {
            (false, _) => None,
            (true, Some(key)) => Some(Pseudonymiser::new(&key)),
            (true, None) => {
                status.set(Some("Nothing was exported: this browser gave no random numbers for the pseudonym key, so names cannot be pseudonymised. Untick the option to export them as they are.".into()));
                return;
            }
        };
        let files = export_files(
            kind,
            || sources.session.run(()),
            || sources.zero_shot.run(()),
            pseudonymiser.as_ref(),
        );
        match files {
            Ok(files) => files.iter().for_each(|f| save(f.name, &f.bytes, f.mime)),
            Err(e) => status.set(Some(e.to_string())),
        }
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
            <label class="pseudonymise">
                <input type="checkbox" class="export-pseudonymise"
                    prop:checked=move || pseudonymise.get()
                    on:change=move |e| pseudonymise.set(event_target_checked(&e)) />
                " Pseudonymise file names, folders and study/series UIDs"
            </label>
            <p class="muted pseudonymise-note">{move || if pseudonymise.get() {
                "Each name, folder and UID becomes a keyed hash (img-…, dir-…, uid-…), the same in every file of this session so rows still match, meaningless without this browser's key, which is never exported and which “Clear session” replaces. Labels and prompts are written as they are."
            } else {
                "Names, folders and UIDs are written as they are: they may identify patients."
            }}</p>
            <div class="buttons">
                <button class="export-json" on:click=move |_| export(Export::Session)>"Session (JSON)"</button>
                <button class="export-csv" on:click=move |_| export(Export::EmbeddingsCsv)>"Embeddings (CSV)"</button>
                <button class="export-npy" on:click=move |_| export(Export::Npy)>"Embeddings (.npy + metadata TSV)"</button>
                <button class="export-projector" on:click=move |_| export(Export::Projector)>"TensorBoard projector (TSV pair)"</button>
                <button class="export-zero-shot" on:click=move |_| export(Export::ZeroShot)>"Zero-shot results (CSV)"</button>
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
