//! The whole page: header (name, endpoint, theme), the emulator banner, then three
//! columns of work — load and inspect images; write labels and settings and run; see
//! the results in tabs (embeddings, similarity, zero-shot, export).
//!
//! `App` owns the session and hands each component only the handles it needs.

use leptos::ev;
use leptos::prelude::*;
use medinsight_core::pipeline::PrepareOptions;
use medinsight_core::settings::Settings;

use crate::files::{from_file_list, Incoming};
use crate::preparation::Preparer;
use crate::session::Session;
use crate::ui::embeddings_table::EmbeddingsTable;
use crate::ui::emulator_banner::EmulatorBanner;
use crate::ui::endpoint_status::EndpointStatus;
use crate::ui::export_panel::ExportPanel;
use crate::ui::gallery::Gallery;
use crate::ui::image_inspector::ImageInspector;
use crate::ui::image_loader::ImageLoader;
use crate::ui::label_editor::LabelEditor;
use crate::ui::prompt_builder::PromptBuilder;
use crate::ui::run_panel::RunPanel;
use crate::ui::settings_panel::SettingsPanel;
use crate::ui::similarity_heatmap::SimilarityHeatmap;
use crate::ui::theme_toggle::ThemeToggle;
use crate::ui::zero_shot_view::ZeroShotView;
use crate::PRODUCT_NAME;

/// Where the settings are remembered.
const SETTINGS_KEY: &str = "medinsight.settings";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Embeddings,
    Similarity,
    ZeroShot,
    Export,
}

impl Tab {
    const ALL: [Tab; 4] = [Tab::Embeddings, Tab::Similarity, Tab::ZeroShot, Tab::Export];
    fn title(self) -> &'static str {
        match self {
            Tab::Embeddings => "Embeddings",
            Tab::Similarity => "Similarity",
            Tab::ZeroShot => "Zero-shot",
            Tab::Export => "Export",
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    let settings = Settings::from_json(&crate::browser::load(SETTINGS_KEY).unwrap_or_default());
    let session = Session::new(settings);
    let preparer = Preparer::new(session);
    let storage_error = RwSignal::new(None::<String>);

    // Settings survive a reload.
    Effect::new(move |_| {
        let json = serde_json::to_string(&session.settings.get()).unwrap_or_default();
        storage_error.set(
            crate::browser::store(SETTINGS_KEY, &json)
                .err()
                .map(|e| format!("Settings will not be remembered: {e}")),
        );
    });

    let on_files = Callback::new(move |incoming: Vec<Incoming>| {
        if session.add_files(incoming) > 0 {
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

    let on_options = Callback::new(move |(id, options, all): (u64, PrepareOptions, bool)| {
        let targets: Vec<_> = if all {
            session.images.get_untracked()
        } else {
            session.image(id).into_iter().collect()
        };
        for item in targets {
            session.set_options(item, options);
        }
        preparer.kick();
    });
    let on_remove = Callback::new(move |id: u64| session.remove_image(id));
    let on_clear = Callback::new(move |()| session.clear_images());
    let on_add_labels = Callback::new(move |texts: Vec<String>| {
        for t in texts {
            session.add_label(t);
        }
    });
    let run = Action::new_local(move |_: &()| crate::run::run(session));
    let on_run = Callback::new(move |()| {
        if !session.progress.get_untracked().running {
            run.dispatch(());
        }
    });
    let on_cancel = Callback::new(move |()| {
        session.cancel.set(true);
        session.progress.update(|p| p.cancelling = p.running);
    });
    let selected_item =
        Signal::derive(move || session.selected.get().and_then(|id| session.image(id)));
    let tab = RwSignal::new(Tab::Embeddings);
    let export = Callback::new(move |()| session.to_file());

    view! {
        <header class="app-header">
            <h1 class="product-name">{PRODUCT_NAME}</h1>
            <EndpointStatus />
            <ThemeToggle />
        </header>
        <EmulatorBanner visible=session.emulator />
        {move || storage_error.get().map(|e| view! { <p class="notice warn" role="status">{e}</p> })}
        <main class="app-main">
            <section class="column images-column" aria-labelledby="images-heading">
                <h2 id="images-heading">"Images"</h2>
                <ImageLoader on_files=on_files />
                <Gallery
                    images=session.images
                    selected=session.selected
                    on_remove=on_remove
                    on_clear=on_clear
                />
                <ImageInspector item=selected_item on_options=on_options />
            </section>
            <section class="column text-column" aria-labelledby="labels-heading">
                <h2 id="labels-heading">"Labels"</h2>
                <PromptBuilder on_add=on_add_labels />
                <LabelEditor labels=session.labels on_add=on_add_labels />
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
                        Tab::Export => view! { <ExportPanel session=export /> }.into_any(),
                    }}
                </div>
            </section>
        </main>
    }
}
