//! The Similarity tab: cosine similarity as a heatmap — image–image, text–text or
//! image–text — ordered as loaded, clustered, or by ground-truth label.
//!
//! Up to `SUMMARY_FROM` (1 024) rows every cell is shown ([`SimilarityFull`]); beyond,
//! the square matrix is summarised by blocks of consecutive rows at the screen's
//! resolution, and a block opens onto its exact cells ([`SimilaritySummary`]). Between
//! 1 024 and `MAX_FULL` (2 048) rows — more rows than the map has pixels — the summary
//! comes first and every cell is one click away. The
//! image–text matrix is always full (10 000 images × a few labels is small).
//!
//! The maths runs in the analyses worker (`work::analyses`), never on the page's
//! thread, except for matrices so small (`SMALL_CELLS`) that sending the vectors would
//! cost more than the work: those are computed here, at once, as the tab opens. Jobs are
//! keyed on the vectors alone — the items' ids and their vectors' identity (`Arc`) —
//! not on names or labels, so renaming or relabelling recomputes nothing: the cosines
//! come back in loaded order, and an order (by label, or the clustered order, itself a
//! job of its own kept while the vectors stay) is a list of indices the page applies.
//! Only the summary by label is a job of the label order, because its blocks are made
//! of the rows the order puts together. While a job runs the tab shows an element with
//! `data-busy`; a job that fails or times out says so, naming the similarity matrix.

use std::sync::Arc;

use leptos::prelude::*;
use medinsight_core::analysis::blocks::{BlockSummary, MAX_FULL};

use medinsight_core::analysis::ordering::clustered_order;
use medinsight_core::analysis::similarity::{truth_order, Cosines, SimilarityMatrix};
use medinsight_core::analysis::Embeddings;

use crate::state::{Images, LabelItem};
use crate::ui::results::similarity_full::{Shown, SimilarityFull};
use crate::ui::results::similarity_summary::{SimilaritySummary, Summarised, SUMMARY_BLOCKS};
use crate::work::analyses::Analyst;
use crate::work::latest::Latest;
use crate::worker::protocol::{SummaryOrder, WorkerError};

/// Above this many rows the map has fewer pixels than rows: the summary comes first.
const SUMMARY_FROM: usize = 1024;

/// Up to this many cells (a 128 × 128 matrix, about 8 million multiply-adds, a few
/// milliseconds) the cosines are computed on the page, synchronously: the worker's
/// round trip would cost more, and the map is there the moment the tab opens.
const SMALL_CELLS: usize = 128 * 128;

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

/// A row or column of a matrix: an image or a text, by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    pub id: u64,
    pub is_image: bool,
}

/// The items of a matrix's rows (or columns) and their vectors, in loaded order. Equal
/// when the same items have the very same vectors (`Arc` identity): what a job is keyed
/// on, so that a label edit, which changes neither, recomputes nothing.
#[derive(Clone, Debug, Default)]
pub struct Rows {
    pub items: Arc<[Item]>,
    pub vectors: Arc<[Arc<Vec<f32>>]>,
}

impl PartialEq for Rows {
    fn eq(&self, o: &Self) -> bool {
        self.items == o.items
            && self.vectors.len() == o.vectors.len()
            && self
                .vectors
                .iter()
                .zip(o.vectors.iter())
                .all(|(a, b)| Arc::ptr_eq(a, b))
    }
}

impl Rows {
    fn new(rows: impl Iterator<Item = (Item, Arc<Vec<f32>>)>) -> Self {
        let (items, vectors): (Vec<Item>, Vec<Arc<Vec<f32>>>) = rows.unzip();
        Self {
            items: items.into(),
            vectors: vectors.into(),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The vectors as slices, as the core takes them.
    pub fn slices(&self) -> Vec<&[f32]> {
        self.vectors.iter().map(|v| v.as_slice()).collect()
    }

    /// The vectors as the worker protocol carries them (a copy; the texts' few).
    fn owned(&self) -> Vec<Vec<f32>> {
        self.vectors.iter().map(|v| v.to_vec()).collect()
    }
}

/// What the user is told about an item.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub id: u64,
    pub name: String,
    pub truth: String,
    pub preview: Option<String>,
    pub is_image: bool,
}

/// Where names, labels and previews are looked up, by id, when shown (tracked, so a
/// renamed label shows at once without any matrix being recomputed).
#[derive(Clone, Copy)]
pub struct Catalogue {
    pub images: Signal<Images>,
    pub labels: Signal<Vec<LabelItem>>,
}

impl Catalogue {
    pub fn entry(&self, item: Item) -> Entry {
        let gone = || Entry {
            id: item.id,
            name: "(removed)".into(),
            truth: String::new(),
            preview: None,
            is_image: item.is_image,
        };
        if item.is_image {
            self.images
                .with(|v| {
                    v.get(item.id).map(|i| Entry {
                        id: item.id,
                        name: i.name.get_value(),
                        truth: i.label.get(),
                        preview: i.preview_url.get(),
                        is_image: true,
                    })
                })
                .unwrap_or_else(gone)
        } else {
            self.labels
                .with(|v| {
                    v.iter().find(|l| l.id == item.id).map(|l| Entry {
                        id: item.id,
                        name: l.text.get(),
                        truth: String::new(),
                        preview: None,
                        is_image: false,
                    })
                })
                .unwrap_or_else(gone)
        }
    }

    pub fn name(&self, item: Item) -> String {
        if item.is_image {
            self.images
                .with(|v| v.get(item.id).map(|i| i.name.get_value()))
                .unwrap_or_else(|| "(removed)".into())
        } else {
            self.entry(item).name
        }
    }

    /// The ground-truth label of an image ("" for a text or an unlabelled image).
    fn truth(&self, item: Item) -> String {
        if !item.is_image {
            return String::new();
        }
        self.images
            .with(|v| v.get(item.id).map(|i| i.label.get()))
            .unwrap_or_default()
    }

    /// The order of `rows` by ground-truth label (tracked: a label edit reorders).
    fn truth_order(&self, rows: &Rows) -> Vec<usize> {
        let truths: Vec<String> = rows.items.iter().map(|&i| self.truth(i)).collect();
        let refs: Vec<&str> = truths.iter().map(String::as_str).collect();
        truth_order(&refs, rows.len())
    }
}

/// A full matrix's job: its rows, and its columns when they are other items.
#[derive(Clone, Debug, PartialEq)]
struct CellsKey {
    rows: Rows,
    cols: Option<Rows>,
}

impl CellsKey {
    fn cells(&self) -> usize {
        self.rows.len() * self.cols.as_ref().map_or(self.rows.len(), Rows::len)
    }

    /// Computed here, now (small matrices only).
    fn compute(&self) -> Cosines {
        let r = Embeddings::new(&self.rows.slices());
        match &self.cols {
            None => Cosines::of(&r),
            Some(c) => Cosines::between(&r, &Embeddings::new(&c.slices())),
        }
    }
}

/// A summary's job: its rows and the order they are cut into blocks in.
#[derive(Clone, Debug, PartialEq)]
struct SummaryKey {
    rows: Rows,
    order: SummaryOrder,
}

#[component]
pub fn SimilarityHeatmap(
    #[prop(into)] images: Signal<Images>,
    labels: RwSignal<Vec<LabelItem>>,
    selected: RwSignal<Option<u64>>,
    analyst: Analyst,
) -> impl IntoView {
    let kind = RwSignal::new(Kind::Images);
    let order = RwSignal::new(Order::Loaded);
    let catalogue = Catalogue {
        images,
        labels: labels.into(),
    };

    // The vectors, by identity: these memos change only when an embedding does, never
    // on a name or label edit (neither is read here).
    let image_rows = Memo::new(move |_| {
        images.with(|v| {
            Rows::new(v.iter().filter_map(|i| {
                let item = Item {
                    id: i.id,
                    is_image: true,
                };
                Some((item, i.current_vector()?))
            }))
        })
    });
    let text_rows = Memo::new(move |_| {
        labels.with(|v| {
            Rows::new(v.iter().filter_map(|l| {
                let item = Item {
                    id: l.id,
                    is_image: false,
                };
                Some((item, l.current_vector()?))
            }))
        })
    });
    let rows = Memo::new(move |_| match kind.get() {
        Kind::Texts => text_rows.get(),
        _ => image_rows.get(),
    });
    let cols = Memo::new(move |_| (kind.get() == Kind::ImagesTexts).then(|| text_rows.get()));
    // Texts have no ground truth: by label, they keep their loaded order.
    let order_now = Memo::new(move |_| match (kind.get(), order.get()) {
        (Kind::Texts, Order::Truth) => Order::Loaded,
        (_, o) => o,
    });
    // Between SUMMARY_FROM and MAX_FULL rows the user may ask for every cell.
    let every_cell = RwSignal::new(false);
    let can_show_every_cell = Memo::new(move |_| {
        cols.with(Option::is_none) && (SUMMARY_FROM + 1..=MAX_FULL).contains(&rows.with(Rows::len))
    });
    let summarised = Memo::new(move |_| {
        let n = rows.with(Rows::len);
        cols.with(Option::is_none) && (n > MAX_FULL || (n > SUMMARY_FROM && !every_cell.get()))
    });

    // What the view needs now, as job keys (None: nothing to compute).
    let cells_key = Memo::new(move |_| {
        let key = CellsKey {
            rows: rows.get(),
            cols: cols.get(),
        };
        (!summarised.get() && key.cells() > 0).then_some(key)
    });
    let small = Memo::new(move |_| {
        cells_key.with(|k| matches!(k.as_ref().map(CellsKey::cells), Some(c) if c <= SMALL_CELLS))
    });
    let order_key = Memo::new(move |_| {
        (order_now.get() == Order::Clustered && cells_key.with(Option::is_some)).then(|| rows.get())
    });
    let summary_key = Memo::new(move |_| {
        if !summarised.get() {
            return None;
        }
        let rows = rows.get();
        let order = match order_now.get() {
            Order::Loaded => SummaryOrder::Loaded,
            Order::Clustered => SummaryOrder::Clustered,
            Order::Truth => SummaryOrder::Given(catalogue.truth_order(&rows)),
        };
        Some(SummaryKey { rows, order })
    });

    let cells_jobs = Latest::<CellsKey, Arc<Cosines>, WorkerError>::new(1);
    let order_jobs = Latest::<Rows, Arc<Vec<usize>>, WorkerError>::new(1);
    // Loaded, clustered and by label: switching back and forth costs nothing.
    let summary_jobs = Latest::<SummaryKey, Arc<BlockSummary>, WorkerError>::new(3);

    // Small matrices, and their clustered order, right here.
    let small_cells = Memo::new(move |_| {
        if !small.get() {
            return None;
        }
        cells_key.with(|k| k.as_ref().map(|k| Arc::new(k.compute())))
    });
    let small_order = Memo::new(move |_| {
        if !small.get() {
            return None;
        }
        order_key.with(|k| {
            k.as_ref()
                .map(|r| Arc::new(clustered_order(&Embeddings::new(&r.slices()))))
        })
    });

    // The worker's jobs, asked whenever the keys change (and only then).
    Effect::new(move |_| {
        if small.get() {
            return;
        }
        if let Some(key) = cells_key.get() {
            cells_jobs.want(key, move |k: CellsKey| async move {
                let cols = k.cols.as_ref().map(Rows::owned);
                let (cells, _) = analyst.similarity_cells(&k.rows.vectors, cols).await?;
                Ok(Arc::new(cells))
            });
        }
    });
    Effect::new(move |_| {
        if small.get() {
            return;
        }
        if let Some(key) = order_key.get() {
            order_jobs.want(key, move |r: Rows| async move {
                let (order, _) = analyst.similarity_order(&r.vectors).await?;
                Ok(Arc::new(order))
            });
        }
    });
    Effect::new(move |_| {
        if let Some(key) = summary_key.get() {
            summary_jobs.want(key, move |k: SummaryKey| async move {
                let (summary, _) = analyst
                    .similarity_summary(&k.rows.vectors, k.order.clone(), SUMMARY_BLOCKS)
                    .await?;
                Ok(Arc::new(summary))
            });
        }
    });

    let cells_answer = move || -> Option<Result<Arc<Cosines>, WorkerError>> {
        if let Some(c) = small_cells.get() {
            return Some(Ok(c));
        }
        cells_key.with(|k| k.as_ref().and_then(|k| cells_jobs.answer(k)))
    };
    let order_answer = move || -> Option<Result<Arc<Vec<usize>>, WorkerError>> {
        if let Some(o) = small_order.get() {
            return Some(Ok(o));
        }
        order_key.with(|k| k.as_ref().and_then(|k| order_jobs.answer(k)))
    };
    let summary_answer =
        move || summary_key.with(|k| k.as_ref().and_then(|k| summary_jobs.answer(k)));

    // The full matrix in the order picked. Until the clustered order arrives the rows
    // stay as loaded; until new cosines arrive (vectors embedded during a run) the last
    // ones stay, with their own rows, under the busy line.
    let shown = Memo::new(move |_| -> Option<Shown> {
        let key = cells_key.get()?;
        let (key, cells) = match cells_answer() {
            Some(Ok(cells)) => (key, cells),
            _ => cells_jobs
                .newest()
                .filter(|(k, _)| k.cols.is_some() == key.cols.is_some())?,
        };
        let at = match order_now.get() {
            Order::Loaded => (0..key.rows.len()).collect(),
            Order::Clustered => small_order
                .get()
                .filter(|_| small.get())
                .or_else(|| order_jobs.answer(&key.rows).and_then(Result::ok))
                .map_or_else(|| (0..key.rows.len()).collect(), |o| o.to_vec()),
            Order::Truth => catalogue.truth_order(&key.rows),
        };
        let cols = key.cols.as_ref().unwrap_or(&key.rows).items.clone();
        Some(Shown {
            matrix: Arc::new(SimilarityMatrix::ordered(cells, at)),
            rows: key.rows.items.clone(),
            cols,
        })
    });
    // The summary, or the last one while the next is computed (same as above).
    let summary = Memo::new(move |_| -> Option<Summarised> {
        summary_key.get()?;
        let (rows, s) = match summary_answer() {
            Some(Ok(s)) => (summary_key.get()?.rows, s),
            _ => summary_jobs.newest().map(|(k, s)| (k.rows, s))?,
        };
        Some(Summarised { summary: s, rows })
    });

    // Computing: an answer the view needs has not come yet.
    let busy = move || {
        let missing = |a: Option<Result<_, _>>| a.is_none();
        (cells_key.with(Option::is_some) && missing(cells_answer().map(|r| r.map(|_| ()))))
            || (order_key.with(Option::is_some) && missing(order_answer().map(|r| r.map(|_| ()))))
            || (summary_key.with(Option::is_some)
                && missing(summary_answer().map(|r| r.map(|_| ()))))
    };
    let failure = move || {
        [
            cells_answer().and_then(|r| r.err()),
            order_answer().and_then(|r| r.err()),
            summary_answer().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.to_string())
    };
    let nothing = move || cells_key.with(Option::is_none) && summary_key.with(Option::is_none);

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
                    <option value="clustered">"clustered (average linkage up to 600, k-means beyond)"</option>
                    <option value="truth">"by ground-truth label"</option>
                </select>
            </label>
            <Show when=move || can_show_every_cell.get()>
                <button
                    class="heatmap-every-cell"
                    aria-pressed=move || every_cell.get().to_string()
                    on:click=move |_| every_cell.update(|e| *e = !*e)
                >
                    {move || if every_cell.get() { "Show the summary" } else { "Show every cell" }}
                </button>
            </Show>
        </div>
        {move || failure().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        {move || busy().then(|| view! {
            <p class="busy muted" data-busy="" aria-live="polite">
                {move || if summarised.get() {
                    format!("Summarising the similarity of {} images…", rows.with(Rows::len))
                } else {
                    "Computing the similarity matrix…".to_string()
                }}
            </p>
        })}
        <Show when=nothing>
            <p class="muted empty">"Nothing to compare yet: embed images (and labels for the text matrices)."</p>
        </Show>
        <Show when=move || summarised.get()>
            <SimilaritySummary summary=summary catalogue=catalogue selected=selected />
        </Show>
        <Show when=move || !summarised.get()>
            <SimilarityFull shown=shown catalogue=catalogue selected=selected />
        </Show>
    }
}
