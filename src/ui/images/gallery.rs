//! The loaded images as a virtualised grid of cards: only the rows on screen (and a few
//! either side) exist in the DOM, so 10 000 images cost what 30 do. Above it, the counts
//! by stage, the filter and sort ([`GalleryFilter`]) and the actions on the picked images
//! ([`SelectionBar`]).
//!
//! What is shown is one memo: the images' facts through the core's
//! [`Query`](medinsight_core::view::query::Query), as ids in display order. It reads an
//! image's label or stage only when the query filters or sorts by them, so a run that
//! moves 10 000 images through their stages does not re-sort the gallery each time.
//! Picking follows a file manager (click, ctrl/cmd-click, shift-click over the order
//! shown, ctrl/cmd-A for all shown, Escape for none); the inspector shows the image last
//! clicked.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use medinsight_core::view::query::{Facts, LabelFilter, Query, SortKey};
use medinsight_core::view::selection::Selection;
use medinsight_core::view::window::{columns, Window};
use wasm_bindgen::prelude::*;

use crate::state::{Images, Verdict};
use crate::ui::images::gallery_filter::GalleryFilter;
use crate::ui::images::image_card::{ImageCard, Pick};
use crate::ui::images::selection_bar::SelectionBar;

/// A card's height in pixels (the CSS grid's rows are this tall).
const CARD_HEIGHT: f64 = 196.0;
/// The gap between cards, in pixels.
const GAP: f64 = 8.0;
/// The narrowest a column may be (a card and its gap).
const MIN_COLUMN: f64 = 124.0;
/// Rows drawn above and below the viewport, so a quick scroll does not show blanks.
const OVERSCAN: usize = 3;

#[component]
pub fn Gallery(
    #[prop(into)] images: Signal<Images>,
    /// The image the inspector shows.
    selected: RwSignal<Option<u64>>,
    /// The images picked for actions on many.
    selection: RwSignal<Selection>,
    /// Images marked by the outlier view.
    #[prop(into)]
    marked: Signal<Vec<u64>>,
    #[prop(into)] outlier_scores: Signal<Arc<HashMap<u64, f32>>>,
    /// Each embedded image's zero-shot verdict (read only when the query needs it).
    #[prop(into)]
    verdicts: Signal<Option<Arc<HashMap<u64, Verdict>>>>,
    /// The labels' texts, for the prediction filter.
    #[prop(into)]
    prompts: Signal<Vec<String>>,
    on_remove: Callback<u64>,
    on_clear: Callback<()>,
    on_remove_many: Callback<HashSet<u64>>,
    on_label_many: Callback<(HashSet<u64>, String)>,
) -> impl IntoView {
    let query = RwSignal::new(Query::default());
    let shown =
        Memo::new(move |_| shown_ids(&query.get(), images, selection, outlier_scores, verdicts));
    let ground_truths = Memo::new(move |_| images.with(|v| v.distinct_labels()));
    let counts = move || {
        images.with(|v| {
            let mut by_stage = BTreeMap::<&'static str, usize>::new();
            for i in v {
                *by_stage.entry(i.stage.with(|s| s.word())).or_default() += 1;
            }
            by_stage
                .into_iter()
                .map(|(w, n)| format!("{n} {w}"))
                .collect::<Vec<_>>()
                .join(" · ")
        })
    };

    // The viewport, measured on mount and whenever it is resized.
    let scroller = NodeRef::<html::Div>::new();
    let scroll_top = RwSignal::new(0.0);
    let viewport = RwSignal::new((0.0, 0.0));
    let measure = move || {
        if let Some(el) = scroller.get_untracked() {
            viewport.set((f64::from(el.client_width()), f64::from(el.client_height())));
        }
    };
    observe_size(scroller, measure);
    let window = move || {
        let (width, height) = viewport.get();
        Window {
            scroll_top: scroll_top.get(),
            viewport_height: height,
            row_height: CARD_HEIGHT + GAP,
            per_row: columns(width + GAP, MIN_COLUMN),
            overscan: OVERSCAN,
        }
    };
    let visible = move || {
        let w = window();
        shown.with(|ids| ids[w.items(ids.len())].to_vec())
    };
    let spacer = move || {
        let w = window();
        format!("height: {}px", shown.with(|ids| w.total_height(ids.len())))
    };
    let slice_style = move || {
        let w = window();
        let offset = shown.with(|ids| w.offset(ids.len()));
        format!(
            "transform: translateY({offset}px); grid-template-columns: repeat({}, minmax(0, 1fr)); grid-auto-rows: {CARD_HEIGHT}px; gap: {GAP}px",
            w.per_row
        )
    };

    let on_pick = Callback::new(move |(id, how): (u64, Pick)| match how {
        Pick::One => {
            if selected.get_untracked() == Some(id) {
                selected.set(None);
                selection.update(Selection::clear);
            } else {
                selected.set(Some(id));
                selection.update(|s| s.pick(id));
            }
        }
        Pick::Toggle => selection.update(|s| s.toggle(id)),
        Pick::Extend => shown.with_untracked(|order| selection.update(|s| s.extend_to(id, order))),
    });
    let select_all = Callback::new(move |()| {
        shown.with_untracked(|ids| selection.update(|s| s.replace(ids.iter().copied())))
    });
    let select_none = Callback::new(move |()| selection.update(Selection::clear));
    let picked = move || selection.with_untracked(|s| s.ids().collect::<HashSet<u64>>());
    let on_keydown = move |e: ev::KeyboardEvent| {
        if (e.ctrl_key() || e.meta_key()) && e.key().eq_ignore_ascii_case("a") {
            e.prevent_default();
            select_all.run(());
        } else if e.key() == "Escape" {
            select_none.run(());
        }
    };

    view! {
        <Show when=move || images.with(|v| !v.is_empty())>
            <div class="gallery-bar">
                <span class="gallery-counts" aria-live="polite">
                    {move || format!("{} images: {}", images.with(|v| v.len()), counts())}
                </span>
                <button class="clear-images" on:click=move |_| on_clear.run(())>
                    "Remove all"
                </button>
            </div>
            <GalleryFilter query=query ground_truths=ground_truths prompts=prompts />
            <SelectionBar
                picked=Signal::derive(move || selection.with(Selection::len))
                shown=Signal::derive(move || shown.with(Vec::len))
                on_all=select_all
                on_none=select_none
                on_label=Callback::new(move |label: String| on_label_many.run((picked(), label)))
                on_remove=Callback::new(move |()| on_remove_many.run(picked()))
            />
        </Show>
        <div
            class="gallery-scroll"
            node_ref=scroller
            tabindex="-1"
            on:scroll=move |_| {
                if let Some(el) = scroller.get_untracked() {
                    scroll_top.set(f64::from(el.scroll_top()));
                }
            }
            on:keydown=on_keydown
        >
            <div class="gallery-space" style=spacer>
                <ul class="gallery" aria-label="Loaded images" style=slice_style>
                    <For each=visible key=|id| *id let:id>
                        {move || {
                            images
                                .with_untracked(|v| v.get(id))
                                .map(|item| {
                                    view! {
                                        <ImageCard
                                            item=item
                                            inspected=Signal::derive(move || selected.get() == Some(id))
                                            picked=Signal::derive(move || selection.with(|s| s.contains(id)))
                                            marked=Signal::derive(move || marked.with(|m| m.contains(&id)))
                                            on_pick=on_pick
                                            on_remove=on_remove
                                        />
                                    }
                                })
                        }}
                    </For>
                </ul>
            </div>
        </div>
    }
}

/// The ids to show, in order. Labels and stages are read (and so followed) only when the
/// query uses them; the selection only when it shows the picked ones alone.
fn shown_ids(
    query: &Query,
    images: Signal<Images>,
    selection: RwSignal<Selection>,
    outlier_scores: Signal<Arc<HashMap<u64, f32>>>,
    verdicts: Signal<Option<Arc<HashMap<u64, Verdict>>>>,
) -> Vec<u64> {
    let by_label = query.label != LabelFilter::Any || query.sort == SortKey::Label;
    let by_stage = query.stage.is_some() || query.sort == SortKey::Stage;
    let scores = (query.sort == SortKey::Outlier).then(|| outlier_scores.get());
    let verdicts = if query.needs_predictions() {
        verdicts.get()
    } else {
        None
    };
    let picked = query.picked.then(|| selection.get());
    images.with(|v| {
        let names: Vec<String> = v.iter().map(|i| i.name.get_value()).collect();
        let labels: Vec<String> = v
            .iter()
            .map(|i| {
                if by_label {
                    i.label.get()
                } else {
                    String::new()
                }
            })
            .collect();
        let facts: Vec<Facts> = v
            .iter()
            .enumerate()
            .map(|(k, i)| {
                let verdict = verdicts.as_ref().and_then(|m| m.get(&i.id));
                Facts {
                    name: &names[k],
                    label: &labels[k],
                    stage: if by_stage {
                        i.stage.with(|s| s.word())
                    } else {
                        ""
                    },
                    outlier: scores.as_ref().and_then(|m| m.get(&i.id).copied()),
                    prediction: verdict.map(|v| v.label.as_str()),
                    misclassified: verdict.and_then(|v| v.misclassified),
                    picked: picked.as_ref().is_some_and(|s| s.contains(i.id)),
                }
            })
            .collect();
        query.apply(&facts).into_iter().map(|k| v[k].id).collect()
    })
}

/// Calls `measure` once the element exists and whenever its size changes (a
/// `ResizeObserver`, disconnected with the component). Without one (old browsers), the
/// window's resizes do.
fn observe_size(target: NodeRef<html::Div>, measure: impl Fn() + Clone + 'static) {
    let on_resize = measure.clone();
    let observer = StoredValue::new_local(None::<(web_sys::ResizeObserver, Closure<dyn FnMut()>)>);
    Effect::new(move |_| {
        let Some(el) = target.get() else {
            return;
        };
        measure();
        let callback = Closure::<dyn FnMut()>::new({
            let measure = measure.clone();
            move || measure()
        });
        match web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()) {
            Ok(o) => {
                o.observe(&el);
                observer.set_value(Some((o, callback)));
            }
            Err(_) => {
                let handle = window_event_listener(ev::resize, {
                    let on_resize = on_resize.clone();
                    move |_| on_resize()
                });
                on_cleanup(move || handle.remove());
            }
        }
    });
    on_cleanup(move || {
        if let Some((o, _)) = observer.try_update_value(Option::take).flatten() {
            o.disconnect();
        }
    });
}
