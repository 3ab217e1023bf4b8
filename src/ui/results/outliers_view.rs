//! Outliers: every embedded image scored by its mean cosine distance to its k nearest
//! neighbours in a reference set (all images, or those with one ground-truth label),
//! ranked; images over the threshold are marked in the gallery, and the scores go to
//! the session (the gallery sorts and filters by them). Scored in the worker, which
//! reports its progress; the ranking is a virtualised list, so 10 000 scored images
//! cost the DOM a screenful of rows.

use std::collections::HashMap;
use std::sync::Arc;

use leptos::prelude::*;

use crate::ui::typed;
use leptos::task::spawn_local;

use crate::state::{distinct_labels, embedded, Images};
use crate::ui::images::image_chip::ImageChip;
use crate::ui::widgets::busy_line::BusyLine;
use crate::ui::widgets::virtual_list::VirtualList;
use crate::work::analyses::Analyst;

/// A ranking row: a chip of one line.
const ROW_HEIGHT: f64 = 44.0;

#[derive(Clone, PartialEq)]
struct Scored {
    /// Image ids and their scores, ranked from the most outlying.
    ranked: Vec<(u64, f32)>,
    millis: f64,
    max: f32,
}

#[component]
pub fn OutliersView(
    #[prop(into)] images: Signal<Images>,
    selected: RwSignal<Option<u64>>,
    marked: RwSignal<Vec<u64>>,
    /// Where the scores go, image id → score (the gallery reads them).
    outlier_scores: RwSignal<Arc<HashMap<u64, f32>>>,
    analyst: Analyst,
) -> impl IntoView {
    let k = RwSignal::new(5usize);
    let reference = RwSignal::new(String::new());
    let threshold = RwSignal::new(None::<f32>);
    let result = RwSignal::new(None::<Result<Arc<Scored>, String>>);
    let busy = RwSignal::new(false);
    let fraction = RwSignal::new(None::<f32>);
    let labels = Memo::new(move |_| images.with(|v| distinct_labels(v)));
    let score = move || {
        let e = images.with_untracked(|v| embedded(v));
        let ids: Vec<u64> = e.iter().map(|(i, _)| i.id).collect();
        let r = reference.get_untracked();
        let refs: Vec<usize> = e
            .iter()
            .enumerate()
            .filter(|(_, (i, _))| r.is_empty() || i.label.get_untracked() == r)
            .map(|(n, _)| n)
            .collect();
        let vectors = e.into_iter().map(|(_, v)| v.to_vec()).collect();
        let k = k.get_untracked();
        busy.set(true);
        fraction.set(None);
        spawn_local(async move {
            let outcome = analyst
                .outliers(vectors, refs, k, move |f| {
                    fraction.try_set(Some(f));
                })
                .await
                .map_err(|e| e.to_string());
            // The view may have gone (another tab) while the worker scored: the scores
            // still reach the session, the view's own signals only if they still exist.
            let outcome = outcome.map(|(scores, millis)| {
                outlier_scores.try_set(Arc::new(
                    ids.iter().copied().zip(scores.iter().copied()).collect(),
                ));
                let order = medinsight_core::analysis::neighbours::rank_desc(&scores);
                let ranked: Vec<(u64, f32)> =
                    order.into_iter().map(|i| (ids[i], scores[i])).collect();
                let max = scores.iter().copied().fold(0f32, f32::max);
                Arc::new(Scored {
                    ranked,
                    millis,
                    max,
                })
            });
            if let Ok(s) = &outcome {
                // Start with the top tenth marked (at least one image).
                let n = (s.ranked.len() / 10).max(1);
                threshold.try_set(match (s.ranked.get(n - 1), s.ranked.get(n)) {
                    (Some(a), Some(b)) => Some((a.1 + b.1) / 2.0),
                    (Some(a), None) => Some(a.1 - 1e-6),
                    _ => None,
                });
            }
            result.try_set(Some(outcome));
            busy.try_set(false);
        });
    };
    // Marks follow the threshold (syncs the gallery, outside this view). The ranking is
    // sorted, so the marked ones are a prefix.
    Effect::new(move |_| {
        let marks = match (result.get(), threshold.get()) {
            (Some(Ok(s)), Some(t)) => s
                .ranked
                .iter()
                .take_while(|(_, v)| *v > t)
                .map(|(id, _)| *id)
                .collect(),
            _ => Vec::new(),
        };
        marked.set(marks);
    });
    let ranking = move |s: Arc<Scored>| {
        let rows = s.ranked.len();
        let key_of = s.clone();
        let row_of = s.clone();
        view! {
            <VirtualList
                rows=rows
                row_height=ROW_HEIGHT
                class="chips outlier-ranking"
                label="Images ranked from the most outlying"
                key=move |i| key_of.ranked[i].0
                children=move |i| {
                    let (id, score) = row_of.ranked[i];
                    images
                        .with_untracked(|v| v.get(id))
                        .map(|item| view! { <ImageChip item=item figure=format!("{score:.3}") selected=selected /> })
                }
            />
        }
    };
    view! {
        <div class="outliers">
            <div class="controls">
                <label>"Reference "
                    <select class="outlier-reference" prop:value=move || reference.get() on:change=move |e| reference.set(event_target_value(&e))>
                        <option value="">"all images"</option>
                        {move || labels.get().into_iter().map(|l| view! { <option value=l.clone()>{format!("images labelled {l}")}</option> }).collect_view()}
                    </select>
                </label>
                <label>"k " <input type="number" class="outlier-k" min="1" max="50" prop:value=move || k.get()
                    on:change=move |e| if let Some(v) = count(&e) { k.set(v.clamp(1, 50)) } /></label>
                <button class="score-outliers" disabled=move || busy.get() on:click=move |_| score()>
                    {move || if busy.get() { "Scoring…" } else { "Score outliers" }}
                </button>
            </div>
            <Show when=move || busy.get()>
                <BusyLine what="Scoring" fraction=fraction />
            </Show>
            {move || match result.get() {
                None => view! { <p class="muted">"Scores each image by its mean cosine distance to its k nearest neighbours."</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Some(Ok(s)) => {
                    let max = s.max;
                    view! {
                        <label class="threshold">"Mark above "
                            <input type="range" class="outlier-threshold" min="0" max=max step="any"
                                prop:value=move || threshold.get().unwrap_or(max)
                                on:input=move |e| threshold.set(event_target_value(&e).parse().ok()) />
                            {move || format!(" {:.3} ({} marked)", threshold.get().unwrap_or(max), marked.with(Vec::len))}
                        </label>
                        <p class="muted">{format!("Scored {} images in {:.0} ms (in a worker).", s.ranked.len(), s.millis)}</p>
                        {ranking(s)}
                    }.into_any()
                }
            }}
        </div>
    }
}

/// A count typed into a field (a function, because the view macro cannot hold a
/// turbofish).
fn count(e: &leptos::ev::Event) -> Option<usize> {
    typed(e)
}
