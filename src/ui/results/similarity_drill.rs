//! One block pair of the similarity summary, opened: every pair of its images, exact,
//! as a small full heatmap (hover names both images of a cell, Enter opens the pair),
//! with the way back to the summary (the button, or Escape).
//!
//! Hooks for tests and the benchmark: the root `.heatmap-drill` carries `data-rows` and
//! `data-cols` (the two blocks' sizes); the button is `.drill-back`.

use leptos::prelude::*;
use web_sys::KeyboardEvent;

use crate::ui::results::similarity_full::{Shown, SimilarityFull};
use crate::ui::results::similarity_heatmap::Catalogue;

#[component]
pub fn SimilarityDrill(
    #[prop(into)] shown: Signal<Option<Shown>>,
    /// Which blocks these are, in words.
    #[prop(into)]
    title: Signal<String>,
    on_back: Callback<()>,
    catalogue: Catalogue,
    selected: RwSignal<Option<u64>>,
) -> impl IntoView {
    let size = move || shown.with(|s| s.as_ref().map_or((0, 0), Shown::size));
    view! {
        <div
            class="heatmap-drill"
            role="region"
            aria-label="A block of the similarity summary, every pair"
            data-rows=move || size().0
            data-cols=move || size().1
            on:keydown=move |e: KeyboardEvent| {
                if e.key() == "Escape" {
                    e.prevent_default();
                    on_back.run(());
                }
            }
        >
            <div class="drill-head">
                <button class="drill-back" on:click=move |_| on_back.run(())>"← Back to the summary"</button>
                <span class="drill-title">{title}</span>
            </div>
            <SimilarityFull shown=shown catalogue=catalogue selected=selected />
        </div>
    }
}
