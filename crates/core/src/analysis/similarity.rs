//! The maths on embeddings the app shows: cosine similarity matrices, zero-shot
//! probabilities, and a clustering order for heatmaps.
//!
//! MedImageInsight's vectors are L2-normalised, so a dot product is a cosine; the
//! functions here still normalise, so a vector from elsewhere (an imported `.npy`, a
//! pooled study vector) gives a true cosine too. Zero-shot follows the model's own
//! recipe: `softmax(exp(s) · cos(image, label_i))` with `s` the response's
//! `scaling_factor`, a log-temperature.

/// `v / |v|`; a zero vector stays zero (its cosine with anything is 0).
pub fn normalised(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if norm == 0.0 {
        return vec![0.0; v.len()];
    }
    v.iter().map(|x| (f64::from(*x) / norm) as f32).collect()
}

/// The cosine of every row of `a` with every row of `b`, row-major `a.len() × b.len()`.
pub fn cosine_matrix(a: &[Vec<f32>], b: &[Vec<f32>]) -> Vec<f32> {
    let (a, b): (Vec<_>, Vec<_>) = (
        a.iter().map(|v| normalised(v)).collect(),
        b.iter().map(|v| normalised(v)).collect(),
    );
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in &a {
        for y in &b {
            out.push(
                x.iter()
                    .zip(y)
                    .map(|(p, q)| p * q)
                    .sum::<f32>()
                    .clamp(-1.0, 1.0),
            );
        }
    }
    out
}

/// Zero-shot probabilities of one image over the labels: `softmax(temperature · cos)`,
/// where `temperature = exp(scaling_factor)`. Sums to 1.
pub fn zero_shot(cosines: &[f32], temperature: f64) -> Vec<f64> {
    let logits: Vec<f64> = cosines
        .iter()
        .map(|c| temperature * f64::from(*c))
        .collect();
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

/// An order of `n` items (given their square similarity matrix) that puts similar items
/// next to each other: the leaf order of average-linkage (UPGMA) agglomerative
/// clustering on the distance `1 − similarity`. `O(n³)`, fine for the few hundred
/// images a heatmap can show.
pub fn average_linkage_order(similarity: &[f32], n: usize) -> Vec<usize> {
    assert_eq!(similarity.len(), n * n, "a square matrix of n × n");
    // Each cluster: its members in leaf order, its size; distances between live clusters.
    let mut clusters: Vec<Option<Vec<usize>>> = (0..n).map(|i| Some(vec![i])).collect();
    let mut dist: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| 1.0 - f64::from(similarity[i * n + j]))
                .collect()
        })
        .collect();
    for _ in 1..n {
        let mut best = (f64::INFINITY, 0, 0);
        for i in 0..n {
            if clusters[i].is_none() {
                continue;
            }
            for j in i + 1..n {
                if clusters[j].is_some() && dist[i][j] < best.0 {
                    best = (dist[i][j], i, j);
                }
            }
        }
        let (_, i, j) = best;
        let (Some(mut left), Some(right)) = (clusters[i].take(), clusters[j].take()) else {
            break;
        };
        let (ni, nj) = (left.len() as f64, right.len() as f64);
        for k in 0..n {
            if k != i && k != j && clusters[k].is_some() {
                let d = (ni * dist[i][k] + nj * dist[j][k]) / (ni + nj);
                dist[i][k] = d;
                dist[k][i] = d;
            }
        }
        left.extend(right);
        clusters[i] = Some(left);
    }
    clusters.into_iter().flatten().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosines_of_hand_checked_vectors() {
        let a = vec![vec![1.0, 0.0], vec![3.0, 4.0]];
        let b = vec![vec![2.0, 0.0], vec![0.0, -1.0]];
        assert_eq!(cosine_matrix(&a, &b), vec![1.0, 0.0, 0.6, -0.8]);
        assert_eq!(cosine_matrix(&[vec![0.0, 0.0]], &a), vec![0.0, 0.0]);
    }

    #[test]
    fn zero_shot_is_a_softmax_at_the_model_temperature() {
        // exp(4.516357) ≈ 91.5: cosines 0.30 and 0.25 give e^(4.575)/(1+e^(4.575)) ≈ 0.9898.
        let p = zero_shot(&[0.30, 0.25], 4.516357f64.exp());
        assert!((p[0] - 0.98980).abs() < 1e-4, "{p:?}");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let uniform = zero_shot(&[0.1, 0.1, 0.1, 0.1], 100.0);
        assert!(uniform.iter().all(|x| (x - 0.25).abs() < 1e-12));
        // Large logits do not overflow.
        assert!(zero_shot(&[1.0, -1.0], 1e6).iter().all(|x| x.is_finite()));
    }

    #[test]
    fn average_linkage_groups_similar_items() {
        // Items 0 and 2 are near-duplicates, 1 and 3 too; the two pairs are far apart.
        let s = [
            1.0, 0.1, 0.95, 0.2, //
            0.1, 1.0, 0.15, 0.9, //
            0.95, 0.15, 1.0, 0.1, //
            0.2, 0.9, 0.1, 1.0,
        ];
        let order = average_linkage_order(&s, 4);
        assert_eq!(order.len(), 4);
        let pos = |i: usize| order.iter().position(|&x| x == i).unwrap();
        assert_eq!(pos(0).abs_diff(pos(2)), 1, "{order:?}");
        assert_eq!(pos(1).abs_diff(pos(3)), 1, "{order:?}");
        assert_eq!(average_linkage_order(&[1.0], 1), vec![0]);
        assert!(average_linkage_order(&[], 0).is_empty());
    }
}
