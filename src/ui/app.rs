//! The whole page: header (name, endpoint, theme), the emulator banner, then three
//! columns of work — load and inspect images; write labels and settings and run; see
//! the results in tabs (embeddings, similarity, zero-shot, export).
//!
//! `App` owns the session and hands each component only the handles it needs.

use leptos::ev;
use leptos::prelude::*;
use medinsight_core::formats::pseudonym::PseudonymKey;
use medinsight_core::pipeline::PrepareOptions;
use medinsight_core::settings::Settings;

use crate::persist::local::{use_persisted, PSEUDONYM_KEY};
use crate::platform::files::{from_file_list, Incoming};
use crate::platform::service_worker::{self, Registration, ServiceWorkerError};
use crate::state::Session;
use crate::ui::images::gallery::Gallery;
use crate::ui::images::image_inspector::{ApplyTo, ImageInspector};
use crate::ui::images::image_loader::ImageLoader;
use crate::ui::labels::label_editor::LabelEditor;
use crate::ui::labels::prompt_builder::PromptBuilder;
use crate::ui::results::classifier_view::ClassifierView;
use crate::ui::results::embeddings_table::EmbeddingsTable;
use crate::ui::results::export_panel::{ExportPanel, ExportSources};
use crate::ui::results::neighbours_view::{EmbedText, NeighboursView};
use crate::ui::results::outliers_view::OutliersView;
use crate::ui::results::pca_map::PcaMap;
use crate::ui::results::similarity_heatmap::SimilarityHeatmap;
use crate::ui::results::studies_view::StudiesView;
use crate::ui::results::zero_shot_view::ZeroShotView;
use crate::ui::run::run_panel::RunPanel;
use crate::ui::run::settings_panel::SettingsPanel;
use crate::ui::widgets::emulator_banner::EmulatorBanner;
use crate::ui::widgets::endpoint_status::EndpointStatus;
use crate::ui::widgets::theme_toggle::ThemeToggle;
use crate::ui::widgets::update_banner::UpdateBanner;
use crate::work::analyses::Analyst;
use crate::work::preparation::Preparer;
use crate::PRODUCT_NAME;

/// Where the settings are remembered.
const SETTINGS_KEY: &str = "medinsight.settings";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Embeddings,
    Similarity,
    ZeroShot,
    Neighbours,
    Outliers,
    Map,
    Classifier,
    Studies,
    Export,
}

impl Tab {
    const ALL: [Tab; 9] = [
        Tab::Embeddings,
        Tab::Similarity,
        Tab::ZeroShot,
        Tab::Neighbours,
        Tab::Outliers,
        Tab::Map,
        Tab::Classifier,
        Tab::Studies,
        Tab::Export,
    ];
    fn title(self) -> &'static str {
        match self {
            Tab::Embeddings => "Embeddings",
            Tab::Similarity => "Similarity",
            Tab::ZeroShot => "Zero-shot",
            Tab::Neighbours => "Neighbours",
            Tab::Outliers => "Outliers",
            Tab::Map => "Map",
            Tab::Classifier => "Classifier",
            Tab::Studies => "Studies",
            Tab::Export => "Export / import",
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    // Settings survive a reload.
    let settings = use_persisted::<Settings>(SETTINGS_KEY);
    // The export pseudonyms' key too: the same pseudonyms after a reload, until "Clear
    // session" replaces it.
    let pseudonym_key = use_persisted::<Option<PseudonymKey>>(PSEUDONYM_KEY);
    let session = Session::new(settings.value).with_pseudonym_key(pseudonym_key.value);
    let preparer = Preparer::new(session);
    let analyst = Analyst::new();
    let storage_error = settings.error;

    // Files that arrive while the saved session is being read wait for it: their ids
    // are given after the saved ones.
    let restored = RwSignal::new(false);
    let waiting = StoredValue::new_local(Vec::<Incoming>::new());
    let on_files = Callback::new(move |incoming: Vec<Incoming>| {
        if !restored.get_untracked() {
            waiting.update_value(|w| w.extend(incoming));
        } else if session.add_files(incoming) > 0 {
            preparer.kick();
        }
    });
    let _paste = window_event_listener(ev::paste, move |e| {
        if let Some(files) = e.clipboard_data().and_then(|d| d.files()) {
            if files.length() > 0 {
                e.prevent_default();
                on_files.run(from_file_list(&files));
            }
        }
    });

    let on_options = Callback::new(move |(id, options, to): (u64, PrepareOptions, ApplyTo)| {
        let targets: Vec<_> = match to {
            ApplyTo::All => session.images.with_untracked(|v| v.to_vec()),
            ApplyTo::Picked => session.selection.with_untracked(|s| {
                session
                    .images
                    .with_untracked(|v| s.ids().filter_map(|id| v.get(id)).collect())
            }),
            ApplyTo::This => session.image(id).into_iter().collect(),
        };
        for item in targets {
            session.set_options(item, options);
        }
        preparer.kick();
    });
    // The saved session comes back first; only then is the state followed into storage
    // (so an early edit cannot overwrite what is being read).
    let owner = Owner::current();
    leptos::task::spawn_local(async move {
        let restored_ids = session.restore().await;
        if let Some(owner) = &owner {
            owner.with(|| session.follow(restored_ids));
        }
        restored.set(true);
        let early = waiting.try_update_value(std::mem::take).unwrap_or_default();
        if !early.is_empty() {
            on_files.run(early);
        }
    });
    let on_clear_session = move |_| {
        let sure = web_sys::window()
            .and_then(|w| w.confirm_with_message("Clear the whole session — images, labels and vectors — from this page and this browser's storage? Later exports get new pseudonyms.").ok())
            .unwrap_or(false);
        if sure {
            session.clear_all();
        }
    };
    let (update_ready, on_update, offline_error) = offline_copy();
    let on_remove = Callback::new(move |id: u64| session.remove_image(id));
    let on_clear = Callback::new(move |()| session.clear_images());
    let on_add_labels = Callback::new(move |texts: Vec<String>| {
        for t in texts {
            session.add_label(t);
        }
    });
    let run = Action::new_local(move |_: &()| crate::work::run::run(session));
    let on_run = Callback::new(move |()| {
        if !session.progress.get_untracked().running {
            run.dispatch(());
        }
    });
    let on_cancel = Callback::new(move |()| {
        session.cancel.set(true);
        session.progress.update(|p| p.cancelling = p.running);
    });
    let embed_text: EmbedText =
        Action::new_local(move |text: &String| crate::work::run::embed_text(session, text.clone()));
    let selected_item =
        Signal::derive(move || session.selected.get().and_then(|id| session.image(id)));
    let tab = RwSignal::new(Tab::Embeddings);
    // Computed only while the gallery filters or sorts by prediction.
    let verdicts = Memo::new(move |_| session.verdicts().map(std::sync::Arc::new));
    let prompts = Signal::derive(move || {
        session
            .labels
            .with(|v| v.iter().map(|l| l.text.get()).collect::<Vec<_>>())
    });
    let export = ExportSources {
        session: Callback::new(move |()| session.to_file()),
        zero_shot: Callback::new(move |()| session.zero_shot_rows()),
        pseudonym_key: session.pseudonym_key.into(),
        import_session: Callback::new(move |file| session.import(file)),
        import_vectors: Callback::new(move |images| session.add_vectors(images)),
    };

    view! {
        <header class="app-header">
            <h1 class="product-name">{PRODUCT_NAME}</h1>
            <EndpointStatus />
            <button class="clear-session" on:click=on_clear_session>"Clear session"</button>
            <ThemeToggle />
        </header>
        <UpdateBanner ready=update_ready on_reload=on_update />
        <EmulatorBanner visible=session.emulator />
        {move || offline_error.get().map(|e| view! { <p class="notice warn offline-error" role="status">{e}</p> })}
        {move || storage_error.get().map(|e| view! { <p class="notice warn" role="status">{format!("Settings will not be remembered: {e}")}</p> })}
        {move || session.storage_error.get().map(|e| view! { <p class="notice warn storage-error" role="alert">{e}</p> })}
        <Show when=move || !restored.get()>
            <p class="notice" role="status">"Restoring the saved session…"</p>
        </Show>
        <main class="app-main">
            <section class="column images-column" aria-labelledby="images-heading">
                <h2 id="images-heading">"Images"</h2>
                <ImageLoader on_files=on_files />
                <Gallery
                    images=session.images
                    selected=session.selected
                    selection=session.selection
                    marked=session.marked
                    outlier_scores=session.outlier_scores
                    verdicts=verdicts
                    prompts=prompts
                    on_remove=on_remove
                    on_clear=on_clear
                    on_remove_many=Callback::new(move |ids| session.remove_images(&ids))
                    on_label_many=Callback::new(move |(ids, label): (_, String)| session.label_images(&ids, &label))
                />
                <ImageInspector
                    item=selected_item
                    picked=Signal::derive(move || session.selection.with(|s| s.len()))
                    on_options=on_options
                    pixels=session.pixels()
                />
            </section>
            <section class="column text-column" aria-labelledby="labels-heading">
                <h2 id="labels-heading">"Labels"</h2>
                <PromptBuilder on_add=on_add_labels />
                <LabelEditor
                    labels=session.labels
                    on_add=on_add_labels
                    on_move=Callback::new(move |(id, by)| session.move_label(id, by))
                    on_remove=Callback::new(move |id| session.remove_label(id))
                />
                <h2>"Run"</h2>
                <SettingsPanel settings=session.settings />
                <RunPanel progress=session.progress on_run=on_run on_cancel=on_cancel />
            </section>
            <section class="column results-column" aria-label="Results">
                <div class="tabs" role="tablist" aria-label="Results">
                    {Tab::ALL
                        .into_iter()
                        .map(|t| {
                            view! {
                                <button
                                    role="tab"
                                    class="tab"
                                    data-tab=t.title()
                                    aria-selected=move || (tab.get() == t).to_string()
                                    on:click=move |_| tab.set(t)
                                >
                                    {t.title()}
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
                <div class="tab-panel" role="tabpanel">
                    {move || match tab.get() {
                        Tab::Embeddings => {
                            view! { <EmbeddingsTable images=session.images labels=session.labels /> }
                                .into_any()
                        }
                        Tab::Similarity => {
                            view! {
                                <SimilarityHeatmap
                                    images=session.images
                                    labels=session.labels
                                    selected=session.selected
                                    analyst=analyst
                                />
                            }
                                .into_any()
                        }
                        Tab::ZeroShot => {
                            view! {
                                <ZeroShotView
                                    images=session.images
                                    labels=session.labels
                                    scaling_factor=session.scaling_factor
                                />
                            }
                                .into_any()
                        }
                        Tab::Neighbours => {
                            view! {
                                <NeighboursView
                                    images=session.images
                                    selected=session.selected
                                    embed_text=embed_text
                                />
                            }
                                .into_any()
                        }
                        Tab::Outliers => {
                            view! {
                                <OutliersView
                                    images=session.images
                                    selected=session.selected
                                    marked=session.marked
                                    outlier_scores=session.outlier_scores
                                    analyst=analyst
                                />
                            }
                                .into_any()
                        }
                        Tab::Map => {
                            view! { <PcaMap images=session.images selected=session.selected selection=session.selection analyst=analyst /> }
                                .into_any()
                        }
                        Tab::Classifier => {
                            view! { <ClassifierView images=session.images analyst=analyst /> }.into_any()
                        }
                        Tab::Studies => view! { <StudiesView images=session.images /> }.into_any(),
                        Tab::Export => view! { <ExportPanel sources=export /> }.into_any(),
                    }}
                </div>
            </section>
        </main>
    }
}

/// The app's offline copy (its service worker): registered in release builds, with
/// whether a new version waits, the callback that switches to it, and what went wrong.
///
/// Development builds (`trunk serve`) register none: a worker would answer from its
/// cache where Trunk's live reload must win, and the hook gives them a `sw.js` that
/// retires any worker a release build left on the same origin.
fn offline_copy() -> (Signal<bool>, Callback<()>, Signal<Option<String>>) {
    let ready = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let registration = StoredValue::new_local(None::<Registration>);
    if !cfg!(debug_assertions) {
        leptos::task::spawn_local(async move {
            match service_worker::register(move || ready.set(true)).await {
                Ok(r) => registration.set_value(Some(r)),
                // The app works online as before; there is just no offline copy.
                Err(ServiceWorkerError::Unsupported) => {}
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    }
    let on_update = Callback::new(move |()| {
        if let Some(Err(e)) = registration.with_value(|r| r.as_ref().map(|r| r.activate_waiting()))
        {
            error.set(Some(e.to_string()));
        }
    });
    (ready.into(), on_update, error.into())
}
