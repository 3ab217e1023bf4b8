//! A row per embedded image and label: name, dimension, norm, the values as a colour
//! strip, and a button that copies the vector as JSON.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::{Images, LabelItem};
use crate::ui::widgets::embedding_strip::EmbeddingStrip;

#[derive(Clone)]
struct Row {
    key: String,
    kind: &'static str,
    name: String,
    vector: Arc<Vec<f32>>,
}

#[component]
pub fn EmbeddingsTable(
    #[prop(into)] images: Signal<Images>,
    labels: RwSignal<Vec<LabelItem>>,
) -> impl IntoView {
    let rows = move || {
        let mut rows: Vec<Row> = images.with(|v| {
            v.iter()
                .filter_map(|i| {
                    let vector = i.current_vector()?;
                    Some(Row {
                        key: format!("i{}-{:p}", i.id, Arc::as_ptr(&vector)),
                        kind: "image",
                        name: i.name.get_value(),
                        vector,
                    })
                })
                .collect()
        });
        rows.extend(labels.with(|v| {
            v.iter()
                .filter_map(|l| {
                    let vector = l.current_vector()?;
                    Some(Row {
                        key: format!("l{}-{:p}", l.id, Arc::as_ptr(&vector)),
                        kind: "text",
                        name: l.text.get(),
                        vector,
                    })
                })
                .collect::<Vec<_>>()
        }));
        rows
    };
    let copied = RwSignal::new(None::<String>);
    view! {
        <Show
            when=move || !rows().is_empty()
            fallback=|| view! { <p class="muted empty">"No embeddings yet: load images, add labels, and press Embed."</p> }
        >
            <table class="embeddings">
                <thead>
                    <tr><th>"Kind"</th><th>"Name"</th><th>"Dim"</th><th>"Norm"</th><th>"Values"</th><th></th></tr>
                </thead>
                <tbody>
                    <For each=rows key=|r| r.key.clone() let:row>
                        {
                            let norm = row.vector.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
                            let json = serde_json::to_string(&*row.vector).unwrap_or_default();
                            let name = row.name.clone();
                            view! {
                                <tr class="embedding-row" data-kind=row.kind data-dim=row.vector.len() data-name=row.name.clone()>
                                    <td>{row.kind}</td>
                                    <td class="name">{row.name.clone()}</td>
                                    <td class="dim">{row.vector.len()}</td>
                                    <td class="norm">{format!("{norm:.3}")}</td>
                                    <td><EmbeddingStrip vector=row.vector.clone() /></td>
                                    <td>
                                        <button class="copy-json" on:click=move |_| {
                                            let (json, name) = (json.clone(), name.clone());
                                            spawn_local(async move {
                                                copied.set(Some(match crate::platform::clipboard::copy_text(&json).await {
                                                    Ok(()) => format!("Copied the vector of {name} as JSON."),
                                                    Err(e) => format!("Could not copy: {e}"),
                                                }));
                                            });
                                        }>"Copy JSON"</button>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <p class="muted" role="status">{move || copied.get()}</p>
        </Show>
    }
}
