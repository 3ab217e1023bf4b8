//! A row per embedded image and label: name, dimension, norm, the values as a colour
//! strip, and a button that copies the vector as JSON.
//!
//! Built for 10 000 rows: the table is virtualised (only the rows on screen exist, each
//! painting its strip when drawn), a row holds its vector by reference and computes its
//! norm when drawn, and the JSON — 20 KB of text per vector — is made only when "Copy
//! JSON" is pressed. The list of rows is rebuilt when vectors change (a batch of a run),
//! which costs a pointer per row, not a copy of the vectors.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::{Images, LabelItem};
use crate::ui::widgets::embedding_strip::EmbeddingStrip;
use crate::ui::widgets::virtual_list::{Rows, VirtualList};

/// A row: one line of text and a strip.
const ROW_HEIGHT: f64 = 34.0;

#[derive(Clone)]
struct Row {
    kind: &'static str,
    /// The item's id (labels and images have separate ids, so with the kind).
    id: u64,
    name: String,
    vector: Arc<Vec<f32>>,
}

impl Row {
    /// Who the row is and what it shows: a new vector or name rebuilds the row.
    fn key(&self) -> (&'static str, u64, usize, String) {
        (
            self.kind,
            self.id,
            Arc::as_ptr(&self.vector) as usize,
            self.name.clone(),
        )
    }
}

/// The rows, equal when they show the same vectors of the same items under the same
/// names (vectors compared by address, not by their 1024 values).
#[derive(Clone, Default)]
struct Table(Arc<Vec<Row>>);

impl PartialEq for Table {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(other.0.iter())
                .all(|(a, b)| a.key() == b.key())
    }
}

#[component]
pub fn EmbeddingsTable(
    #[prop(into)] images: Signal<Images>,
    labels: RwSignal<Vec<LabelItem>>,
) -> impl IntoView {
    let table = Memo::new(move |_| {
        let mut rows: Vec<Row> = images.with(|v| {
            v.iter()
                .filter_map(|i| {
                    Some(Row {
                        kind: "image",
                        id: i.id,
                        vector: i.current_vector()?,
                        name: i.name.get_value(),
                    })
                })
                .collect()
        });
        rows.extend(labels.with(|v| {
            v.iter()
                .filter_map(|l| {
                    Some(Row {
                        kind: "text",
                        id: l.id,
                        vector: l.current_vector()?,
                        name: l.text.get(),
                    })
                })
                .collect::<Vec<_>>()
        }));
        Table(Arc::new(rows))
    });
    let count = Signal::derive(move || table.with(|t| t.0.len()));
    let copied = RwSignal::new(None::<String>);
    let row = move |i: usize| {
        let Some(row) = table.with_untracked(|t| t.0.get(i).cloned()) else {
            return ().into_any();
        };
        let norm = row
            .vector
            .iter()
            .map(|v| f64::from(*v).powi(2))
            .sum::<f64>()
            .sqrt();
        let copy = {
            let (vector, name) = (row.vector.clone(), row.name.clone());
            move |_| {
                // The JSON is made here, on demand, and dropped once copied.
                let json = serde_json::to_string(&*vector);
                let name = name.clone();
                spawn_local(async move {
                    let message = match json {
                        Ok(json) => match crate::platform::clipboard::copy_text(&json).await {
                            Ok(()) => format!("Copied the vector of {name} as JSON."),
                            Err(e) => format!("Could not copy: {e}"),
                        },
                        Err(e) => format!("Could not write the vector of {name} as JSON: {e}"),
                    };
                    copied.try_set(Some(message));
                });
            }
        };
        view! {
            <tr class="embedding-row" data-kind=row.kind data-dim=row.vector.len() data-name=row.name.clone()>
                <td class="kind">{row.kind}</td>
                <td class="name" title=row.name.clone()>{row.name.clone()}</td>
                <td class="dim">{row.vector.len()}</td>
                <td class="norm">{format!("{norm:.3}")}</td>
                <td class="values"><EmbeddingStrip vector=row.vector.clone() /></td>
                <td class="copy"><button class="copy-json" on:click=copy>"Copy JSON"</button></td>
            </tr>
        }
        .into_any()
    };
    view! {
        <Show
            when=move || count.get() != 0
            fallback=|| view! { <p class="muted empty">"No embeddings yet: load images, add labels, and press Embed."</p> }
        >
            <div class="embeddings">
                <table class="embeddings-head" aria-hidden="true">
                    <thead>
                        <tr><th class="kind">"Kind"</th><th class="name">"Name"</th><th class="dim">"Dim"</th><th class="norm">"Norm"</th><th class="values">"Values"</th><th class="copy"></th></tr>
                    </thead>
                </table>
                <VirtualList
                    rows=count
                    row_height=ROW_HEIGHT
                    element=Rows::Table
                    class="embeddings-rows"
                    label="Embeddings: kind, name, dimension, norm, values"
                    key=move |i| table.with(|t| t.0.get(i).map(Row::key))
                    children=row
                />
            </div>
            <p class="muted" role="status">{move || copied.get()}</p>
        </Show>
    }
}
