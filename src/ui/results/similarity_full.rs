//! A similarity heatmap cell by cell: the full matrix (up to 2 048 rows) and a block
//! opened from the summary. Painted on a canvas through `ImageData` (one pixel per
//! pair, scaled up without smoothing) in bands of rows, each a short slice of work with
//! the page free in between (a 2 048² map is 4 million colours), with a colour bar.
//! Hover or move with the arrow keys to read a pair; click or press Enter to open both
//! side by side.
//!
//! For tests and screen readers the canvas also carries its values (3 decimals) and its
//! row and column names as attributes, for matrices up to 250 000 cells; up to 60 rows
//! the names are also written beside the map.
//!
//! It shows a [`Shown`]: cosines and an order from the core, which answer in indices,
//! and the items those indices stand for; names, labels and previews are looked up in
//! the [`Catalogue`] only when displayed. A canvas that cannot be painted is said so,
//! not left silently blank.

use std::sync::Arc;

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use medinsight_core::analysis::similarity::SimilarityMatrix;
use medinsight_core::colormap::matrix_rgba;
use web_sys::{KeyboardEvent, MouseEvent};

use crate::ui::results::similarity_heatmap::{Catalogue, Entry, Item};
use crate::ui::widgets::colour_bar::ColourBar;

/// Up to this many rows, their names are written beside the map.
const MAX_NAMED: usize = 60;
/// Up to this many cells, the values are written into `data-values`.
const MAX_VALUES_ATTR: usize = 250_000;
/// Cells coloured and painted per slice of work: about 5–10 ms in the browser.
const BAND_CELLS: usize = 1 << 17;

/// A matrix as shown: its cosines in the order picked, and the items its indices are
/// into (rows, and columns — the same items for a square matrix).
#[derive(Clone, Debug)]
pub struct Shown {
    pub matrix: Arc<SimilarityMatrix>,
    pub rows: Arc<[Item]>,
    pub cols: Arc<[Item]>,
}

/// The same cosines of the same items in the same order: nothing to repaint.
impl PartialEq for Shown {
    fn eq(&self, o: &Self) -> bool {
        Arc::ptr_eq(self.matrix.cells(), o.matrix.cells())
            && Arc::ptr_eq(&self.rows, &o.rows)
            && Arc::ptr_eq(&self.cols, &o.cols)
            && self.matrix.rows() == o.matrix.rows()
    }
}

impl Shown {
    /// Rows and columns shown.
    pub fn size(&self) -> (usize, usize) {
        (self.matrix.rows().len(), self.matrix.cols().len())
    }

    /// The item at shown row `r`.
    pub fn row(&self, r: usize) -> Option<Item> {
        self.rows.get(*self.matrix.rows().get(r)?).copied()
    }

    /// The item at shown column `c`.
    pub fn col(&self, c: usize) -> Option<Item> {
        self.cols.get(*self.matrix.cols().get(c)?).copied()
    }
}

#[component]
pub fn SimilarityFull(
    #[prop(into)] shown: Signal<Option<Shown>>,
    catalogue: Catalogue,
    selected: RwSignal<Option<u64>>,
) -> impl IntoView {
    let cursor = RwSignal::new(None::<(usize, usize)>);
    let opened = RwSignal::new(None::<(usize, usize)>);
    let canvas = NodeRef::<html::Canvas>::new();
    // Why the last paint failed, if it did; shown above the map.
    let paint_error = RwSignal::new(None::<String>);
    // The share painted so far while bands remain, in percent.
    let painting = RwSignal::new(None::<usize>);
    // Each paint's number: a paint still running for an older matrix stops.
    let generation = StoredValue::new(0u64);

    // Paints the heatmap whenever the matrix (or its order) changes: the first band at
    // once (all of a small matrix), the rest in slices with the page free in between.
    Effect::new(move |_| {
        let Some(s) = shown.get() else { return };
        let Some(c) = canvas.get() else { return };
        let g = generation.get_value() + 1;
        generation.set_value(g);
        cursor.set(None);
        opened.set(None);
        paint_error.set(None);
        let (rows, cols) = s.size();
        crate::platform::canvas::resize(&c, cols as u32, rows as u32);
        let (lo, hi) = s.matrix.range();
        let band = (BAND_CELLS / cols.max(1)).max(1);
        let paint = move |top: usize| -> Result<usize, String> {
            let end = (top + band).min(rows);
            let mut values = Vec::with_capacity((end - top) * cols);
            for r in top..end {
                s.matrix.shown_row(r, &mut values);
            }
            crate::platform::canvas::paint_band(
                &c,
                cols as u32,
                top as u32,
                &matrix_rgba(&values, lo, hi),
            )
            .map_err(|e| format!("The heatmap could not be drawn: {e}"))?;
            Ok(end)
        };
        let mut next = match paint(0) {
            Ok(n) => n,
            Err(e) => {
                paint_error.set(Some(e));
                return;
            }
        };
        if next >= rows {
            painting.set(None);
            return;
        }
        painting.set(Some(next * 100 / rows));
        spawn_local(async move {
            while next < rows {
                gloo_timers::future::TimeoutFuture::new(0).await;
                if generation.try_get_value() != Some(g) {
                    return; // another matrix is being painted, or the view is gone
                }
                match paint(next) {
                    Ok(n) => next = n,
                    Err(e) => {
                        paint_error.try_set(Some(e));
                        break;
                    }
                }
                painting.try_set(Some(next * 100 / rows));
            }
            painting.try_set(None);
        });
    });

    let size = move || shown.with(|s| s.as_ref().map_or((0, 0), Shown::size));
    let has_cells = move || size().0 * size().1 != 0;
    let cell_at = move |e: &MouseEvent| -> Option<(usize, usize)> {
        let c = canvas.get()?;
        let (w, h) = (f64::from(c.client_width()), f64::from(c.client_height()));
        let (rows, cols) = untrack(size);
        if w <= 0.0 || h <= 0.0 || rows == 0 || cols == 0 {
            return None;
        }
        let col = (f64::from(e.offset_x()) / w * cols as f64).floor() as usize;
        let row = (f64::from(e.offset_y()) / h * rows as f64).floor() as usize;
        (row < rows && col < cols).then_some((row, col))
    };
    let on_key = move |e: KeyboardEvent| {
        let (rows, cols) = untrack(size);
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
    let pair = move |(r, c): (usize, usize)| -> Option<(Entry, Entry, f32)> {
        shown.with(|s| {
            let s = s.as_ref()?;
            let (a, b) = (s.row(r)?, s.col(c)?);
            Some((catalogue.entry(a), catalogue.entry(b), s.matrix.at(r, c)?))
        })
    };
    let readout = move || {
        // The cursor may still point into a larger matrix that just changed.
        let (a, b, v) = pair(cursor.get()?)?;
        Some(format!("{} × {}: {v:.3}", a.name, b.name))
    };
    let values_attr = move || {
        shown.with(|s| {
            let s = s.as_ref()?;
            let (rows, cols) = s.size();
            (rows * cols <= MAX_VALUES_ATTR).then(|| {
                s.matrix
                    .values()
                    .iter()
                    .map(|v| format!("{v:.3}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
        })
    };
    let names_of = move |rows: bool| -> Vec<String> {
        shown.with(|s| {
            let Some(s) = s.as_ref() else {
                return Vec::new();
            };
            let (n_rows, n_cols) = s.size();
            if rows {
                (0..n_rows)
                    .filter_map(|r| s.row(r))
                    .map(|i| catalogue.name(i))
                    .collect()
            } else {
                (0..n_cols)
                    .filter_map(|c| s.col(c))
                    .map(|i| catalogue.name(i))
                    .collect()
            }
        })
    };
    let names_attr = move |rows: bool| serde_json::to_string(&names_of(rows)).unwrap_or_default();
    let square = move || shown.with(|s| s.as_ref().is_some_and(|s| s.matrix.is_square()));
    let range =
        Signal::derive(move || shown.with(|s| s.as_ref().map_or((0.0, 1.0), |s| s.matrix.range())));

    view! {
        <Show when=has_cells>
            {move || paint_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || painting.get().map(|p| view! {
                <p class="busy muted" data-busy="" aria-live="polite">{format!("Painting the heatmap… {p} %")}</p>
            })}
            <div class="heatmap-wrap">
                <div class="heatmap-frame">
                <Show when=move || size().0 <= MAX_NAMED>
                    <ol
                        class="row-names"
                        aria-hidden="true"
                        style=move || format!("grid-template-rows: repeat({}, minmax(0, 1fr))", size().0)
                    >
                        {move || names_of(true).into_iter().map(|n| { let title = n.clone(); view! { <li title=title>{n}</li> } }).collect_view()}
                    </ol>
                </Show>
                <canvas
                    class="heatmap"
                    tabindex="0"
                    role="img"
                    aria-label="Cosine similarity heatmap; use the arrow keys to read pairs and Enter to open one"
                    node_ref=canvas
                    data-rows=move || size().0
                    data-cols=move || size().1
                    data-values=values_attr
                    data-row-names=move || names_attr(true)
                    data-col-names=move || names_attr(false)
                    // Rows × columns as they are, but never taller than twice the width
                    // (10 000 images × 5 labels would be a ribbon): thin rows still read
                    // by hover.
                    style=move || {
                        let (rows, cols) = size();
                        format!("aspect-ratio: {} / {}", cols.max(rows.div_ceil(2)).max(1), rows.max(1))
                    }
                    on:mousemove=move |e| cursor.set(cell_at(&e))
                    on:mouseleave=move |_| cursor.set(None)
                    on:click=move |e| opened.set(cell_at(&e))
                    on:keydown=on_key
                ></canvas>
                </div>
                <ColourBar range=range />
            </div>
            <Show when=move || !square() && size().1 <= MAX_NAMED>
                <p class="col-names">
                    "Columns, left to right: "
                    {move || names_of(false).join(" · ")}
                </p>
            </Show>
            <p class="heatmap-readout" aria-live="polite">
                {move || readout().unwrap_or_else(|| "Hover a cell, or focus the map and use the arrow keys.".into())}
            </p>
            {move || opened.get().and_then(pair).map(|(a, b, v)| {
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
                view! {
                    <div class="pair" role="region" aria-label="The pair opened from the heatmap">
                        {item(a)}
                        <p class="pair-value">{format!("cosine {v:.3}")}</p>
                        {item(b)}
                        <button class="close-pair" on:click=move |_| opened.set(None)>"Close"</button>
                    </div>
                }
            })}
        </Show>
    }
}
