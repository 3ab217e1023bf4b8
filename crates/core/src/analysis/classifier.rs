//! A few-shot classifier on embeddings: multinomial logistic regression (the linear
//! probe of Microsoft's adapter notebook, without its hidden layer) and a k-nearest-
//! neighbour vote as the baseline, with stratified k-fold cross-validation to report
//! held-out accuracy.
//!
//! The regression minimises mean cross-entropy + `l2/2·|W|²` by Nesterov-accelerated
//! gradient descent with a fixed step `1/L`: for unit-length inputs the cross-entropy's
//! gradient is `½`-Lipschitz (with bias, `1`), so `L = 1 + l2` needs no line search and
//! every run is deterministic. Features are the normalised embeddings; weights are f32
//! (the products over 1024 values vectorise), sums and the bias f64.

use super::Embeddings;

/// Training settings. `Copy + Default`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainOptions {
    /// L2 penalty. Default 1e-3: light, the classes are few and the vectors unit-length.
    pub l2: f64,
    /// Gradient steps. Default 150: accelerated descent has converged to well under
    /// 1 % of the loss by then on embedding sets (and each step is a pass over the data).
    pub steps: usize,
    /// Neighbours voting in the kNN baseline. Default 5.
    pub k: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            l2: 1e-3,
            steps: 150,
            k: 5,
        }
    }
}

/// A trained multinomial logistic regression.
#[derive(Clone, Debug, PartialEq)]
pub struct Logistic {
    pub classes: usize,
    pub dim: usize,
    /// `classes × dim`, f32 so that the 1024-long products vectorise.
    weights: Vec<f32>,
    bias: Vec<f64>,
}

fn softmax_in_place(z: &mut [f64]) {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    z.iter_mut().for_each(|v| *v /= sum);
}

impl Logistic {
    fn logits(&self, x: &[f32], out: &mut [f64]) {
        for (c, o) in out.iter_mut().enumerate() {
            *o = self.bias[c]
                + super::dot_unclamped(&self.weights[c * self.dim..(c + 1) * self.dim], x);
        }
    }

    /// Class probabilities for a (normalised) vector.
    pub fn probabilities(&self, x: &[f32]) -> Vec<f64> {
        let mut z = vec![0.0; self.classes];
        self.logits(x, &mut z);
        softmax_in_place(&mut z);
        z
    }

    /// Trains on rows `train` of `e` with labels `y` (`0..classes`).
    pub fn fit(
        e: &Embeddings,
        train: &[usize],
        y: &[usize],
        classes: usize,
        o: TrainOptions,
    ) -> Self {
        let d = e.dim;
        let n = train.len().max(1) as f64;
        let step = 1.0 / (1.0 + o.l2);
        let mut model = Logistic {
            classes,
            dim: d,
            weights: vec![0.0; classes * d],
            bias: vec![0.0; classes],
        };
        let mut previous = model.clone();
        let mut probe = model.clone();
        let mut grad_w = vec![0f32; classes * d];
        let mut grad_b = vec![0f64; classes];
        let mut z = vec![0.0; classes];
        for t in 1..=o.steps {
            // Nesterov look-ahead point.
            let momentum = ((t as f64 - 1.0) / (t as f64 + 2.0)) as f32;
            for ((p, w), q) in probe
                .weights
                .iter_mut()
                .zip(&model.weights)
                .zip(&previous.weights)
            {
                *p = w + momentum * (w - q);
            }
            for ((p, w), q) in probe.bias.iter_mut().zip(&model.bias).zip(&previous.bias) {
                *p = w + f64::from(momentum) * (w - q);
            }
            grad_w.iter_mut().for_each(|g| *g = 0.0);
            grad_b.iter_mut().for_each(|g| *g = 0.0);
            for (&row, &label) in train.iter().zip(y) {
                let x = e.row(row);
                probe.logits(x, &mut z);
                softmax_in_place(&mut z);
                z[label] -= 1.0;
                for (c, &err) in z.iter().enumerate() {
                    let err32 = err as f32;
                    super::axpy(err32, x, &mut grad_w[c * d..(c + 1) * d]);
                    grad_b[c] += err;
                }
            }
            std::mem::swap(&mut previous, &mut model);
            let (scale, l2) = ((step / n) as f32, (step * o.l2) as f32);
            for ((m, p), g) in model.weights.iter_mut().zip(&probe.weights).zip(&grad_w) {
                *m = p - scale * g - l2 * p;
            }
            for ((m, p), g) in model.bias.iter_mut().zip(&probe.bias).zip(&grad_b) {
                *m = p - step * g / n;
            }
        }
        model
    }

    pub fn predict(&self, x: &[f32]) -> usize {
        let p = self.probabilities(x);
        (0..p.len()).fold(0, |best, c| if p[c] > p[best] { c } else { best })
    }
}

/// kNN vote among rows `train` (labels `y`) for row `query`: the most frequent label
/// among the `k` most similar, ties broken by the summed cosine.
pub fn knn_predict(
    e: &Embeddings,
    train: &[usize],
    y: &[usize],
    classes: usize,
    query: usize,
    k: usize,
) -> usize {
    let mut near: Vec<(f32, usize)> = train
        .iter()
        .zip(y)
        .filter(|(&r, _)| r != query)
        .map(|(&r, &label)| (e.cosine(query, r), label))
        .collect();
    near.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut votes = vec![(0usize, 0f64); classes];
    for &(cos, label) in near.iter().take(k.max(1)) {
        votes[label].0 += 1;
        votes[label].1 += f64::from(cos);
    }
    (0..classes).fold(0, |best, c| {
        if (votes[c].0, votes[c].1) > (votes[best].0, votes[best].1) {
            c
        } else {
            best
        }
    })
}

/// Stratified folds: the rows of each class dealt round-robin, so every fold holds
/// every class in proportion. `rows[i]` has label `y[i]`.
pub fn stratified_folds(y: &[usize], classes: usize, folds: usize) -> Vec<Vec<usize>> {
    let folds = folds.max(1);
    let mut out = vec![Vec::new(); folds];
    let mut next = 0;
    for c in 0..classes {
        for (i, _) in y.iter().enumerate().filter(|(_, &l)| l == c) {
            out[next % folds].push(i);
            next += 1;
        }
    }
    out
}

/// Held-out accuracy of both classifiers.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossValidation {
    pub folds: usize,
    pub evaluated: usize,
    pub logistic_correct: usize,
    pub knn_correct: usize,
}

impl CrossValidation {
    pub fn logistic_accuracy(&self) -> f64 {
        self.logistic_correct as f64 / self.evaluated.max(1) as f64
    }
    pub fn knn_accuracy(&self) -> f64 {
        self.knn_correct as f64 / self.evaluated.max(1) as f64
    }
}

/// k-fold cross-validation over the labelled rows (`rows[i]` has label `y[i]`).
/// Folds are at most the size of the smallest class, at least 2.
pub fn cross_validate(
    e: &Embeddings,
    rows: &[usize],
    y: &[usize],
    classes: usize,
    folds: usize,
    o: TrainOptions,
) -> CrossValidation {
    let smallest = (0..classes)
        .map(|c| y.iter().filter(|&&l| l == c).count())
        .min()
        .unwrap_or(0);
    let folds = folds.min(smallest).max(2);
    let split = stratified_folds(y, classes, folds);
    let (mut logistic_correct, mut knn_correct, mut evaluated) = (0, 0, 0);
    for held in &split {
        let is_held: std::collections::HashSet<usize> = held.iter().copied().collect();
        let (train_rows, train_y): (Vec<usize>, Vec<usize>) = (0..rows.len())
            .filter(|i| !is_held.contains(i))
            .map(|i| (rows[i], y[i]))
            .unzip();
        let model = Logistic::fit(e, &train_rows, &train_y, classes, o);
        for &i in held {
            evaluated += 1;
            logistic_correct += usize::from(model.predict(e.row(rows[i])) == y[i]);
            knn_correct +=
                usize::from(knn_predict(e, &train_rows, &train_y, classes, rows[i], o.k) == y[i]);
        }
    }
    CrossValidation {
        folds,
        evaluated,
        logistic_correct,
        knn_correct,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well-separated clusters on the unit sphere in 4-D, 8 points each.
    fn clusters() -> (Embeddings, Vec<usize>) {
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for c in 0..3 {
            for i in 0..8 {
                let mut v = vec![0.05 * (i as f32 - 3.5); 4];
                v[c] = 1.0;
                v[3] = 0.1 * ((i * 7 % 5) as f32 - 2.0);
                rows.push(v);
                y.push(c);
            }
        }
        (Embeddings::new(&rows), y)
    }

    #[test]
    fn separable_clusters_are_learnt() {
        let (e, y) = clusters();
        let rows: Vec<usize> = (0..e.len()).collect();
        let model = Logistic::fit(&e, &rows, &y, 3, TrainOptions::default());
        for (&r, &label) in rows.iter().zip(&y) {
            assert_eq!(model.predict(e.row(r)), label, "row {r}");
            let p = model.probabilities(e.row(r));
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        let cv = cross_validate(&e, &rows, &y, 3, 4, TrainOptions::default());
        assert_eq!(cv.folds, 4);
        assert_eq!(cv.evaluated, 24);
        assert_eq!(cv.logistic_correct, 24);
        assert_eq!(cv.knn_correct, 24);
    }

    #[test]
    fn training_lowers_the_loss_monotonically_enough() {
        let (e, y) = clusters();
        let rows: Vec<usize> = (0..e.len()).collect();
        let loss = |m: &Logistic| {
            rows.iter()
                .zip(&y)
                .map(|(&r, &l)| -m.probabilities(e.row(r))[l].ln())
                .sum::<f64>()
                / rows.len() as f64
        };
        let short = Logistic::fit(
            &e,
            &rows,
            &y,
            3,
            TrainOptions {
                steps: 10,
                ..TrainOptions::default()
            },
        );
        let long = Logistic::fit(&e, &rows, &y, 3, TrainOptions::default());
        assert!(loss(&long) < loss(&short));
        assert!(loss(&short) < 3f64.ln(), "better than the uniform guess");
    }

    #[test]
    fn knn_votes_by_majority() {
        // Row 0 is at (1,0); train: two of class 1 near it, one of class 0 nearest.
        let e = Embeddings::new(&[
            vec![1.0f32, 0.0],
            vec![1.0, 0.05],
            vec![1.0, 0.2],
            vec![1.0, -0.2],
            vec![0.0, 1.0],
        ]);
        assert_eq!(knn_predict(&e, &[1, 2, 3, 4], &[0, 1, 1, 0], 2, 0, 3), 1);
        assert_eq!(knn_predict(&e, &[1, 2, 3, 4], &[0, 1, 1, 0], 2, 0, 1), 0);
    }

    #[test]
    fn folds_are_stratified() {
        let y = [0, 0, 0, 0, 1, 1, 1, 1];
        let f = stratified_folds(&y, 2, 2);
        assert_eq!(f, vec![vec![0, 2, 4, 6], vec![1, 3, 5, 7]]);
    }
}
