//! Zero-shot scores: for every embedded image, `softmax(exp(scaling_factor) · cosine)`
//! over the labels as bars, the top one highlighted; with ground truth, the accuracy
//! and a confusion matrix.
//!
//! A ground truth counts when exactly one label stands for it (the label is the class
//! name, or ends with it: see `medinsight_core::analysis::evaluation`). The scores
//! come from `medinsight_core::analysis::zero_shot`, the same the CSV export uses.

use std::sync::Arc;

use leptos::prelude::*;
use medinsight_core::analysis::evaluation::{prompt_for, Confusion};
use medinsight_core::analysis::zero_shot::predict;
use medinsight_core::endpoint::wire::ScalingFactor;

use crate::state::{Images, LabelItem};
use crate::ui::widgets::confusion_matrix::ConfusionMatrix;

#[derive(Clone, PartialEq)]
struct Scored {
    id: u64,
    name: String,
    truth: String,
    probabilities: Vec<f64>,
    top: usize,
}

#[derive(Clone, PartialEq, Default)]
struct Scores {
    labels: Vec<String>,
    rows: Vec<Scored>,
    temperature: f64,
    confusion: Option<Confusion>,
}

/// The vectors as slices, as the core takes them (no copies of 1024 floats each).
fn slices(vectors: &[Arc<Vec<f32>>]) -> Vec<&[f32]> {
    vectors.iter().map(|v| v.as_slice()).collect()
}

#[component]
pub fn ZeroShotView(
    #[prop(into)] images: Signal<Images>,
    labels: RwSignal<Vec<LabelItem>>,
    scaling_factor: RwSignal<Option<f64>>,
) -> impl IntoView {
    let scores = Memo::new(move |_| {
        let scaling_factor = ScalingFactor(scaling_factor.get()?);
        let (names, label_vectors): (Vec<String>, Vec<Arc<Vec<f32>>>) = labels.with(|v| {
            v.iter()
                .filter_map(|l| Some((l.text.get(), l.current_vector()?)))
                .unzip()
        });
        let embedded: Vec<(u64, String, String, Arc<Vec<f32>>)> = images.with(|v| {
            v.iter()
                .filter_map(|i| {
                    let vector = i.current_vector()?;
                    Some((i.id, i.name.get_value(), i.label.get(), vector))
                })
                .collect()
        });
        if embedded.is_empty() {
            return None;
        }
        let image_vectors: Vec<&[f32]> = embedded.iter().map(|e| e.3.as_slice()).collect();
        // `None` when no label is embedded: the view then says what it needs.
        let predictions = predict(&image_vectors, &slices(&label_vectors), scaling_factor)?;
        let rows: Vec<Scored> = embedded
            .iter()
            .zip(predictions)
            .map(|((id, name, truth, _), p)| Scored {
                id: *id,
                name: name.clone(),
                truth: truth.clone(),
                probabilities: p.probabilities,
                top: p.top,
            })
            .collect();
        let truth: Vec<Option<usize>> = rows.iter().map(|r| prompt_for(&r.truth, &names)).collect();
        let predicted: Vec<usize> = rows.iter().map(|r| r.top).collect();
        let confusion = truth
            .iter()
            .any(Option::is_some)
            .then(|| Confusion::new(names.len(), &truth, &predicted));
        Some(Scores {
            labels: names,
            rows,
            temperature: scaling_factor.temperature(),
            confusion,
        })
    });

    view! {
        {move || match scores.get() {
            None => view! {
                <p class="muted empty">"Zero-shot needs embedded images and at least one embedded label."</p>
            }.into_any(),
            Some(sc) => {
                let labels = sc.labels.clone();
                view! {
                    <p class="zero-shot-summary">
                        {format!("softmax(exp(s) · cosine), exp(s) = {:.2}", sc.temperature)}
                        {sc.confusion.as_ref().map(|c| match c.accuracy() {
                            Some(a) => view! {
                                <strong class="accuracy" data-accuracy=a>
                                    {format!(" · top-1 accuracy {:.1} % ({} of {} images with a known label)", a * 100.0, c.correct, c.evaluated)}
                                </strong>
                            }.into_any(),
                            None => ().into_any(),
                        })}
                    </p>
                    <ol class="zero-shot">
                        {sc.rows.iter().map(|r| {
                            let probs = r.probabilities.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(",");
                            view! {
                                <li class="zs-row" data-name=r.name.clone() data-probs=probs data-top=r.top>
                                    <span class="zs-name">
                                        {r.name.clone()}
                                        {(!r.truth.is_empty()).then(|| view! { <span class="truth-tag">{r.truth.clone()}</span> })}
                                    </span>
                                    <ul class="bars">
                                        {r.probabilities.iter().enumerate().map(|(j, p)| {
                                            let top = j == r.top;
                                            view! {
                                                <li class="bar-row" class:top=top>
                                                    <span class="bar-label">{labels[j].clone()}</span>
                                                    <span class="bar" style=format!("--p: {:.4}", p)></span>
                                                    <span class="bar-value">{format!("{:.1} %", p * 100.0)}</span>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                    {sc.confusion.clone().map(|c| view! { <ConfusionMatrix classes=labels.clone() confusion=c /> })}
                }.into_any()
            }
        }}
    }
}
