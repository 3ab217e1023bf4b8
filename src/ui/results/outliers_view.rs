//! Outliers: every embedded image scored by its mean cosine distance to its k nearest
//! neighbours in a reference set (all images, or those with one ground-truth label),
//! ranked; images over the threshold are marked in the gallery. Scored in the worker.

use leptos::prelude::*;

use crate::ui::typed;
use leptos::task::spawn_local;

use crate::state::{distinct_labels, embedded, Images};
use crate::ui::images::image_chip::ImageChip;
use crate::work::analyses::Analyst;

#[derive(Clone, PartialEq)]
struct Scored {
    ids: Vec<u64>,
    scores: Vec<f32>,
    millis: f64,
}

#[component]
pub fn OutliersView(
    #[prop(into)] images: Signal<Images>,
    selected: RwSignal<Option<u64>>,
    marked: RwSignal<Vec<u64>>,
    analyst: Analyst,
) -> impl IntoView {
    let k = RwSignal::new(5usize);
    let reference = RwSignal::new(String::new());
    let threshold = RwSignal::new(None::<f32>);
    let result = RwSignal::new(None::<Result<Scored, String>>);
    let busy = RwSignal::new(false);
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
        spawn_local(async move {
            let outcome = analyst
                .outliers(vectors, refs, k)
                .await
                .map(|(scores, millis)| Scored {
                    ids,
                    scores,
                    millis,
                })
                .map_err(|e| e.to_string());
            if let Ok(s) = &outcome {
                // Start with the top tenth marked (at least one image).
                let mut sorted = s.scores.clone();
                sorted.sort_by(|a, b| b.total_cmp(a));
                let k = (sorted.len() / 10).max(1);
                threshold.set(match (sorted.get(k - 1), sorted.get(k)) {
                    (Some(a), Some(b)) => Some((a + b) / 2.0),
                    (Some(a), None) => Some(a - 1e-6),
                    _ => None,
                });
            }
            result.set(Some(outcome));
            busy.set(false);
        });
    };
    // Marks follow the threshold (syncs the gallery, outside this view).
    Effect::new(move |_| {
        let marks = match (result.get(), threshold.get()) {
            (Some(Ok(s)), Some(t)) => s
                .ids
                .iter()
                .zip(&s.scores)
                .filter(|(_, &v)| v > t)
                .map(|(id, _)| *id)
                .collect(),
            _ => Vec::new(),
        };
        marked.set(marks);
    });
    let ranked = move || {
        result.get().map(|r| {
            r.map(|s| {
                let order = medinsight_core::analysis::neighbours::rank_desc(&s.scores);
                (
                    order
                        .into_iter()
                        .map(|i| (s.ids[i], s.scores[i]))
                        .collect::<Vec<_>>(),
                    s.millis,
                    s.scores,
                )
            })
        })
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
            {move || match ranked() {
                None => view! { <p class="muted">"Scores each image by its mean cosine distance to its k nearest neighbours."</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Some(Ok((ranked, millis, scores))) => {
                    let max = scores.iter().copied().fold(0f32, f32::max);
                    view! {
                        <label class="threshold">"Mark above "
                            <input type="range" class="outlier-threshold" min="0" max=max step="any"
                                prop:value=move || threshold.get().unwrap_or(max)
                                on:input=move |e| threshold.set(event_target_value(&e).parse().ok()) />
                            {move || format!(" {:.3} ({} marked)", threshold.get().unwrap_or(max), marked.with(Vec::len))}
                        </label>
                        <p class="muted">{format!("Scored {} images in {:.0} ms (in a worker).", ranked.len(), millis)}</p>
                        <ol class="chips outlier-ranking">
                            {ranked.into_iter().filter_map(|(id, s)| images.with_untracked(|v| v.get(id)).map(|item| view! {
                                <ImageChip item=item figure=format!("{s:.3}") selected=selected />
                            })).collect_view()}
                        </ol>
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
