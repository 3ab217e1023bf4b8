//! The few-shot classifier: trained in the worker on the images that carry a
//! ground-truth label (at least two classes of two), it reports held-out accuracy by
//! stratified k-fold cross-validation — multinomial logistic regression and a kNN
//! baseline — and predicts a label for every unlabelled image.
//!
//! At 10 000 images training takes seconds to tens of seconds: the worker reports its
//! progress, shown with the time taken and an estimate of the rest, and the
//! predictions (one per unlabelled image) are a virtualised table.

use std::sync::Arc;

use leptos::prelude::*;

use crate::ui::typed;
use leptos::task::spawn_local;

use crate::state::{distinct_labels, embedded, ImageItem, Images};
use crate::ui::widgets::busy_line::BusyLine;
use crate::ui::widgets::virtual_list::{Rows, VirtualList};
use crate::work::analyses::Analyst;
use crate::worker::protocol::Classification;

#[derive(Clone, PartialEq)]
struct Report {
    classes: Vec<String>,
    folds: usize,
    evaluated: usize,
    logistic: f64,
    knn: f64,
    millis: f64,
    /// (image id, logistic label, probability, kNN label)
    predictions: Arc<Vec<(u64, String, f64, String)>>,
}

/// A prediction row: one line of text.
const ROW_HEIGHT: f64 = 30.0;

#[component]
pub fn ClassifierView(#[prop(into)] images: Signal<Images>, analyst: Analyst) -> impl IntoView {
    let folds = RwSignal::new(5usize);
    let report = RwSignal::new(None::<Result<Report, String>>);
    let busy = RwSignal::new(false);
    let fraction = RwSignal::new(None::<f32>);
    let train = move || {
        let e = images.with_untracked(|v| embedded(v));
        let items: Vec<ImageItem> = e.iter().map(|(i, _)| *i).collect();
        let classes = untrack(|| distinct_labels(&items));
        let counts: Vec<usize> = classes
            .iter()
            .map(|c| {
                e.iter()
                    .filter(|(i, _)| i.label.get_untracked() == *c)
                    .count()
            })
            .collect();
        if classes.len() < 2 || counts.iter().any(|&n| n < 2) {
            report.set(Some(Err(format!(
                "Training needs at least two labels with two embedded images each; now: {}.",
                if classes.is_empty() {
                    "no labelled image".to_string()
                } else {
                    classes
                        .iter()
                        .zip(&counts)
                        .map(|(c, n)| format!("{c} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ))));
            return;
        }
        let labelled: Vec<(usize, usize)> = e
            .iter()
            .enumerate()
            .filter_map(|(row, (i, _))| {
                classes
                    .iter()
                    .position(|c| *c == i.label.get_untracked())
                    .map(|c| (row, c))
            })
            .collect();
        let ids: Vec<u64> = e.iter().map(|(i, _)| i.id).collect();
        let vectors = e.into_iter().map(|(_, v)| v.to_vec()).collect();
        let folds = folds.get_untracked();
        busy.set(true);
        fraction.set(None);
        spawn_local(async move {
            let r = analyst
                .classify(vectors, labelled, classes.len(), folds, move |f| {
                    fraction.try_set(Some(f));
                })
                .await
                .map(|(c, millis)| {
                    let Classification {
                        folds,
                        evaluated,
                        logistic_accuracy,
                        knn_accuracy,
                        predictions,
                    } = c;
                    Report {
                        folds,
                        evaluated,
                        logistic: logistic_accuracy,
                        knn: knn_accuracy,
                        millis,
                        predictions: Arc::new(
                            predictions
                                .into_iter()
                                .map(|(row, c, p, k)| {
                                    (ids[row], classes[c].clone(), p, classes[k].clone())
                                })
                                .collect(),
                        ),
                        classes,
                    }
                })
                .map_err(|e| e.to_string());
            // The view may have gone (another tab) while the worker trained.
            report.try_set(Some(r));
            busy.try_set(false);
        });
    };
    let predictions = move |rows: Arc<Vec<(u64, String, f64, String)>>| {
        let n = rows.len();
        let row = move |i: usize| {
            let (id, label, p, knn) = rows[i].clone();
            let name = images
                .with_untracked(|v| v.get(id).map(|i| i.name.get_value()))
                .unwrap_or_default();
            let title = name.clone();
            view! { <tr><td class="image" title=title>{name}</td><td>{label}</td><td>{format!("{p:.3}")}</td><td>{knn}</td></tr> }
        };
        view! {
            <div class="predictions">
                <p class="caption">{format!("Predictions for the {n} unlabelled images")}</p>
                <table class="predictions-head" aria-hidden="true">
                    <thead><tr><th class="image">"Image"</th><th>"Logistic"</th><th>"p"</th><th>"kNN"</th></tr></thead>
                </table>
                <VirtualList
                    rows=n
                    row_height=ROW_HEIGHT
                    element=Rows::Table
                    class="predictions-rows"
                    label="Predictions: image, logistic label, probability, kNN label"
                    key=|i| i
                    children=row
                />
            </div>
        }
    };
    view! {
        <div class="classifier">
            <p class="muted">
                "Trains on the images that have a ground-truth label (the folder name, or typed on the thumbnail) "
                "and predicts the others. Accuracy is measured on held-out folds."
            </p>
            <div class="controls">
                <label>"Folds " <input type="number" class="folds" min="2" max="10" prop:value=move || folds.get()
                    on:change=move |e| if let Some(v) = count(&e) { folds.set(v.clamp(2, 10)) } /></label>
                <button class="train" disabled=move || busy.get() on:click=move |_| train()>
                    {move || if busy.get() { "Training…" } else { "Train and cross-validate" }}
                </button>
            </div>
            <Show when=move || busy.get()>
                <BusyLine what="Training" fraction=fraction />
            </Show>
            {move || report.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Ok(r) => view! {
                    <p class="cv-result" data-logistic=r.logistic data-knn=r.knn>
                        <strong>{format!("Logistic regression: {:.1} % held-out accuracy", r.logistic * 100.0)}</strong>
                        {format!(" · kNN (k = 5): {:.1} % · {} images, {} classes, {}-fold · {:.0} ms in a worker",
                            r.knn * 100.0, r.evaluated, r.classes.len(), r.folds, r.millis)}
                    </p>
                    {predictions(r.predictions)}
                }.into_any(),
            })}
        </div>
    }
}

/// A count typed into a field (a function, because the view macro cannot hold a
/// turbofish).
fn count(e: &leptos::ev::Event) -> Option<usize> {
    typed(e)
}
