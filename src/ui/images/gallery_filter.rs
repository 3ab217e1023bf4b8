//! The gallery's filter and sort: a name search, ground truth (any, unlabelled or one),
//! stage, zero-shot prediction, only misclassified, only picked; sort by load order,
//! name, ground truth, stage, outlier score or prediction, either way. It edits the
//! query; the gallery does the rest.

use leptos::prelude::*;
use medinsight_core::lifecycle::Stage;
use medinsight_core::view::query::{LabelFilter, Query, SortKey};

/// The stages one can filter by, in life order.
const STAGES: [&str; 6] = [
    "queued",
    "preparing",
    "ready",
    "sending",
    "embedded",
    "failed",
];

#[component]
pub fn GalleryFilter(
    query: RwSignal<Query>,
    /// The ground truths in use.
    #[prop(into)]
    ground_truths: Signal<Vec<String>>,
    /// The labels' texts (zero-shot predictions are among them).
    #[prop(into)]
    prompts: Signal<Vec<String>>,
) -> impl IntoView {
    debug_assert!(STAGES.contains(&Stage::Queued.word()));
    let label_value = move || match query.with(|q| q.label.clone()) {
        LabelFilter::Any => "any".to_string(),
        LabelFilter::Unlabelled => "none".to_string(),
        LabelFilter::Is(l) => format!("is:{l}"),
    };
    let on_label = move |e| {
        let v = event_target_value(&e);
        let label = match v.as_str() {
            "none" => LabelFilter::Unlabelled,
            _ => v
                .strip_prefix("is:")
                .map_or(LabelFilter::Any, |l| LabelFilter::Is(l.to_string())),
        };
        query.update(|q| q.label = label);
    };
    let optional = |v: String| (!v.is_empty()).then_some(v);
    view! {
        <div class="gallery-filter" role="search" aria-label="Filter and sort the images">
            <input
                type="search"
                name="gallery-search"
                placeholder="Filter by name"
                aria-label="Filter by name"
                prop:value=move || query.with(|q| q.text.clone())
                on:input=move |e| query.update(|q| q.text = event_target_value(&e))
            />
            <select name="gallery-label" aria-label="Ground truth" prop:value=label_value on:change=on_label>
                <option value="any">"any ground truth"</option>
                <option value="none">"unlabelled"</option>
                {move || {
                    ground_truths
                        .get()
                        .into_iter()
                        .map(|l| view! { <option value=format!("is:{l}")>{l.clone()}</option> })
                        .collect_view()
                }}
            </select>
            <select
                name="gallery-stage"
                aria-label="Stage"
                prop:value=move || query.with(|q| q.stage.clone().unwrap_or_default())
                on:change=move |e| query.update(|q| q.stage = optional(event_target_value(&e)))
            >
                <option value="">"any stage"</option>
                {STAGES.map(|s| view! { <option value=s>{s}</option> }).collect_view()}
            </select>
            <select
                name="gallery-prediction"
                aria-label="Zero-shot prediction"
                prop:value=move || query.with(|q| q.prediction.clone().unwrap_or_default())
                on:change=move |e| query.update(|q| q.prediction = optional(event_target_value(&e)))
            >
                <option value="">"any prediction"</option>
                {move || {
                    prompts
                        .get()
                        .into_iter()
                        .map(|p| view! { <option value=p.clone()>{format!("predicted: {p}")}</option> })
                        .collect_view()
                }}
            </select>
            <label class="check">
                <input
                    type="checkbox"
                    name="gallery-misclassified"
                    prop:checked=move || query.with(|q| q.misclassified)
                    on:change=move |e| query.update(|q| q.misclassified = event_target_checked(&e))
                />
                "misclassified"
            </label>
            <label class="check">
                <input
                    type="checkbox"
                    name="gallery-picked"
                    prop:checked=move || query.with(|q| q.picked)
                    on:change=move |e| query.update(|q| q.picked = event_target_checked(&e))
                />
                "picked only"
            </label>
            <select
                name="gallery-sort"
                aria-label="Sort by"
                prop:value=move || query.with(|q| q.sort.word())
                on:change=move |e| {
                    let key = SortKey::from_word(&event_target_value(&e)).unwrap_or_default();
                    query.update(|q| q.sort = key)
                }
            >
                {SortKey::ALL
                    .map(|k| view! { <option value=k.word()>{format!("sort: {}", k.word())}</option> })
                    .collect_view()}
            </select>
            <button
                class="sort-direction"
                aria-pressed=move || query.with(|q| q.descending).to_string()
                title="Reverse the order"
                on:click=move |_| query.update(|q| q.descending = !q.descending)
            >
                {move || if query.with(|q| q.descending) { "↓ descending" } else { "↑ ascending" }}
            </button>
        </div>
    }
}
