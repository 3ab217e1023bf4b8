//! Neighbours: the images most similar to the selected image, or to a typed text
//! (embedded on demand through the `embed_text` action the page hands in), as ranked
//! lists with cosines.
//!
//! At 10 000 images an answer is one pass over the vectors as the images hold them
//! (`medinsight_core::analysis::neighbours::nearest`, tens of milliseconds): no
//! normalised copy of every vector is kept or rebuilt when a batch of vectors arrives.
//! The lists are virtualised like the other result lists.

use std::sync::Arc;

use leptos::prelude::*;

use crate::ui::typed;
use medinsight_core::analysis::neighbours::nearest;

use crate::state::Images;
use crate::ui::images::image_chip::ImageChip;
use crate::ui::widgets::virtual_list::VirtualList;

/// Embeds one text on demand: the vector, or what went wrong.
pub type EmbedText = Action<String, Result<Vec<f32>, String>>;

/// A ranked row: a chip of one line.
const ROW_HEIGHT: f64 = 44.0;

/// The embedded images' ids and vectors, in gallery order. Equal when the very same
/// vectors are held (compared by address: comparing 10 000 × 1024 floats to learn that
/// nothing changed would cost more than the answer).
#[derive(Clone, Default)]
struct Vectors {
    ids: Vec<u64>,
    vectors: Vec<Arc<Vec<f32>>>,
}

impl PartialEq for Vectors {
    fn eq(&self, other: &Self) -> bool {
        self.ids == other.ids
            && self
                .vectors
                .iter()
                .zip(&other.vectors)
                .all(|(a, b)| Arc::ptr_eq(a, b))
    }
}

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
        let (ids, vectors) = images
            .with(Images::embedded)
            .into_iter()
            .map(|(i, v)| (i.id, v))
            .unzip();
        Vectors { ids, vectors }
    });
    let ranked = move |query: &[f32], skip: Option<usize>| {
        set.with(|s| {
            let vectors: Vec<&[f32]> = s.vectors.iter().map(|v| v.as_slice()).collect();
            nearest(&vectors, query, k.get(), skip)
                .into_iter()
                .map(|n| (s.ids[n.index], n.cosine))
                .collect::<Vec<_>>()
        })
    };
    let of_selected = move || {
        let id = selected.get()?;
        let (row, vector) = set.with(|s| {
            let row = s.ids.iter().position(|&i| i == id)?;
            Some((row, s.vectors[row].clone()))
        })?;
        Some(ranked(&vector, Some(row)))
    };
    let of_text = move || {
        let v = search.value().get()?;
        Some(v.map(|vector| ranked(&vector, None)))
    };
    let strip = move |ranked: Vec<(u64, f32)>, class: &'static str, label: &'static str| {
        let ranked = Arc::new(ranked);
        let (key_of, row_of) = (ranked.clone(), ranked.clone());
        view! {
            <VirtualList
                rows=ranked.len()
                row_height=ROW_HEIGHT
                viewport=360.0
                class=class
                label=label
                key=move |i| key_of[i].0
                children=move |i| {
                    let (id, cos) = row_of[i];
                    images
                        .with_untracked(|v| v.get(id))
                        .map(|item| view! { <ImageChip item=item figure=format!("{cos:.3}") selected=selected /> })
                }
            />
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
                Some(r) => strip(r, "chips of-image", "Images most similar to the selected one").into_any(),
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
                Some(Ok(r)) => strip(r, "chips of-text", "Images most similar to the text").into_any(),
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
