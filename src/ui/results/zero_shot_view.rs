//! Zero-shot scores: for every embedded image, `softmax(exp(scaling_factor) · cosine)`
//! over the labels as bars, the top one highlighted; with ground truth, the accuracy
//! and a confusion matrix.
//!
//! A ground truth counts when exactly one label stands for it (the label is the class
//! name, or ends with it: see `medinsight_core::analysis::evaluation`). The scores
//! come from `medinsight_core::analysis::zero_shot`, the same the CSV export uses.
//!
//! At 10 000 images × 20 labels scoring takes a few hundred milliseconds, so it is done
//! once per change of the vectors, the labels' vectors or the scaling factor — never
//! per render — in slices of under 50 ms between which the page paints (a `data-busy`
//! line says how far it is), and only for images whose vector is new: a batch arriving
//! during a run scores that batch, not the whole session again. Ground-truth edits
//! change the summary, not the scores. The list of images is virtualised.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use medinsight_core::analysis::evaluation::{prompt_for, Confusion};
use medinsight_core::analysis::zero_shot::{Prediction, Scorer};
use medinsight_core::endpoint::wire::ScalingFactor;

use crate::platform::clock::now_ms;
use crate::state::{Images, LabelItem};
use crate::ui::widgets::busy_line::BusyLine;
use crate::ui::widgets::confusion_matrix::ConfusionMatrix;
use crate::ui::widgets::virtual_list::VirtualList;

/// Longest the page's thread scores before it yields to let the page paint and answer.
const SLICE_MS: f64 = 30.0;

/// A row's name line, and each label's bar.
const NAME_HEIGHT: f64 = 34.0;
const BAR_HEIGHT: f64 = 19.0;

/// What the scores depend on. Vectors are compared by address: comparing 10 000 ×
/// 1024 floats to learn that nothing changed would cost more than scoring.
#[derive(Clone, Default)]
struct Inputs {
    labels: Vec<String>,
    label_vectors: Vec<Arc<Vec<f32>>>,
    scaling_factor: Option<f64>,
    images: Vec<(u64, Arc<Vec<f32>>)>,
}

fn same_vectors<'a>(
    a: impl ExactSizeIterator<Item = &'a Arc<Vec<f32>>>,
    b: impl ExactSizeIterator<Item = &'a Arc<Vec<f32>>>,
) -> bool {
    a.len() == b.len() && a.zip(b).all(|(x, y)| Arc::ptr_eq(x, y))
}

impl PartialEq for Inputs {
    fn eq(&self, other: &Self) -> bool {
        self.labels == other.labels
            && self.scaling_factor.map(f64::to_bits) == other.scaling_factor.map(f64::to_bits)
            && same_vectors(self.label_vectors.iter(), other.label_vectors.iter())
            && self.images.len() == other.images.len()
            && self
                .images
                .iter()
                .zip(&other.images)
                .all(|(a, b)| a.0 == b.0 && Arc::ptr_eq(&a.1, &b.1))
    }
}

#[derive(Clone)]
struct Scored {
    id: u64,
    probabilities: Vec<f64>,
    top: usize,
}

struct Scores {
    labels: Vec<String>,
    temperature: f64,
    rows: Vec<Scored>,
}

/// Predictions already made, per image, with the vector they are of; valid for the
/// label vectors and scaling factor in `basis`.
#[derive(Default)]
struct Cache {
    basis: Option<(Vec<usize>, u64)>,
    of: HashMap<u64, (Arc<Vec<f32>>, Prediction)>,
}

#[component]
pub fn ZeroShotView(
    #[prop(into)] images: Signal<Images>,
    labels: RwSignal<Vec<LabelItem>>,
    scaling_factor: RwSignal<Option<f64>>,
) -> impl IntoView {
    let inputs = Memo::new(move |_| {
        let (labels, label_vectors) = labels.with(|v| {
            v.iter()
                .filter_map(|l| Some((l.text.get(), l.current_vector()?)))
                .unzip()
        });
        let images = images.with(|v| {
            v.iter()
                .filter_map(|i| Some((i.id, i.current_vector()?)))
                .collect()
        });
        Inputs {
            labels,
            label_vectors,
            scaling_factor: scaling_factor.get(),
            images,
        }
    });
    let scores = RwSignal::new(None::<Arc<Scores>>);
    let computing = RwSignal::new(None::<f32>);
    let generation = StoredValue::new(0u64);
    let cache = StoredValue::new_local(Cache::default());
    // Scores follow their inputs, sliced; a newer change abandons an older scoring.
    Effect::new(move |_| {
        let inputs = inputs.get();
        let this = generation.get_value() + 1;
        generation.set_value(this);
        spawn_local(async move {
            let current = move || generation.try_get_value() == Some(this);
            let nothing = || {
                scores.try_set(None);
                computing.try_set(None);
            };
            // `None` (the view then says what it needs) without a scaling factor, a
            // label vector or an image vector.
            let Some(s) = inputs.scaling_factor.map(ScalingFactor) else {
                return nothing();
            };
            let label_vectors: Vec<&[f32]> =
                inputs.label_vectors.iter().map(|v| v.as_slice()).collect();
            let Some(scorer) = Scorer::new(&label_vectors, s) else {
                return nothing();
            };
            if inputs.images.is_empty() {
                return nothing();
            }
            let basis = (
                inputs
                    .label_vectors
                    .iter()
                    .map(|v| Arc::as_ptr(v) as usize)
                    .collect(),
                s.0.to_bits(),
            );
            cache.update_value(|c| {
                if c.basis.as_ref() != Some(&basis) {
                    *c = Cache {
                        basis: Some(basis),
                        of: HashMap::new(),
                    };
                }
            });
            let n = inputs.images.len();
            let mut rows = Vec::with_capacity(n);
            let mut slice = now_ms();
            for (done, (id, vector)) in inputs.images.iter().enumerate() {
                let known = cache.with_value(|c| {
                    c.of.get(id)
                        .filter(|(v, _)| Arc::ptr_eq(v, vector))
                        .map(|(_, p)| p.clone())
                });
                let p = known.unwrap_or_else(|| {
                    let p = scorer.predict(vector);
                    cache.update_value(|c| {
                        c.of.insert(*id, (vector.clone(), p.clone()));
                    });
                    p
                });
                rows.push(Scored {
                    id: *id,
                    probabilities: p.probabilities,
                    top: p.top,
                });
                if done % 32 == 31 && now_ms() - slice > SLICE_MS {
                    computing.try_set(Some(done as f32 / n as f32));
                    TimeoutFuture::new(0).await;
                    if !current() {
                        return;
                    }
                    slice = now_ms();
                }
            }
            // Forget the images that left.
            let present: HashSet<u64> = rows.iter().map(|r| r.id).collect();
            cache.update_value(|c| c.of.retain(|id, _| present.contains(id)));
            scores.try_set(Some(Arc::new(Scores {
                labels: inputs.labels.clone(),
                temperature: s.temperature(),
                rows,
            })));
            computing.try_set(None);
        });
    });
    // Accuracy and confusion: from the scores and the ground truth as it is now.
    let confusion = Memo::new(move |_| {
        let s = scores.get()?;
        let mut prompt_of: HashMap<String, Option<usize>> = HashMap::new();
        let truth: Vec<Option<usize>> = images.with(|v| {
            s.rows
                .iter()
                .map(|r| {
                    let t = v.get(r.id)?.label.get();
                    *prompt_of
                        .entry(t)
                        .or_insert_with_key(|t| prompt_for(t, &s.labels))
                })
                .collect()
        });
        let predicted: Vec<usize> = s.rows.iter().map(|r| r.top).collect();
        truth
            .iter()
            .any(Option::is_some)
            .then(|| Confusion::new(s.labels.len(), &truth, &predicted))
    });
    let row = move |i: usize| {
        let Some(s) = scores.get_untracked() else {
            return ().into_any();
        };
        let Some(r) = s.rows.get(i) else {
            return ().into_any();
        };
        let item = images.with_untracked(|v| v.get(r.id));
        let name = item.map(|i| i.name.get_value()).unwrap_or_default();
        let truth = move || item.map(|i| i.label.get()).unwrap_or_default();
        let probs = r
            .probabilities
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let top = r.top;
        let data_name = name.clone();
        view! {
            <li class="zs-row" data-name=data_name data-probs=probs data-top=top>
                <span class="zs-name">
                    {name}
                    {move || {
                        let t = truth();
                        (!t.is_empty()).then(|| view! { <span class="truth-tag">{t}</span> })
                    }}
                </span>
                <ul class="bars">
                    {r.probabilities.iter().enumerate().map(|(j, p)| {
                        view! {
                            <li class="bar-row" class:top=j == top>
                                <span class="bar-label">{s.labels[j].clone()}</span>
                                <span class="bar" style=format!("--p: {:.4}", p)></span>
                                <span class="bar-value">{format!("{:.1} %", p * 100.0)}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </li>
        }
        .into_any()
    };
    let rows = Signal::derive(move || scores.with(|s| s.as_ref().map_or(0, |s| s.rows.len())));
    let row_height = Signal::derive(move || {
        let labels = scores.with(|s| s.as_ref().map_or(0, |s| s.labels.len()));
        NAME_HEIGHT + BAR_HEIGHT * labels as f64
    });
    view! {
        <Show when=move || computing.get().is_some()>
            <BusyLine what="Scoring" fraction=computing />
        </Show>
        {move || match scores.get() {
            None => view! {
                <p class="muted empty">"Zero-shot needs embedded images and at least one embedded label."</p>
            }.into_any(),
            Some(sc) => {
                let temperature = sc.temperature;
                view! {
                    <p class="zero-shot-summary">
                        {format!("softmax(exp(s) · cosine), exp(s) = {temperature:.2}")}
                        {move || confusion.get().and_then(|c| c.accuracy().map(|a| view! {
                            <strong class="accuracy" data-accuracy=a>
                                {format!(" · top-1 accuracy {:.1} % ({} of {} images with a known label)", a * 100.0, c.correct, c.evaluated)}
                            </strong>
                        }))}
                    </p>
                }.into_any()
            }
        }}
        <Show when=move || rows.get() != 0>
            <VirtualList
                rows=rows
                row_height=row_height
                viewport=640.0
                class="zero-shot"
                label="Zero-shot scores of each image"
                key=move |i| scores.with(|s| s.as_ref().and_then(|s| Some((s.rows.get(i)?.id, Arc::as_ptr(s) as usize))))
                children=row
            />
        </Show>
        {move || {
            let labels = scores.with(|s| s.as_ref().map(|s| s.labels.clone()))?;
            confusion.get().map(|c| view! { <ConfusionMatrix classes=labels confusion=c /> })
        }}
    }
}
