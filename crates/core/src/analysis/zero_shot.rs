//! Zero-shot classification, the model's own recipe: for each image, the probability of
//! each label is `softmax(temperature · cos(image, label))`, with the temperature
//! `exp(scaling_factor)` the endpoint sends; the prediction is the most probable label.
//!
//! One implementation for the app's zero-shot view and its CSV export, so the two can
//! never disagree. The temperature comes only from [`ScalingFactor::temperature`]: the
//! service sends a log-temperature, and taking `exp` by hand at each call site is how a
//! view ends up with a softmax a hundred times too flat.

use crate::analysis::dot;
use crate::analysis::evaluation::argmax;
use crate::analysis::similarity::normalised;
use crate::endpoint::wire::ScalingFactor;

/// One image's zero-shot scores.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// One probability per label, in the labels' order; they sum to 1.
    pub probabilities: Vec<f64>,
    /// The most probable label; the first of equals (a zero image gives label 0).
    pub top: usize,
}

/// The zero-shot prediction of every image over the labels, in the images' order;
/// `None` when there are no labels to choose from.
///
/// Vectors need not be normalised (imported or pooled ones may not be): each is
/// normalised here, so the cosine is a true cosine, and a zero vector scores 0 with
/// every label (a uniform prediction).
pub fn predict(
    images: &[impl AsRef<[f32]>],
    labels: &[impl AsRef<[f32]>],
    scaling_factor: ScalingFactor,
) -> Option<Vec<Prediction>> {
    let scorer = Scorer::new(labels, scaling_factor)?;
    Some(images.iter().map(|i| scorer.predict(i.as_ref())).collect())
}

/// The labels normalised once, with the temperature: [`predict`] one image at a time,
/// for a caller that scores many images in slices (the zero-shot view scores 10 000
/// between frames, and only the images whose vector changed).
#[derive(Clone, Debug, PartialEq)]
pub struct Scorer {
    labels: Vec<Vec<f32>>,
    temperature: f64,
}

impl Scorer {
    /// `None` when there are no labels to choose from.
    pub fn new(labels: &[impl AsRef<[f32]>], scaling_factor: ScalingFactor) -> Option<Self> {
        if labels.is_empty() {
            return None;
        }
        Some(Self {
            labels: labels.iter().map(|l| normalised(l.as_ref())).collect(),
            temperature: scaling_factor.temperature(),
        })
    }

    /// The prediction for one image (normalised here, as in [`predict`]).
    pub fn predict(&self, image: &[f32]) -> Prediction {
        let image = normalised(image);
        let cosines: Vec<f32> = self.labels.iter().map(|l| dot(&image, l)).collect();
        let probabilities = softmax(&cosines, self.temperature);
        // Never empty (there are labels), and no NaN comes out of a softmax of clamped
        // cosines, so argmax always answers; 0 is only a formality.
        let top = argmax(&probabilities).unwrap_or(0);
        Prediction { probabilities, top }
    }
}

/// `softmax(temperature · cosines)`, computed as `exp(l − max)` so that the model's
/// temperature of ~91.5 (or any larger one) cannot overflow. Sums to 1.
pub fn softmax(cosines: &[f32], temperature: f64) -> Vec<f64> {
    let logits: Vec<f64> = cosines
        .iter()
        .map(|c| temperature * f64::from(*c))
        .collect();
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
    }

    #[test]
    fn two_labels_at_temperature_two() {
        // s = ln 2, so the temperature is 2. cos = [1, 0] → logits [2, 0] →
        // e² / (e² + 1) = 7.389056 / 8.389056 = 0.880797, and 1 / 8.389056 = 0.119203.
        let p = predict(
            &[vec![1.0f32, 0.0]],
            &[vec![1.0f32, 0.0], vec![0.0, 1.0]],
            ScalingFactor(2f64.ln()),
        )
        .unwrap();
        assert!(close(&p[0].probabilities, &[0.880797, 0.119203]), "{p:?}");
        assert_eq!(p[0].top, 0);
    }

    #[test]
    fn three_labels_unnormalised_vectors() {
        // Image (3, 4) is (0.6, 0.8) normalised; labels (5, 0), (0, 2), (−1, 0) give
        // cos = [0.6, 0.8, −0.6]. s = ln 10 → logits [6, 8, −6]; against the max:
        // e^−2 = 0.135335, 1, e^−14 = 8.3153e−7; total 1.1353361 →
        // [0.119203, 0.880797, 7.3e−7]. The second label wins.
        let p = predict(
            &[vec![3.0f32, 4.0]],
            &[vec![5.0f32, 0.0], vec![0.0, 2.0], vec![-1.0, 0.0]],
            ScalingFactor(10f64.ln()),
        )
        .unwrap();
        assert!(
            close(&p[0].probabilities, &[0.119203, 0.880797, 7.3e-7]),
            "{p:?}"
        );
        assert!((p[0].probabilities[2] - 7.3241e-7).abs() < 1e-10, "{p:?}");
        assert_eq!(p[0].top, 1);
    }

    #[test]
    fn one_prediction_per_image_in_order() {
        let labels = [vec![1.0f32, 0.0], vec![0.0, 1.0]];
        let images = [vec![0.0f32, 1.0], vec![1.0, 0.0], vec![0.0, 0.0]];
        let p = predict(&images, &labels, ScalingFactor(0.0)).unwrap();
        // Temperature 1: cos [0, 1] → 1 / (1 + e) = 0.268941 and e / (1 + e) = 0.731059.
        assert!(close(&p[0].probabilities, &[0.268941, 0.731059]), "{p:?}");
        assert_eq!(p[0].top, 1);
        assert!(close(&p[1].probabilities, &[0.731059, 0.268941]), "{p:?}");
        assert_eq!(p[1].top, 0);
        // A zero vector scores 0 everywhere: uniform, and the first label on the tie.
        assert!(close(&p[2].probabilities, &[0.5, 0.5]), "{p:?}");
        assert_eq!(p[2].top, 0);
    }

    #[test]
    fn no_labels_no_prediction_and_no_images_no_rows() {
        let none: [Vec<f32>; 0] = [];
        assert_eq!(predict(&[vec![1.0f32]], &none, ScalingFactor(4.5)), None);
        assert_eq!(
            predict(&none, &[vec![1.0f32]], ScalingFactor(4.5)),
            Some(vec![])
        );
    }

    #[test]
    fn a_scorer_one_image_at_a_time_is_the_whole_prediction() {
        let labels = [
            vec![1.0f32, 0.0, 0.5],
            vec![0.0, 1.0, 0.0],
            vec![-1.0, 0.2, 0.0],
        ];
        let images: Vec<Vec<f32>> = (0..9)
            .map(|i| {
                vec![
                    (i as f32 * 0.7).sin(),
                    (i as f32 * 1.3).cos(),
                    i as f32 * 0.1,
                ]
            })
            .collect();
        let s = ScalingFactor(4.5);
        let whole = predict(&images, &labels, s).unwrap();
        let scorer = Scorer::new(&labels, s).unwrap();
        let one_by_one: Vec<Prediction> = images.iter().map(|i| scorer.predict(i)).collect();
        assert_eq!(whole, one_by_one);
        let none: [Vec<f32>; 0] = [];
        assert_eq!(Scorer::new(&none, s), None);
    }

    #[test]
    fn softmax_at_the_model_temperature() {
        // exp(4.516357) ≈ 91.5: cosines 0.30 and 0.25 give e^(4.575)/(1+e^(4.575)) ≈ 0.9898.
        let p = softmax(&[0.30, 0.25], ScalingFactor(4.516357).temperature());
        assert!((p[0] - 0.98980).abs() < 1e-4, "{p:?}");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let uniform = softmax(&[0.1, 0.1, 0.1, 0.1], 100.0);
        assert!(uniform.iter().all(|x| (x - 0.25).abs() < 1e-12));
        // Large logits do not overflow.
        assert!(softmax(&[1.0, -1.0], 1e6).iter().all(|x| x.is_finite()));
    }
}
