//! One image in the gallery: its thumbnail (or "vector only" for an imported vector),
//! name, stage, ground truth editable in place, the reason it failed, and remove. A
//! click on the thumbnail picks it and opens it in the inspector; ctrl/cmd-click adds or
//! removes it from the picked images, shift-click picks the run from the last click.

use leptos::prelude::*;
use web_sys::MouseEvent;

use crate::state::{ImageItem, Stage};

/// How a click on a thumbnail picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// A plain click: this image alone, in the inspector.
    One,
    /// Ctrl- or cmd-click: in or out of the picked images.
    Toggle,
    /// Shift-click: the run from the last click to this one.
    Extend,
}

impl Pick {
    fn of(e: &MouseEvent) -> Self {
        if e.shift_key() {
            Pick::Extend
        } else if e.ctrl_key() || e.meta_key() {
            Pick::Toggle
        } else {
            Pick::One
        }
    }
}

#[component]
pub fn ImageCard(
    item: ImageItem,
    /// Shown in the inspector.
    #[prop(into)]
    inspected: Signal<bool>,
    /// Among the picked images.
    #[prop(into)]
    picked: Signal<bool>,
    /// Marked by the outlier view.
    #[prop(into)]
    marked: Signal<bool>,
    on_pick: Callback<(u64, Pick)>,
    on_remove: Callback<u64>,
) -> impl IntoView {
    let id = item.id;
    let name = item.name.get_value();
    view! {
        <li
            class="image-card"
            class:selected=inspected
            class:picked=picked
            class:outlier=marked
            aria-selected=move || picked.get().to_string()
            data-id=id.to_string()
            data-stage=move || item.stage.get().word()
            data-label=move || item.label.get()
            data-name=name.clone()
        >
            <button
                class="thumb"
                aria-pressed=move || inspected.get().to_string()
                title=format!("Show what the model sees of {name} (ctrl-click or shift-click to pick several)")
                on:click=move |e| on_pick.run((id, Pick::of(&e)))
            >
                {move || match item.preview_url.get() {
                    Some(url) => view! { <img src=url alt="" width="96" height="96" loading="lazy" /> }.into_any(),
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
            <Show when=move || marked.get()>
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
                Stage::Failed(reason) => {
                    let title = reason.clone();
                    Some(view! { <p class="reason" role="note" title=title>{reason}</p> })
                }
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
