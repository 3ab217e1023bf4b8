//! The loaded images as thumbnails, each with its state (queued, preparing, ready,
//! sending, embedded, failed and why) and its ground-truth label, editable in place.
//! Selecting a thumbnail opens "what the model sees" below. An image imported as a
//! vector (no pixels in this session) shows as a "vector only" card.

use leptos::prelude::*;

use crate::state::{ImageItem, Images, Stage};

#[component]
pub fn Gallery(
    #[prop(into)] images: Signal<Images>,
    selected: RwSignal<Option<u64>>,
    /// Images marked by the outlier view.
    marked: RwSignal<Vec<u64>>,
    on_remove: Callback<u64>,
    on_clear: Callback<()>,
) -> impl IntoView {
    let counts = move || {
        images.with(|v| {
            let mut by_stage = std::collections::BTreeMap::<&'static str, usize>::new();
            for i in v {
                *by_stage.entry(i.stage.get().word()).or_default() += 1;
            }
            by_stage
                .into_iter()
                .map(|(w, n)| format!("{n} {w}"))
                .collect::<Vec<_>>()
                .join(" · ")
        })
    };
    view! {
        <Show when=move || images.with(|v| !v.is_empty())>
            <div class="gallery-bar">
                <span class="gallery-counts" aria-live="polite">
                    {move || format!("{} images: {}", images.with(|v| v.len()), counts())}
                </span>
                <button class="clear-images" on:click=move |_| on_clear.run(())>
                    "Remove all"
                </button>
            </div>
        </Show>
        <ul class="gallery" aria-label="Loaded images">
            <For each=move || images.get() key=|i| i.id let:item>
                <ImageCard item=item selected=selected marked=marked on_remove=on_remove />
            </For>
        </ul>
    }
}

#[component]
fn ImageCard(
    item: ImageItem,
    selected: RwSignal<Option<u64>>,
    marked: RwSignal<Vec<u64>>,
    on_remove: Callback<u64>,
) -> impl IntoView {
    let id = item.id;
    let name = item.name.get_value();
    let is_selected = move || selected.get() == Some(id);
    view! {
        <li
            class="image-card"
            class:selected=is_selected
            class:outlier=move || marked.with(|m| m.contains(&id))
            data-stage=move || item.stage.get().word()
            data-name=name.clone()
        >
            <button
                class="thumb"
                aria-pressed=move || is_selected().to_string()
                title=format!("Show what the model sees of {name}")
                on:click=move |_| selected.set(if is_selected() { None } else { Some(id) })
            >
                {move || match item.preview_url.get() {
                    Some(url) => view! { <img src=url alt="" width="96" height="96" /> }.into_any(),
                    // Imported as a vector: there are no pixels to show, say so rather
                    // than show a black square.
                    None if item.prepared.with(Option::is_none) && item.stage.get() == Stage::Embedded => {
                        view! { <span class="thumb-placeholder vector-only">"vector only"</span> }.into_any()
                    }
                    None => view! { <span class="thumb-placeholder" aria-hidden="true"></span> }.into_any(),
                }}
                <span class="image-name">{name.clone()}</span>
            </button>
            <span class="stage" data-stage=move || item.stage.get().word()>
                {move || item.stage.get().word()}
            </span>
            <Show when=move || marked.with(|m| m.contains(&id))>
                <span class="outlier-badge">"outlier"</span>
            </Show>
            <input
                class="truth"
                placeholder="ground truth"
                aria-label=format!("Ground-truth label of {}", item.name.get_value())
                prop:value=move || item.label.get()
                on:change=move |e| item.label.set(event_target_value(&e).trim().to_string())
            />
            {move || match item.stage.get() {
                Stage::Failed(reason) => Some(view! { <p class="reason" role="note">{reason}</p> }),
                _ => None,
            }}
            <button
                class="remove"
                aria-label=format!("Remove {}", item.name.get_value())
                on:click=move |_| on_remove.run(id)
            >
                "×"
            </button>
        </li>
    }
}
