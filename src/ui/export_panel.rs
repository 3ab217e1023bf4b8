//! Downloads: the whole session as JSON (names, labels, vectors, scaling factor,
//! settings: everything but pixels) and the embeddings as CSV.

use leptos::prelude::*;
use medinsight_core::export::{embeddings_csv, SessionFile};

#[component]
pub fn ExportPanel(session: Callback<(), SessionFile>) -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let save = move |name: &str, text: String, mime: &str| {
        status.set(Some(
            match crate::browser::download(name, text.as_bytes(), mime) {
                Ok(()) => format!("Saved {name} ({} bytes).", text.len()),
                Err(e) => format!("Could not save {name}: {e}"),
            },
        ));
    };
    view! {
        <div class="export-panel">
            <p>"Exports hold names, ground-truth labels, prompts and vectors — never pixels."</p>
            <button class="export-json" on:click=move |_| save("medinsight-session.json", session.run(()).to_json(), "application/json")>
                "Session (JSON)"
            </button>
            <button class="export-csv" on:click=move |_| {
                let s = session.run(());
                save("medinsight-embeddings.csv", embeddings_csv(&s.images, &s.labels), "text/csv")
            }>
                "Embeddings (CSV)"
            </button>
            <p class="muted" role="status">{move || status.get()}</p>
        </div>
    }
}
