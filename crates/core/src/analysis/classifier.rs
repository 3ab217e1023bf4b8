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

use super::kernels::axpy4;
use super::neighbours::{cosine_pairs, TopK};
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
        Self::fit_with(e, train, y, classes, o, &mut |_| {})
    }

    /// [`Logistic::fit`], calling `step_done(t)` after each gradient step `t` (1-based).
    pub fn fit_with(
        e: &Embeddings,
        train: &[usize],
        y: &[usize],
        classes: usize,
        o: TrainOptions,
        step_done: &mut dyn FnMut(usize),
    ) -> Self {
        let group = vec![0; train.len()];
        let mut models = fit_together(e, train, y, &group, &[None], classes, o, step_done);
        models.pop().expect("one model asked, one trained")
    }

    /// The logits of 4 rows, `z[class][row]`, by the 2 × 4 kernel: rows two at a time
    /// against classes four at a time (a short last group of classes repeats its last).
    fn block_logits(&self, xs: [&[f32]; 4], z: &mut [[f64; 4]]) {
        let d = self.dim;
        let weights = |c: usize| &self.weights[c * d..(c + 1) * d];
        for c0 in (0..self.classes).step_by(4) {
            let last = self.classes - 1;
            let ws = [0, 1, 2, 3].map(|i| weights((c0 + i).min(last)));
            for r0 in [0, 2] {
                let dots = super::kernels::dots_2x4([xs[r0], xs[r0 + 1]], ws);
                for (r, row) in dots.iter().enumerate() {
                    for (i, &dot) in row.iter().enumerate() {
                        let c = c0 + i;
                        if c < self.classes {
                            z[c][r0 + r] = self.bias[c] + f64::from(dot);
                        }
                    }
                }
            }
        }
    }

    pub fn predict(&self, x: &[f32]) -> usize {
        let p = self.probabilities(x);
        (0..p.len()).fold(0, |best, c| if p[c] > p[best] { c } else { best })
    }
}

/// Trains several models on subsets of the same rows in one pass over the data per
/// gradient step: model `m` learns from the positions `i` with `group[i] != leave_out[m]`
/// (`None` leaves nothing out). Each is exactly [`Logistic::fit`] on its rows, up to the
/// order in which floats are summed.
///
/// Why together: a step is a pass over every row's 4 KB vector, and at 10 000 images
/// that pass is bound by memory (40 MB per step, 150 steps), not arithmetic. The folds
/// of a cross-validation and the final model all read the same rows; trained in
/// lockstep, each row is loaded once per step for all of them while their weights (a
/// few hundred KB) stay in cache. Rows go 4 at a time: logits by the 2 × 4 kernel,
/// gradients by `axpy4` (see [`crate::analysis::neighbours`]), so each weight loaded or
/// stored serves 4 rows.
#[allow(clippy::too_many_arguments)]
fn fit_together(
    e: &Embeddings,
    rows: &[usize],
    y: &[usize],
    group: &[usize],
    leave_out: &[Option<usize>],
    classes: usize,
    o: TrainOptions,
    step_done: &mut dyn FnMut(usize),
) -> Vec<Logistic> {
    let d = e.dim;
    let step = 1.0 / (1.0 + o.l2);
    let learns = |m: usize, i: usize| leave_out[m] != Some(group[i]);
    let sizes: Vec<f64> = (0..leave_out.len())
        .map(|m| (0..rows.len()).filter(|&i| learns(m, i)).count().max(1) as f64)
        .collect();
    let zero = Logistic {
        classes,
        dim: d,
        weights: vec![0.0; classes * d],
        bias: vec![0.0; classes],
    };
    let mut models = vec![zero; leave_out.len()];
    let mut previous = models.clone();
    let mut probes = models.clone();
    let mut grad_w = vec![vec![0f32; classes * d]; leave_out.len()];
    let mut grad_b = vec![vec![0f64; classes]; leave_out.len()];
    let mut z = vec![[0f64; 4]; classes];
    let mut zr = vec![0f64; classes];
    let mut errs = vec![[0f32; 4]; classes];
    let positions: Vec<usize> = (0..rows.len()).collect();
    for t in 1..=o.steps {
        // Nesterov look-ahead point.
        let momentum = ((t as f64 - 1.0) / (t as f64 + 2.0)) as f32;
        for ((probe, model), prev) in probes.iter_mut().zip(&models).zip(&previous) {
            for ((p, w), q) in probe
                .weights
                .iter_mut()
                .zip(&model.weights)
                .zip(&prev.weights)
            {
                *p = w + momentum * (w - q);
            }
            for ((p, w), q) in probe.bias.iter_mut().zip(&model.bias).zip(&prev.bias) {
                *p = w + f64::from(momentum) * (w - q);
            }
        }
        grad_w.iter_mut().flatten().for_each(|g| *g = 0.0);
        grad_b.iter_mut().flatten().for_each(|g| *g = 0.0);
        for block in positions.chunks(4) {
            // A short last block repeats its last row; its error is 0.
            let xs = [0, 1, 2, 3].map(|r| e.row(rows[block[r.min(block.len() - 1)]]));
            for (m, probe) in probes.iter().enumerate() {
                if !block.iter().any(|&i| learns(m, i)) {
                    continue;
                }
                probe.block_logits(xs, &mut z);
                errs.iter_mut().for_each(|e| *e = [0.0; 4]);
                for (r, &i) in block.iter().enumerate() {
                    // A row this model leaves out adds nothing: its error stays 0.
                    if !learns(m, i) {
                        continue;
                    }
                    zr.iter_mut().zip(&z).for_each(|(v, zc)| *v = zc[r]);
                    softmax_in_place(&mut zr);
                    zr[y[i]] -= 1.0;
                    for (c, &err) in zr.iter().enumerate() {
                        errs[c][r] = err as f32;
                        grad_b[m][c] += err;
                    }
                }
                for (c, err) in errs.iter().enumerate() {
                    axpy4(*err, xs, &mut grad_w[m][c * d..(c + 1) * d]);
                }
            }
        }
        std::mem::swap(&mut previous, &mut models);
        for (m, model) in models.iter_mut().enumerate() {
            let (probe, n) = (&probes[m], sizes[m]);
            let (scale, l2) = ((step / n) as f32, (step * o.l2) as f32);
            for ((w, p), g) in model.weights.iter_mut().zip(&probe.weights).zip(&grad_w[m]) {
                *w = p - scale * g - l2 * p;
            }
            for ((w, p), g) in model.bias.iter_mut().zip(&probe.bias).zip(&grad_b[m]) {
                *w = p - step * g / n;
            }
        }
        step_done(t);
    }
    models
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
    let mut near = TopK::new(k.max(1));
    for (t, &r) in train.iter().enumerate() {
        if r != query {
            near.push(e.cosine(query, r), t);
        }
    }
    vote(&near, y, classes)
}

/// [`knn_predict`] for every row of `queries`, in their order: the cosines in tiles
/// (see [`crate::analysis::neighbours`]), the same votes.
pub fn knn_predict_many(
    e: &Embeddings,
    train: &[usize],
    y: &[usize],
    classes: usize,
    queries: &[usize],
    k: usize,
) -> Vec<usize> {
    knn_many_with(e, train, y, classes, queries, k, &mut |_| {})
}

fn knn_many_with(
    e: &Embeddings,
    train: &[usize],
    y: &[usize],
    classes: usize,
    queries: &[usize],
    k: usize,
    progress: &mut dyn FnMut(usize),
) -> Vec<usize> {
    let mut near: Vec<TopK> = queries.iter().map(|_| TopK::new(k.max(1))).collect();
    cosine_pairs(e, queries, train, false, progress, |p, t, c| {
        if queries[p] != train[t] {
            near[p].push(c, t);
        }
    });
    near.iter().map(|n| vote(n, y, classes)).collect()
}

/// The most frequent label among `near` (positions into `y`), ties broken by the summed
/// cosine, then by the lower class.
fn vote(near: &TopK, y: &[usize], classes: usize) -> usize {
    let mut votes = vec![(0usize, 0f64); classes];
    for (cos, t) in near.iter() {
        votes[y[t]].0 += 1;
        votes[y[t]].1 += f64::from(cos);
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
    cross_validate_with(e, rows, y, classes, folds, o, &mut |_| {})
}

/// [`cross_validate`], telling `progress` the fraction done (0 to 1) now and then.
pub fn cross_validate_with(
    e: &Embeddings,
    rows: &[usize],
    y: &[usize],
    classes: usize,
    folds: usize,
    o: TrainOptions,
    progress: &mut dyn FnMut(f64),
) -> CrossValidation {
    let plan = Plan::new(rows, y, classes, folds, o, 0);
    let mut work = Work::new(plan.total, progress);
    cv_with(e, rows, y, classes, &plan, o, false, &mut work).0
}

/// How the work of a classification splits, in products of two vectors (only for the
/// progress reported): each row of a gradient step is `2 · classes` for every model
/// that learns from it (its logits and its share of the gradient), each kNN pair one.
struct Plan {
    folds: usize,
    split: Vec<Vec<usize>>,
    fit: f64,
    knn: f64,
    total: f64,
}

impl Plan {
    /// Folds for `rows`, and the work of cross-validating them, of training one more
    /// model on all `rows` if `unlabelled > 0`, and of predicting `unlabelled` rows.
    fn new(
        rows: &[usize],
        y: &[usize],
        classes: usize,
        folds: usize,
        o: TrainOptions,
        unlabelled: usize,
    ) -> Self {
        let smallest = (0..classes)
            .map(|c| y.iter().filter(|&&l| l == c).count())
            .min()
            .unwrap_or(0);
        let folds = folds.min(smallest).max(2);
        let split = stratified_folds(y, classes, folds);
        let m = rows.len() as f64;
        let learning: f64 = split.iter().map(|held| m - held.len() as f64).sum::<f64>()
            + if unlabelled > 0 { m } else { 0.0 };
        let fit = learning * (o.steps * 2 * classes) as f64;
        let knn = m * (m - 1.0).max(0.0) / 2.0;
        let total = fit + knn + unlabelled as f64 * m;
        Self {
            folds,
            split,
            fit,
            knn,
            total,
        }
    }
}

/// Work done so far, reported as a fraction of the whole.
struct Work<'a> {
    done: f64,
    total: f64,
    report: &'a mut dyn FnMut(f64),
}

impl<'a> Work<'a> {
    fn new(total: f64, report: &'a mut dyn FnMut(f64)) -> Self {
        Self {
            done: 0.0,
            total: total.max(1.0),
            report,
        }
    }

    /// Reports `done + part` (a stage in progress) without counting it yet.
    fn at(&mut self, part: f64) {
        (self.report)(((self.done + part) / self.total).min(1.0));
    }

    fn finish(&mut self, part: f64) {
        self.done += part;
        self.at(0.0);
    }
}

/// The cross-validation, and with `and_final` the model trained on every labelled row
/// (trained in the same passes as the folds' models).
#[allow(clippy::too_many_arguments)]
fn cv_with(
    e: &Embeddings,
    rows: &[usize],
    y: &[usize],
    classes: usize,
    plan: &Plan,
    o: TrainOptions,
    and_final: bool,
    work: &mut Work,
) -> (CrossValidation, Option<Logistic>) {
    // Which fold holds each labelled position.
    let mut fold_of = vec![0; rows.len()];
    for (f, held) in plan.split.iter().enumerate() {
        held.iter().for_each(|&i| fold_of[i] = f);
    }
    let mut leave_out: Vec<Option<usize>> = (0..plan.split.len()).map(Some).collect();
    if and_final {
        leave_out.push(None);
    }
    let per_step = plan.fit / o.steps.max(1) as f64;
    let mut models = fit_together(e, rows, y, &fold_of, &leave_out, classes, o, &mut |t| {
        work.at(t as f64 * per_step)
    });
    work.finish(plan.fit);
    let last = and_final.then(|| models.pop()).flatten();
    let mut logistic_correct = 0;
    for (model, held) in models.iter().zip(&plan.split) {
        for &i in held {
            logistic_correct += usize::from(model.predict(e.row(rows[i])) == y[i]);
        }
    }
    // kNN: every labelled row against the labelled rows of the other folds. Each pair
    // is computed once, for both its rows (a row's fold is the only one it is held out
    // of). Ties keep the lower position, as a stable sort of the training rows would.
    let mut near: Vec<TopK> = rows.iter().map(|_| TopK::new(o.k.max(1))).collect();
    cosine_pairs(
        e,
        rows,
        rows,
        true,
        &mut |pairs| work.at(pairs as f64),
        |p, q, c| {
            if fold_of[p] != fold_of[q] && rows[p] != rows[q] {
                near[p].push(c, q);
                near[q].push(c, p);
            }
        },
    );
    work.finish(plan.knn);
    let knn_correct = near
        .iter()
        .zip(y)
        .filter(|(n, &label)| vote(n, y, classes) == label)
        .count();
    let cv = CrossValidation {
        folds: plan.folds,
        evaluated: plan.split.iter().map(Vec::len).sum(),
        logistic_correct,
        knn_correct,
    };
    (cv, last)
}

/// A classifier's whole report: held-out accuracy, and a prediction for every row not
/// labelled.
#[derive(Clone, Debug, PartialEq)]
pub struct Classified {
    pub cv: CrossValidation,
    pub predictions: Vec<Predicted>,
}

/// The prediction for an unlabelled row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Predicted {
    pub row: usize,
    /// The logistic model's class and its probability.
    pub class: usize,
    pub probability: f64,
    /// The kNN vote's class.
    pub knn: usize,
}

/// Cross-validates on the labelled `rows` (labels `y`), then, if some of the `e.len()`
/// rows are unlabelled, trains on all labelled rows and predicts those (logistic and
/// kNN); `progress` hears the fraction done. What the classifier view shows.
pub fn classify(
    e: &Embeddings,
    rows: &[usize],
    y: &[usize],
    classes: usize,
    folds: usize,
    o: TrainOptions,
    progress: &mut dyn FnMut(f64),
) -> Classified {
    let mut labelled = vec![false; e.len()];
    rows.iter().for_each(|&r| labelled[r] = true);
    let unlabelled: Vec<usize> = (0..e.len()).filter(|&r| !labelled[r]).collect();
    let plan = Plan::new(rows, y, classes, folds, o, unlabelled.len());
    let mut work = Work::new(plan.total, progress);
    let (cv, model) = cv_with(
        e,
        rows,
        y,
        classes,
        &plan,
        o,
        !unlabelled.is_empty(),
        &mut work,
    );
    let Some(model) = model else {
        return Classified {
            cv,
            predictions: Vec::new(),
        };
    };
    let knn = knn_many_with(e, rows, y, classes, &unlabelled, o.k, &mut |pairs| {
        work.at(pairs as f64)
    });
    let predictions = unlabelled
        .iter()
        .zip(knn)
        .map(|(&row, knn)| {
            let p = model.probabilities(e.row(row));
            // Never empty (one probability per class), so 0 is only a formality.
            let class = super::evaluation::argmax(&p).unwrap_or(0);
            Predicted {
                row,
                class,
                probability: p[class],
                knn,
            }
        })
        .collect();
    work.finish(unlabelled.len() as f64 * rows.len() as f64);
    Classified { cv, predictions }
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
    /// Noisy clusters in 37-D (not a multiple of the kernels' blocks), `per` rows each,
    /// overlapping enough that some predictions are wrong and kNN ties can occur.
    fn noisy(classes: usize, per: usize, seed: u64) -> (Embeddings, Vec<usize>) {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        };
        let centres: Vec<Vec<f32>> = (0..classes)
            .map(|_| (0..37).map(|_| rnd()).collect())
            .collect();
        let rows: Vec<Vec<f32>> = (0..classes * per)
            .map(|i| {
                centres[i % classes]
                    .iter()
                    .map(|c| c + 3.0 * rnd())
                    .collect()
            })
            .collect();
        (
            Embeddings::new(&rows),
            (0..classes * per).map(|i| i % classes).collect(),
        )
    }

    /// The training loop one row at a time, as it was written before the blocked one:
    /// the reference the blocked loop must agree with.
    #[allow(clippy::needless_range_loop)]
    fn plain_fit(
        e: &Embeddings,
        train: &[usize],
        y: &[usize],
        classes: usize,
        o: TrainOptions,
    ) -> Logistic {
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
        let mut z = vec![0.0; classes];
        for t in 1..=o.steps {
            let momentum = ((t as f64 - 1.0) / (t as f64 + 2.0)) as f32;
            for i in 0..probe.weights.len() {
                probe.weights[i] =
                    model.weights[i] + momentum * (model.weights[i] - previous.weights[i]);
            }
            for c in 0..classes {
                probe.bias[c] =
                    model.bias[c] + f64::from(momentum) * (model.bias[c] - previous.bias[c]);
            }
            let mut grad_w = vec![0f32; classes * d];
            let mut grad_b = vec![0f64; classes];
            for (&row, &label) in train.iter().zip(y) {
                let x = e.row(row);
                probe.logits(x, &mut z);
                softmax_in_place(&mut z);
                z[label] -= 1.0;
                for (c, &err) in z.iter().enumerate() {
                    crate::analysis::axpy(err as f32, x, &mut grad_w[c * d..(c + 1) * d]);
                    grad_b[c] += err;
                }
            }
            std::mem::swap(&mut previous, &mut model);
            let (scale, l2) = ((step / n) as f32, (step * o.l2) as f32);
            for i in 0..model.weights.len() {
                model.weights[i] = probe.weights[i] - scale * grad_w[i] - l2 * probe.weights[i];
            }
            for c in 0..classes {
                model.bias[c] = probe.bias[c] - step * grad_b[c] / n;
            }
        }
        model
    }

    #[test]
    fn the_blocked_training_loop_agrees_with_the_plain_one() {
        // 6 classes (a group of 4 and a short one), 43 rows (a short last block of rows).
        let (e, y) = noisy(6, 8, 1);
        let train: Vec<usize> = (0..43).collect();
        let o = TrainOptions {
            steps: 40,
            ..TrainOptions::default()
        };
        let blocked = Logistic::fit(&e, &train, &y[..43], 6, o);
        let plain = plain_fit(&e, &train, &y[..43], 6, o);
        for r in 0..e.len() {
            let (a, b) = (
                blocked.probabilities(e.row(r)),
                plain.probabilities(e.row(r)),
            );
            for (x, z) in a.iter().zip(&b) {
                assert!((x - z).abs() < 1e-4, "row {r}: {a:?} vs {b:?}");
            }
        }
        // Two classes: the kernel's group of four classes is mostly padding.
        let (e, y) = noisy(2, 9, 2);
        let train: Vec<usize> = (0..18).collect();
        let (blocked, plain) = (
            Logistic::fit(&e, &train, &y, 2, o),
            plain_fit(&e, &train, &y, 2, o),
        );
        for r in 0..e.len() {
            let (a, b) = (
                blocked.probabilities(e.row(r)),
                plain.probabilities(e.row(r)),
            );
            assert!((a[0] - b[0]).abs() < 1e-4, "row {r}: {a:?} vs {b:?}");
        }
    }

    #[test]
    fn models_trained_together_are_each_the_model_of_its_rows() {
        let (e, y) = noisy(3, 11, 6);
        let rows: Vec<usize> = (0..33).collect();
        let group: Vec<usize> = (0..33).map(|i| i % 3).collect();
        let o = TrainOptions {
            steps: 25,
            ..TrainOptions::default()
        };
        let leave_out = [Some(0), Some(2), None, Some(1)];
        let models = fit_together(&e, &rows, &y, &group, &leave_out, 3, o, &mut |_| {});
        for (model, out) in models.iter().zip(leave_out) {
            let (train, train_y): (Vec<usize>, Vec<usize>) = rows
                .iter()
                .filter(|&&i| out != Some(group[i]))
                .map(|&i| (i, y[i]))
                .unzip();
            let alone = plain_fit(&e, &train, &train_y, 3, o);
            for r in 0..e.len() {
                let (a, b) = (model.probabilities(e.row(r)), alone.probabilities(e.row(r)));
                for (x, z) in a.iter().zip(&b) {
                    assert!(
                        (x - z).abs() < 1e-4,
                        "leaving out {out:?}, row {r}: {a:?} vs {b:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn knn_for_many_queries_is_knn_for_each() {
        let (e, y) = noisy(3, 30, 3);
        let train: Vec<usize> = (0..90).filter(|i| i % 4 != 0).collect();
        let train_y: Vec<usize> = train.iter().map(|&r| y[r]).collect();
        // Queries outside and inside the training rows (a query never votes for itself).
        let queries: Vec<usize> = (0..90).step_by(3).collect();
        for k in [1, 4, 7] {
            let many = knn_predict_many(&e, &train, &train_y, 3, &queries, k);
            let each: Vec<usize> = queries
                .iter()
                .map(|&q| knn_predict(&e, &train, &train_y, 3, q, k))
                .collect();
            assert_eq!(many, each, "k = {k}");
        }
    }

    #[test]
    fn cross_validation_counts_what_each_fold_s_models_get_right() {
        // The definition, fold by fold: a model trained without the fold, kNN among the
        // rows of the other folds.
        let (e, y) = noisy(3, 20, 4);
        let rows: Vec<usize> = (0..60).collect();
        let o = TrainOptions {
            steps: 30,
            ..TrainOptions::default()
        };
        let cv = cross_validate(&e, &rows, &y, 3, 4, o);
        let (mut logistic, mut knn) = (0, 0);
        for held in stratified_folds(&y, 3, 4) {
            let (train, train_y): (Vec<usize>, Vec<usize>) = rows
                .iter()
                .zip(&y)
                .filter(|(r, _)| !held.contains(r))
                .map(|(r, l)| (*r, *l))
                .unzip();
            let model = plain_fit(&e, &train, &train_y, 3, o);
            for &i in &held {
                logistic += usize::from(model.predict(e.row(i)) == y[i]);
                knn += usize::from(knn_predict(&e, &train, &train_y, 3, i, o.k) == y[i]);
            }
        }
        assert_eq!((cv.evaluated, cv.knn_correct), (60, knn));
        // The blocked loop may round a near tie the other way; not more than one row.
        assert!(
            cv.logistic_correct.abs_diff(logistic) <= 1,
            "{} vs {logistic}",
            cv.logistic_correct
        );
        assert!(
            cv.knn_correct < 60 && cv.knn_correct > 30,
            "a test that can tell: {cv:?}"
        );
    }

    #[test]
    fn classify_predicts_only_unlabelled_rows_and_reports_progress_to_the_end() {
        let (e, y) = noisy(3, 12, 5);
        let rows: Vec<usize> = (0..36).filter(|r| r % 5 != 0).collect();
        let labels: Vec<usize> = rows.iter().map(|&r| y[r]).collect();
        let o = TrainOptions {
            steps: 20,
            ..TrainOptions::default()
        };
        let mut seen = Vec::new();
        let c = classify(&e, &rows, &labels, 3, 3, o, &mut |f| seen.push(f));
        let unlabelled: Vec<usize> = (0..36).filter(|r| r % 5 == 0).collect();
        assert_eq!(
            c.predictions.iter().map(|p| p.row).collect::<Vec<_>>(),
            unlabelled
        );
        let model = Logistic::fit(&e, &rows, &labels, 3, o);
        for p in &c.predictions {
            let probabilities = model.probabilities(e.row(p.row));
            assert_eq!(
                p.class,
                crate::analysis::evaluation::argmax(&probabilities).unwrap()
            );
            assert_eq!(p.probability, probabilities[p.class]);
            assert_eq!(p.knn, knn_predict(&e, &rows, &labels, 3, p.row, o.k));
        }
        assert_eq!(c.cv, cross_validate(&e, &rows, &labels, 3, 3, o));
        assert!(seen.windows(2).all(|w| w[0] <= w[1] + 1e-12), "{seen:?}");
        assert!(
            (seen.last().copied().unwrap_or(0.0) - 1.0).abs() < 1e-9,
            "{seen:?}"
        );
        // Everything labelled: no final model, nothing to predict.
        let all: Vec<usize> = (0..36).collect();
        assert!(classify(&e, &all, &y, 3, 3, o, &mut |_| {})
            .predictions
            .is_empty());
    }
}
