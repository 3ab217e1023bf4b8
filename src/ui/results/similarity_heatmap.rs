//! Cosine similarity as a heatmap: image–image, text–text or image–text, painted on a
//! canvas through `ImageData` (one pixel per pair, scaled up without smoothing), with a
//! colour bar. Hover or move with the arrow keys to read a pair; click or press Enter
//! to open both side by side. Rows and columns can be ordered as loaded, by
//! hierarchical clustering (average linkage) or by ground-truth label.
//!
//! For tests and screen readers the canvas also carries its values (3 decimals) and its
//! row and column names as attributes, for matrices up to 250 000 cells.
//!
//! The values, the order and the colour range come from the core
//! (`medinsight_core::analysis::similarity::SimilarityMatrix`), which answers in
//! indices: this component keeps its entries (names, previews, ids) and only looks
//! them up. A canvas that cannot be painted is said so, not left silently blank.

use std::sync::Arc;

use leptos::html;
use leptos::prelude::*;
use medinsight_core::analysis::similarity::{RowOrder, SimilarityMatrix};
use medinsight_core::colormap::{matrix_rgba, viridis};
use web_sys::{KeyboardEvent, MouseEvent};

use crate::state::{Images, LabelItem};

/// Up to this many rows, their names are written beside the map.
const MAX_NAMED: usize = 60;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Images,
    Texts,
    ImagesTexts,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Loaded,
    Clustered,
    Truth,
}

#[derive(Clone)]
struct Entry {
    id: u64,
    name: String,
    truth: String,
    preview: Option<String>,
    is_image: bool,
    vector: Arc<Vec<f32>>,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
            && self.name == o.name
            && self.truth == o.truth
            && self.preview == o.preview
            && Arc::ptr_eq(&self.vector, &o.vector)
    }
}

#[derive(Clone, PartialEq, Default)]
struct Matrix {
    /// The entries in the order shown, top to bottom.
    rows: Vec<Entry>,
    /// The entries in the order shown, left to right.
    cols: Vec<Entry>,
    /// Values, order and colour range, by index into the entries given to [`build`].
    cosines: SimilarityMatrix,
}

impl Matrix {
    fn at(&self, r: usize, c: usize) -> Option<f32> {
        self.cosines.at(r, c)
    }
}

/// The entries' vectors as slices, as the core takes them.
fn vectors(entries: &[Entry]) -> Vec<&[f32]> {
    entries.iter().map(|e| e.vector.as_slice()).collect()
}

/// The matrix of `rows` against `cols` (against themselves when `None`) in `order`,
/// with the entries put in the order the core chose.
fn build(rows: Vec<Entry>, cols: Option<Vec<Entry>>, order: Order) -> Matrix {
    let truths: Vec<&str> = rows.iter().map(|e| e.truth.as_str()).collect();
    let order = match order {
        Order::Loaded => RowOrder::Loaded,
        Order::Clustered => RowOrder::Clustered,
        Order::Truth => RowOrder::ByTruth(&truths),
    };
    let col_vectors = cols.as_deref().map(vectors);
    let cosines = SimilarityMatrix::new(&vectors(&rows), col_vectors.as_deref(), order);
    // The core's indices are into the slices it was given, so every lookup succeeds.
    let pick = |items: &[Entry], at: &[usize]| -> Vec<Entry> {
        at.iter().filter_map(|&i| items.get(i).cloned()).collect()
    };
    Matrix {
        rows: pick(&rows, cosines.rows()),
        cols: pick(cols.as_deref().unwrap_or(&rows), cosines.cols()),
        cosines,
    }
}

#[component]
pub fn SimilarityHeatmap(
    #[prop(into)] images: Signal<Images>,
    labels: RwSignal<Vec<LabelItem>>,
    selected: RwSignal<Option<u64>>,
) -> impl IntoView {
    let kind = RwSignal::new(Kind::Images);
    let order = RwSignal::new(Order::Loaded);
    let cursor = RwSignal::new(None::<(usize, usize)>);
    let opened = RwSignal::new(None::<(usize, usize)>);
    let canvas = NodeRef::<html::Canvas>::new();
    let bar = NodeRef::<html::Canvas>::new();

    let image_entries = move || {
        images.with(|v| {
            v.iter()
                .filter_map(|i| {
                    Some(Entry {
                        id: i.id,
                        name: i.name.get_value(),
                        truth: i.label.get(),
                        preview: i.preview_url.get(),
                        is_image: true,
                        vector: i.current_vector()?,
                    })
                })
                .collect::<Vec<_>>()
        })
    };
    let text_entries = move || {
        labels.with(|v| {
            v.iter()
                .filter_map(|l| {
                    Some(Entry {
                        id: l.id,
                        name: l.text.get(),
                        truth: String::new(),
                        preview: None,
                        is_image: false,
                        vector: l.current_vector()?,
                    })
                })
                .collect::<Vec<_>>()
        })
    };
    let matrix = Memo::new(move |_| match kind.get() {
        Kind::Images => build(image_entries(), None, order.get()),
        Kind::Texts => build(
            text_entries(),
            None,
            if order.get() == Order::Truth {
                Order::Loaded
            } else {
                order.get()
            },
        ),
        Kind::ImagesTexts => build(image_entries(), Some(text_entries()), order.get()),
    });
    let range = Memo::new(move |_| matrix.with(|m| m.cosines.range()));
    // Why the last paint failed, if it did; shown above the map.
    let paint_error = RwSignal::new(None::<String>);

    // Paints the heatmap and the colour bar whenever the matrix changes.
    Effect::new(move |_| {
        let (lo, hi) = range.get();
        let mut failure = None;
        matrix.with(|m| {
            if let Some(c) = canvas.get() {
                let rgba = matrix_rgba(m.cosines.values(), lo, hi);
                if let Err(e) = crate::platform::canvas::paint(
                    &c,
                    m.cols.len() as u32,
                    m.rows.len() as u32,
                    &rgba,
                ) {
                    failure = Some(format!("The heatmap could not be drawn: {e}"));
                }
            }
        });
        if let Some(b) = bar.get() {
            // Top to bottom, high to low, like the labels beside it.
            let rgba: Vec<u8> = (0..256)
                .rev()
                .flat_map(|i| {
                    let [r, g, b] = viridis(i as f64 / 255.0);
                    [r, g, b, 255]
                })
                .collect();
            if let Err(e) = crate::platform::canvas::paint(&b, 1, 256, &rgba) {
                // The map's own failure, if any, is the one worth reading first.
                failure.get_or_insert(format!("The colour bar could not be drawn: {e}"));
            }
        }
        paint_error.set(failure);
        cursor.set(None);
        opened.set(None);
    });

    let cell_at = move |e: &MouseEvent| -> Option<(usize, usize)> {
        let c = canvas.get()?;
        let (w, h) = (f64::from(c.client_width()), f64::from(c.client_height()));
        matrix.with_untracked(|m| {
            if w <= 0.0 || h <= 0.0 || m.rows.is_empty() || m.cols.is_empty() {
                return None;
            }
            let col = (f64::from(e.offset_x()) / w * m.cols.len() as f64).floor() as usize;
            let row = (f64::from(e.offset_y()) / h * m.rows.len() as f64).floor() as usize;
            (row < m.rows.len() && col < m.cols.len()).then_some((row, col))
        })
    };
    let on_key = move |e: KeyboardEvent| {
        let (rows, cols) = matrix.with_untracked(|m| (m.rows.len(), m.cols.len()));
        if rows == 0 || cols == 0 {
            return;
        }
        let (r, c) = cursor.get_untracked().unwrap_or((0, 0));
        let next = match e.key().as_str() {
            "ArrowUp" => (r.saturating_sub(1), c),
            "ArrowDown" => ((r + 1).min(rows - 1), c),
            "ArrowLeft" => (r, c.saturating_sub(1)),
            "ArrowRight" => (r, (c + 1).min(cols - 1)),
            "Home" => (0, 0),
            "Enter" | " " => {
                e.prevent_default();
                opened.set(Some((r, c)));
                return;
            }
            _ => return,
        };
        e.prevent_default();
        cursor.set(Some(next));
    };
    let readout = move || {
        cursor.get().and_then(|(r, c)| {
            // The cursor may still point into a larger matrix that just changed.
            matrix.with(|m| {
                let (a, b) = (m.rows.get(r)?, m.cols.get(c)?);
                Some(format!("{} × {}: {:.3}", a.name, b.name, m.at(r, c)?))
            })
        })
    };
    let values_attr = move || {
        matrix.with(|m| {
            let values = m.cosines.values();
            (values.len() <= 250_000).then(|| {
                values
                    .iter()
                    .map(|v| format!("{v:.3}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
        })
    };
    let names = |v: &[Entry]| {
        serde_json::to_string(&v.iter().map(|e| &e.name).collect::<Vec<_>>()).unwrap_or_default()
    };

    view! {
        <div class="heatmap-controls">
            <label>"Matrix "
                <select class="heatmap-kind" on:change=move |e| kind.set(match event_target_value(&e).as_str() {
                    "texts" => Kind::Texts,
                    "images-texts" => Kind::ImagesTexts,
                    _ => Kind::Images,
                })>
                    <option value="images">"image – image"</option>
                    <option value="texts">"text – text"</option>
                    <option value="images-texts">"image – text"</option>
                </select>
            </label>
            <label>"Order "
                <select class="heatmap-order" on:change=move |e| order.set(match event_target_value(&e).as_str() {
                    "clustered" => Order::Clustered,
                    "truth" => Order::Truth,
                    _ => Order::Loaded,
                })>
                    <option value="loaded">"as loaded"</option>
                    <option value="clustered">"clustered (average linkage, up to 600)"</option>
                    <option value="truth">"by ground-truth label"</option>
                </select>
            </label>
        </div>
        {move || paint_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <Show
            when=move || matrix.with(|m| !m.cosines.values().is_empty())
            fallback=|| view! { <p class="muted empty">"Nothing to compare yet: embed images (and labels for the text matrices)."</p> }
        >
            <div class="heatmap-wrap">
                <div class="heatmap-frame">
                <Show when=move || matrix.with(|m| m.rows.len() <= MAX_NAMED)>
                    <ol
                        class="row-names"
                        aria-hidden="true"
                        style=move || matrix.with(|m| format!("grid-template-rows: repeat({}, minmax(0, 1fr))", m.rows.len()))
                    >
                        {move || matrix.with(|m| m.rows.iter().map(|e| view! { <li title=e.name.clone()>{e.name.clone()}</li> }).collect_view())}
                    </ol>
                </Show>
                <canvas
                    class="heatmap"
                    tabindex="0"
                    role="img"
                    aria-label="Cosine similarity heatmap; use the arrow keys to read pairs and Enter to open one"
                    node_ref=canvas
                    data-rows=move || matrix.with(|m| m.rows.len())
                    data-cols=move || matrix.with(|m| m.cols.len())
                    data-values=values_attr
                    data-row-names=move || matrix.with(|m| names(&m.rows))
                    data-col-names=move || matrix.with(|m| names(&m.cols))
                    style=move || matrix.with(|m| format!("aspect-ratio: {} / {}", m.cols.len().max(1), m.rows.len().max(1)))
                    on:mousemove=move |e| cursor.set(cell_at(&e))
                    on:mouseleave=move |_| cursor.set(None)
                    on:click=move |e| opened.set(cell_at(&e))
                    on:keydown=on_key
                ></canvas>
                </div>
                <div class="colour-bar">
                    <span class="hi">{move || format!("{:.3}", range.get().1)}</span>
                    <canvas node_ref=bar class="bar" aria-hidden="true"></canvas>
                    <span class="lo">{move || format!("{:.3}", range.get().0)}</span>
                </div>
            </div>
            <Show when=move || matrix.with(|m| !m.cosines.is_square() && m.cols.len() <= MAX_NAMED)>
                <p class="col-names">
                    "Columns, left to right: "
                    {move || matrix.with(|m| m.cols.iter().map(|e| e.name.clone()).collect::<Vec<_>>().join(" · "))}
                </p>
            </Show>
            <p class="heatmap-readout" aria-live="polite">
                {move || readout().unwrap_or_else(|| "Hover a cell, or focus the map and use the arrow keys.".into())}
            </p>
            {move || opened.get().and_then(|(r, c)| matrix.with(|m| {
                let (a, b) = (m.rows.get(r)?.clone(), m.cols.get(c)?.clone());
                let v = m.at(r, c)?;
                let item = move |e: Entry| {
                    let id = e.id;
                    view! {
                        <figure class="pair-item">
                            {e.preview.clone().map(|u| view! { <img src=u alt="" width="192" height="192" /> })}
                            <figcaption>
                                {e.name.clone()}
                                {(!e.truth.is_empty()).then(|| format!(" ({})", e.truth))}
                                {e.is_image.then(|| view! {
                                    <button class="inspect" on:click=move |_| selected.set(Some(id))>"Inspect"</button>
                                })}
                            </figcaption>
                        </figure>
                    }
                };
                Some(view! {
                    <div class="pair" role="region" aria-label="The pair opened from the heatmap">
                        {item(a)}
                        <p class="pair-value">{format!("cosine {v:.3}")}</p>
                        {item(b)}
                        <button class="close-pair" on:click=move |_| opened.set(None)>"Close"</button>
                    </div>
                })
            }))}
        </Show>
    }
}
