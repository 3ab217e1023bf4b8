//! A small thumbnail with a name and a figure, used wherever images are ranked
//! (neighbours, outliers, studies). Clicking it selects the image in the gallery.

use leptos::prelude::*;

use crate::state::ImageItem;

#[component]
pub fn ImageChip(
    item: ImageItem,
    figure: String,
    selected: RwSignal<Option<u64>>,
) -> impl IntoView {
    let id = item.id;
    let name = item.name.get_value();
    view! {
        <li class="chip" data-name=name.clone() data-figure=figure.clone()>
            <button class="chip-button" title=format!("Select {name}") aria-pressed=move || (selected.get() == Some(id)).to_string()
                on:click=move |_| selected.set(Some(id))>
                {move || item.preview_url.get().map(|u| view! { <img src=u alt="" width="80" height="80" /> })}
                <span class="chip-name">{name.clone()}</span>
                <span class="chip-figure">{figure.clone()}</span>
            </button>
        </li>
    }
}
