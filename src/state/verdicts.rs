//! Each image's zero-shot verdict — the label it is given and whether that contradicts
//! its ground truth — for the gallery's filter and sort. Scored by the core (the same
//! `predict` and `prompt_for` as the zero-shot view and its export), over borrowed
//! vectors: nothing is copied per image.

use std::collections::HashMap;

use leptos::prelude::*;
use medinsight_core::analysis::evaluation::prompt_for;
use medinsight_core::analysis::zero_shot::predict;
use medinsight_core::endpoint::wire::ScalingFactor;

use super::Session;

/// One image's zero-shot verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The most probable label's text.
    pub label: String,
    /// Whether it is not the label standing for the ground truth; `None` when the ground
    /// truth matches no single label.
    pub misclassified: Option<bool>,
}

impl Session {
    /// The verdict of every embedded image, by id (tracked: the images' vectors and
    /// ground truths, the labels, the scaling factor). `None` without labels with vectors
    /// or a scaling factor.
    pub fn verdicts(&self) -> Option<HashMap<u64, Verdict>> {
        let scaling_factor = ScalingFactor(self.scaling_factor.get()?);
        let (texts, label_vectors): (Vec<String>, Vec<_>) = self.labels.with(|v| {
            v.iter()
                .filter_map(|l| Some((l.text.get(), l.current_vector()?)))
                .unzip()
        });
        if texts.is_empty() {
            return None;
        }
        let images = self.images.with(|v| v.embedded());
        let vectors: Vec<&[f32]> = images.iter().map(|(_, v)| v.as_slice()).collect();
        let labels: Vec<&[f32]> = label_vectors.iter().map(|v| v.as_slice()).collect();
        let predictions = predict(&vectors, &labels, scaling_factor)?;
        Some(
            images
                .iter()
                .zip(predictions)
                .map(|((item, _), p)| {
                    let truth = prompt_for(&item.label.get(), &texts);
                    let verdict = Verdict {
                        label: texts[p.top].clone(),
                        misclassified: truth.map(|t| t != p.top),
                    };
                    (item.id, verdict)
                })
                .collect(),
        )
    }
}
