//! The similarity heatmap of more images than a map can show cell by cell (above
//! 2 048): the rows, in the order picked, cut into blocks of consecutive rows, each pair
//! of blocks painted with the mean cosine between their images (computed in the worker,
//! `core::analysis::blocks`). The colour bar spans the smallest to the largest block
//! mean.
//!
//! Hovering a block (or moving over the blocks with the arrow keys) names its two
//! blocks' representative images — the ones nearest each block's mean — with the
//! blocks' row ranges, sizes and mean cosine. Clicking a block, or Enter, opens its
//! exact cells ([`SimilarityDrill`]), computed here from the vectors of the few dozen
//! rows involved; "Back to the summary" returns.
//!
//! Hooks for tests and the benchmark: the root `.heatmap-summary` carries `data-rows`
//! (images summarised) and `data-blocks` (blocks a side); a plain click at a pixel of
//! the canvas `.summary-map` opens that block.

use std::sync::Arc;

use leptos::html;
use leptos::prelude::*;
use medinsight_core::analysis::blocks::BlockSummary;
use medinsight_core::analysis::similarity::SimilarityMatrix;
use medinsight_core::colormap::matrix_rgba;
use web_sys::{KeyboardEvent, MouseEvent};

use crate::ui::results::similarity_drill::SimilarityDrill;
use crate::ui::results::similarity_full::Shown;
use crate::ui::results::similarity_heatmap::{Catalogue, Item, Rows};
use crate::ui::widgets::colour_bar::ColourBar;

/// Blocks a side: at the summary map's width (up to 40 rem, 640 CSS pixels) a block is
/// at least two pixels, so the mouse can point at every one; at 10 000 images a block
/// is 39 rows, and its drill-down 39 × 39 cells. (The core allows up to 512.)
pub const SUMMARY_BLOCKS: usize = 256;

/// A summary and the rows it summarises (their items and vectors, for names and
/// drill-downs). Equal when it is the same summary of the same rows.
#[derive(Clone, Debug)]
pub struct Summarised {
    pub summary: Arc<BlockSummary>,
    pub rows: Rows,
}

impl PartialEq for Summarised {
    fn eq(&self, o: &Self) -> bool {
        Arc::ptr_eq(&self.summary, &o.summary) && self.rows == o.rows
    }
}

impl Summarised {
    /// The item of summarised row `i` (in loaded order).
    fn item(&self, i: usize) -> Option<Item> {
        self.rows.items.get(i).copied()
    }

    /// Block `b`'s rows as the user counts them (from 1), e.g. "rows 41–79".
    fn rows_label(&self, b: usize) -> String {
        self.summary
            .rows_of(b)
            .map_or_else(String::new, |r| format!("rows {}–{}", r.start + 1, r.end))
    }
}

#[component]
pub fn SimilaritySummary(
    #[prop(into)] summary: Signal<Option<Summarised>>,
    catalogue: Catalogue,
    selected: RwSignal<Option<u64>>,
) -> impl IntoView {
    let cursor = RwSignal::new(None::<(usize, usize)>);
    let drilled = RwSignal::new(None::<(usize, usize)>);
    let canvas = NodeRef::<html::Canvas>::new();
    let paint_error = RwSignal::new(None::<String>);
    let blocks = move || summary.with(|s| s.as_ref().map_or(0, |s| s.summary.blocks()));

    // A new summary (other vectors, another order) closes what was opened in the old.
    Effect::new(move |previous: Option<Option<Summarised>>| {
        let now = summary.get();
        if previous.is_some_and(|p| p != now) {
            cursor.set(None);
            drilled.set(None);
        }
        now
    });
    // Paints the block means: at most 512 × 512, one `putImageData`. The canvas is
    // painted again when it comes back from a drill-down.
    Effect::new(move |_| {
        let Some(c) = canvas.get() else { return };
        let failure = summary.with(|s| {
            let s = s.as_ref()?;
            let (lo, hi) = s.summary.range();
            let b = s.summary.blocks() as u32;
            let rgba = matrix_rgba(s.summary.means(), lo, hi);
            crate::platform::canvas::paint(&c, b, b, &rgba)
                .err()
                .map(|e| format!("The summary could not be drawn: {e}"))
        });
        paint_error.set(failure);
    });

    let block_at = move |e: &MouseEvent| -> Option<(usize, usize)> {
        let c = canvas.get()?;
        let (w, h) = (f64::from(c.client_width()), f64::from(c.client_height()));
        let b = untrack(blocks);
        if w <= 0.0 || h <= 0.0 || b == 0 {
            return None;
        }
        let col = (f64::from(e.offset_x()) / w * b as f64).floor() as usize;
        let row = (f64::from(e.offset_y()) / h * b as f64).floor() as usize;
        (row < b && col < b).then_some((row, col))
    };
    let on_key = move |e: KeyboardEvent| {
        let b = untrack(blocks);
        if b == 0 {
            return;
        }
        let (r, c) = cursor.get_untracked().unwrap_or((0, 0));
        let next = match e.key().as_str() {
            "ArrowUp" => (r.saturating_sub(1), c),
            "ArrowDown" => ((r + 1).min(b - 1), c),
            "ArrowLeft" => (r, c.saturating_sub(1)),
            "ArrowRight" => (r, (c + 1).min(b - 1)),
            "Home" => (0, 0),
            "Enter" | " " => {
                e.prevent_default();
                drilled.set(Some((r, c)));
                return;
            }
            _ => return,
        };
        e.prevent_default();
        cursor.set(Some(next));
    };
    let readout = move || -> Option<String> {
        let (r, c) = cursor.get()?;
        summary.with(|s| {
            let s = s.as_ref()?;
            let name = |b: usize| -> Option<String> {
                Some(catalogue.name(s.item(s.summary.representative(b)?)?))
            };
            let size = |b: usize| s.summary.rows_of(b).map_or(0, |r| r.len());
            Some(format!(
                "{} × {}: mean cosine {:.3} — {} ({} images) × {} ({} images); named: the image nearest each block's mean",
                name(r)?,
                name(c)?,
                s.summary.mean(r, c)?,
                s.rows_label(r),
                size(r),
                s.rows_label(c),
                size(c),
            ))
        })
    };
    // The opened block pair, cell by cell: exact cosines of its few dozen rows.
    let drill = Memo::new(move |_| -> Option<Shown> {
        let (r, c) = drilled.get()?;
        summary.with(|s| {
            let s = s.as_ref()?;
            let d = s.summary.drill(&s.rows.slices(), r, c)?;
            let items = |at: &[usize]| -> Option<Arc<[Item]>> {
                at.iter()
                    .map(|&i| s.item(i))
                    .collect::<Option<Vec<_>>>()
                    .map(Into::into)
            };
            let order = (0..d.rows.len()).collect();
            Some(Shown {
                rows: items(&d.rows)?,
                cols: items(&d.cols)?,
                matrix: Arc::new(SimilarityMatrix::ordered(Arc::new(d.cells), order)),
            })
        })
    });
    let drill_title = Signal::derive(move || {
        let Some((r, c)) = drilled.get() else {
            return String::new();
        };
        summary.with(|s| {
            s.as_ref().map_or_else(String::new, |s| {
                format!(
                    "Block {} × {}: {} × {}, every pair",
                    r + 1,
                    c + 1,
                    s.rows_label(r),
                    s.rows_label(c)
                )
            })
        })
    });
    let back = Callback::new(move |()| {
        // Back on the block that was open, so the keyboard carries on from there.
        cursor.set(drilled.get_untracked());
        drilled.set(None);
    });
    let range = Signal::derive(move || {
        summary.with(|s| s.as_ref().map_or((0.0, 1.0), |s| s.summary.range()))
    });

    // The root appears with the summary, so `data-rows` is never a placeholder.
    view! {
        <Show when=move || summary.with(Option::is_some)>
        <div
            class="heatmap-summary"
            data-rows=move || summary.with(|s| s.as_ref().map_or(0, |s| s.summary.len()))
            data-blocks=blocks
        >
                <p class="muted summary-note">
                    {move || summary.with(|s| s.as_ref().map(|s| format!(
                        "{} images: too many to show every pair, so each square is the mean cosine between two blocks of about {} consecutive rows. Click a square (or press Enter) to see its pairs.",
                        s.summary.len(),
                        s.summary.len().div_ceil(s.summary.blocks().max(1)),
                    )))}
                </p>
                {move || paint_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <Show
                    when=move || drilled.get().is_none()
                    fallback=move || view! {
                        <SimilarityDrill shown=drill title=drill_title on_back=back catalogue=catalogue selected=selected />
                    }
                >
                    <div class="heatmap-wrap">
                        <canvas
                            class="summary-map"
                            tabindex="0"
                            role="img"
                            aria-label="Mean cosine similarity between blocks of images; use the arrow keys to read blocks and Enter to open one"
                            node_ref=canvas
                            on:mousemove=move |e| cursor.set(block_at(&e))
                            on:mouseleave=move |_| cursor.set(None)
                            on:click=move |e| {
                                if let Some(b) = block_at(&e) {
                                    drilled.set(Some(b));
                                }
                            }
                            on:keydown=on_key
                        ></canvas>
                        <ColourBar range=range />
                    </div>
                    <p class="heatmap-readout" aria-live="polite">
                        {move || readout().unwrap_or_else(|| "Hover a square, or focus the map and use the arrow keys.".into())}
                    </p>
                </Show>
        </div>
        </Show>
    }
}
