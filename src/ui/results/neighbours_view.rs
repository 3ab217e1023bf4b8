//! Neighbours: the images most similar to the selected image, or to a typed text
//! (embedded on demand through the `embed_text` action the page hands in), as a ranked
//! strip with cosines.

use leptos::prelude::*;

use crate::ui::typed;
use medinsight_core::analysis::neighbours::{of_row, of_vector};
use medinsight_core::analysis::Embeddings;

use crate::state::Images;
use crate::ui::images::image_chip::ImageChip;

/// Embeds one text on demand: the vector, or what went wrong.
pub type EmbedText = Action<String, Result<Vec<f32>, String>>;

#[component]
pub fn NeighboursView(
    #[prop(into)] images: Signal<Images>,
    selected: RwSignal<Option<u64>>,
    embed_text: EmbedText,
) -> impl IntoView {
    let k = RwSignal::new(8usize);
    let query = RwSignal::new(String::new());
    let search = embed_text;
    let set = Memo::new(move |_| {
        let e = images.with(Images::embedded);
        let vectors: Vec<Vec<f32>> = e.iter().map(|(_, v)| v.to_vec()).collect();
        (
            e.into_iter().map(|(i, _)| i.id).collect::<Vec<_>>(),
            Embeddings::new(&vectors),
        )
    });
    let of_selected = move || {
        let id = selected.get()?;
        set.with(|(ids, e)| {
            let row = ids.iter().position(|&i| i == id)?;
            Some(
                of_row(e, row, k.get())
                    .into_iter()
                    .map(|n| (ids[n.index], n.cosine))
                    .collect::<Vec<_>>(),
            )
        })
    };
    let of_text = move || {
        let v = search.value().get()?;
        Some(v.map(|vector| {
            set.with(|(ids, e)| {
                of_vector(e, &vector, k.get())
                    .into_iter()
                    .map(|n| (ids[n.index], n.cosine))
                    .collect::<Vec<_>>()
            })
        }))
    };
    let strip = move |ranked: Vec<(u64, f32)>, class: &'static str| {
        view! {
            <ol class=format!("chips {class}")>
                {ranked.into_iter().filter_map(|(id, cos)| images.with_untracked(|v| v.get(id)).map(|item| view! {
                    <ImageChip item=item figure=format!("{cos:.3}") selected=selected />
                })).collect_view()}
            </ol>
        }
    };
    view! {
        <div class="neighbours">
            <label>"Show "
                <input type="number" class="neighbours-k" min="1" max="50" prop:value=move || k.get()
                    on:change=move |e| if let Some(v) = count(&e) { k.set(v.clamp(1, 50)) } />
                " neighbours"
            </label>
            <h3>"Of the selected image"</h3>
            {move || match of_selected() {
                Some(r) => strip(r, "of-image").into_any(),
                None => view! { <p class="muted">"Select an embedded image in the gallery."</p> }.into_any(),
            }}
            <h3>"Of a text"</h3>
            <form class="text-query" on:submit=move |e| {
                e.prevent_default();
                let t = query.get_untracked().trim().to_string();
                if !t.is_empty() {
                    search.dispatch(t);
                }
            }>
                <input class="query-text" aria-label="Text to search images for" placeholder="x-ray chest pleural effusion"
                    prop:value=move || query.get() on:input=move |e| query.set(event_target_value(&e)) />
                <button type="submit" disabled=move || search.pending().get()>
                    {move || if search.pending().get() { "Embedding…" } else { "Find images" }}
                </button>
            </form>
            {move || match of_text() {
                None => ().into_any(),
                Some(Ok(r)) => strip(r, "of-text").into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{format!("The text could not be embedded: {e}")}</p> }.into_any(),
            }}
        </div>
    }
}

/// A count typed into a field (a function, because the view macro cannot hold a
/// turbofish).
fn count(e: &leptos::ev::Event) -> Option<usize> {
    typed(e)
}
