//! Cosine similarity as the app shows it: plain cosine matrices, an average-linkage
//! clustering order, and [`SimilarityMatrix`], the heatmap's values in the order the
//! user picked (as loaded, clustered, or by ground truth) with its colour range.
//!
//! MedImageInsight's vectors are L2-normalised, so a dot product is a cosine; the
//! functions here still normalise, so a vector from elsewhere (an imported `.npy`, a
//! pooled study vector) gives a true cosine too. The heatmap works on indices: it
//! says which input item sits at each row and column, and the app keeps its items
//! (names, previews) and looks them up, so nothing of the page has to come here.
//! Zero-shot probabilities live in [`super::zero_shot`].

use super::{dot, Embeddings};

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

/// Average linkage is `O(n³)`: above this many rows a heatmap keeps the loaded order
/// (600 rows cluster in well under a second in the browser; 2 000 would take minutes).
pub const MAX_CLUSTERED: usize = 600;

/// How a heatmap orders its rows (and, when square, its columns alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowOrder<'a> {
    /// As given.
    Loaded,
    /// By [`average_linkage_order`] on the rows' own cosines, up to [`MAX_CLUSTERED`]
    /// rows; more stay as loaded.
    Clustered,
    /// By ground-truth label, one per row (alphabetical, unlabelled `""` first), keeping
    /// the loaded order among equals so the map does not reshuffle within a class. A
    /// row past the slice's end counts as unlabelled.
    ByTruth(&'a [&'a str]),
}

/// A heatmap's cosines: the rows (and columns) as indices into the items given, in the
/// order shown, and the values row-major in that order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimilarityMatrix {
    rows: Vec<usize>,
    cols: Vec<usize>,
    values: Vec<f32>,
    square: bool,
}

impl SimilarityMatrix {
    /// The cosine of every row with every column. Without `cols` the matrix is square:
    /// the rows against themselves, columns in the rows' order. With `cols` (image ×
    /// text) only the rows are reordered; columns stay as given.
    ///
    /// Cosines go through the normalised single buffer of [`Embeddings`] (5× the plain
    /// [`cosine_matrix`] at 2 000 images, see the `analysis` benchmark). All vectors
    /// must have one width, as [`Embeddings::new`] requires.
    pub fn new<V: AsRef<[f32]>>(rows: &[V], cols: Option<&[V]>, order: RowOrder<'_>) -> Self {
        let n = rows.len();
        let r = Embeddings::new(rows);
        let identity = || (0..n).collect::<Vec<_>>();
        // The square matrix in loaded order, when clustering needs it anyway: then the
        // square map's values are this matrix permuted, not computed twice.
        let mut loaded_square = None;
        let order: Vec<usize> = match order {
            RowOrder::Loaded => identity(),
            RowOrder::Clustered if n > MAX_CLUSTERED => identity(),
            RowOrder::Clustered => {
                let m = cosines(&r, &identity(), &r, &identity());
                let o = average_linkage_order(&m, n);
                loaded_square = Some(m);
                o
            }
            RowOrder::ByTruth(truths) => {
                let truth = |i: usize| truths.get(i).copied().unwrap_or("");
                let mut o = identity();
                // `sort_by` is stable: equals keep their loaded order.
                o.sort_by(|&a, &b| truth(a).cmp(truth(b)));
                o
            }
        };
        match cols {
            None => {
                let values = match loaded_square {
                    Some(m) => order
                        .iter()
                        .flat_map(|&i| order.iter().map(move |&j| (i, j)))
                        .map(|(i, j)| m[i * n + j])
                        .collect(),
                    None => cosines(&r, &order, &r, &order),
                };
                Self {
                    cols: order.clone(),
                    rows: order,
                    values,
                    square: true,
                }
            }
            Some(cols) => {
                let c = Embeddings::new(cols);
                let col_order: Vec<usize> = (0..cols.len()).collect();
                let values = cosines(&r, &order, &c, &col_order);
                Self {
                    rows: order,
                    cols: col_order,
                    values,
                    square: false,
                }
            }
        }
    }

    /// For each row shown, top to bottom, the index of its item.
    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// For each column shown, left to right, the index of its item (of the rows' items
    /// when the matrix is square).
    pub fn cols(&self) -> &[usize] {
        &self.cols
    }

    /// The values, row-major in the order shown: `rows().len() × cols().len()`.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Rows and columns are the same items.
    pub fn is_square(&self) -> bool {
        self.square
    }

    /// The value at shown row `r` and column `c`, `None` outside the matrix.
    pub fn at(&self, r: usize, c: usize) -> Option<f32> {
        if r >= self.rows.len() || c >= self.cols.len() {
            return None;
        }
        self.values.get(r * self.cols.len() + c).copied()
    }

    /// The colour range: the smallest and largest value, the diagonal of a square
    /// matrix left out (it is 1 and would squash everything else) unless it is all
    /// there is. A flat matrix gets a range one wide ending at its value (capped at 1),
    /// so its colour stays readable; an empty one gets `(0, 1)`.
    pub fn range(&self) -> (f64, f64) {
        let skip_diagonal = self.square && self.rows.len() > 1;
        let width = self.cols.len();
        let (lo, hi) = self
            .values
            .iter()
            .enumerate()
            .filter(|(k, _)| !(skip_diagonal && k / width == k % width))
            .map(|(_, v)| f64::from(*v))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        if !hi.is_finite() {
            (0.0, 1.0)
        } else if hi - lo < 1e-6 {
            (hi.min(1.0) - 1.0, hi.min(1.0))
        } else {
            (lo, hi)
        }
    }
}

/// Cosines of rows `ri` of `r` with rows `ci` of `c`, row-major.
fn cosines(r: &Embeddings, ri: &[usize], c: &Embeddings, ci: &[usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(ri.len() * ci.len());
    for &i in ri {
        let row = r.row(i);
        out.extend(ci.iter().map(|&j| dot(row, c.row(j))));
    }
    out
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

    /// Unit vectors at `degrees` in the plane: the cosine of two is the cosine of
    /// their angle, easy to check by hand.
    fn at_angles(degrees: &[f64]) -> Vec<Vec<f32>> {
        degrees
            .iter()
            .map(|d| {
                let r = d.to_radians();
                vec![r.cos() as f32, r.sin() as f32]
            })
            .collect()
    }

    fn near(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn loaded_order_gives_the_cosines_in_place() {
        // 0°, 60°, 90°: cos 60° = 0.5, cos 90° = 0, cos 30° = 0.866025.
        let v = at_angles(&[0.0, 60.0, 90.0]);
        let m = SimilarityMatrix::new(&v, None, RowOrder::Loaded);
        assert_eq!(m.rows(), &[0, 1, 2]);
        assert_eq!(m.cols(), &[0, 1, 2]);
        assert!(m.is_square());
        let expected = [1.0, 0.5, 0.0, 0.5, 1.0, 0.866025, 0.0, 0.866025, 1.0];
        assert_eq!(m.values().len(), 9);
        for (got, want) in m.values().iter().zip(expected) {
            assert!(near(f64::from(*got), want), "{:?}", m.values());
        }
        assert!(near(f64::from(m.at(1, 2).unwrap()), 0.866025));
        assert_eq!(m.at(3, 0), None);
        assert_eq!(m.at(0, 3), None);
    }

    #[test]
    fn ordering_by_truth_is_stable() {
        // Hand-sorted: "" (3) first, then "a" (1, 4 in loaded order), then "b" (0, 2).
        let v = at_angles(&[0.0, 10.0, 20.0, 30.0, 40.0]);
        let truths = ["b", "a", "b", "", "a"];
        let m = SimilarityMatrix::new(&v, None, RowOrder::ByTruth(&truths));
        assert_eq!(m.rows(), &[3, 1, 4, 0, 2]);
        assert_eq!(m.cols(), &[3, 1, 4, 0, 2]);
        // Shown (0, 3) is item 3 (30°) against item 0 (0°): cos 30°.
        assert!(near(f64::from(m.at(0, 3).unwrap()), 0.866025));
        // A truth slice too short leaves the rest unlabelled, sorted first.
        let m = SimilarityMatrix::new(&v[..3], None, RowOrder::ByTruth(&["b", "a"]));
        assert_eq!(m.rows(), &[2, 1, 0]);
    }

    #[test]
    fn clustering_groups_two_obvious_clusters() {
        // Loaded alternately from two tight groups, around 0° and around 90°.
        let v = at_angles(&[0.0, 90.0, 5.0, 85.0, -5.0, 95.0]);
        let m = SimilarityMatrix::new(&v, None, RowOrder::Clustered);
        let group = |i: &usize| i % 2;
        let first: Vec<usize> = m.rows()[..3].iter().map(group).collect();
        let last: Vec<usize> = m.rows()[3..].iter().map(group).collect();
        assert!(
            first.iter().all(|g| *g == first[0]) && last.iter().all(|g| *g != first[0]),
            "{:?}",
            m.rows()
        );
        let mut all = m.rows().to_vec();
        all.sort_unstable();
        assert_eq!(all, vec![0, 1, 2, 3, 4, 5]);
        // Values follow the order: shown (r, c) is the cosine of items rows[r], rows[c].
        let plain = SimilarityMatrix::new(&v, None, RowOrder::Loaded);
        for r in 0..6 {
            for c in 0..6 {
                let (i, j) = (m.rows()[r], m.cols()[c]);
                assert_eq!(m.at(r, c), plain.at(i, j));
            }
        }
    }

    #[test]
    fn clustering_stops_above_600_rows() {
        // Two clusters interleaved, as above: clustered at 600, loaded at 601.
        let degrees: Vec<f64> = (0..601)
            .map(|i| if i % 2 == 0 { 0.0 } else { 90.0 } + (i % 7) as f64)
            .collect();
        let v = at_angles(&degrees);
        let at_limit = SimilarityMatrix::new(&v[..MAX_CLUSTERED], None, RowOrder::Clustered);
        assert_ne!(at_limit.rows(), (0..600).collect::<Vec<_>>().as_slice());
        let over = SimilarityMatrix::new(&v, None, RowOrder::Clustered);
        assert_eq!(over.rows(), (0..601).collect::<Vec<_>>().as_slice());
        assert_eq!(over.values().len(), 601 * 601);
    }

    #[test]
    fn image_text_matrices_reorder_rows_only() {
        let rows = at_angles(&[90.0, 0.0, 80.0]);
        let cols = at_angles(&[0.0, 90.0]);
        let m = SimilarityMatrix::new(
            &rows,
            Some(cols.as_slice()),
            RowOrder::ByTruth(&["z", "a", "m"]),
        );
        assert!(!m.is_square());
        assert_eq!(m.rows(), &[1, 2, 0]);
        assert_eq!(m.cols(), &[0, 1]);
        // Row 0 shown is item 1 (0°): cos with 0° = 1, with 90° = 0. Row 1 is 80°:
        // cos 80° = 0.173648, cos 10° = 0.984808.
        let expected = [1.0, 0.0, 0.173648, 0.984808, 0.0, 1.0];
        for (got, want) in m.values().iter().zip(expected) {
            assert!(near(f64::from(*got), want), "{:?}", m.values());
        }
    }

    #[test]
    fn the_range_leaves_the_diagonal_out() {
        // Off the diagonal: cos 60° = 0.5, cos 90° = 0, cos 30° = 0.866025.
        let m = SimilarityMatrix::new(&at_angles(&[0.0, 60.0, 90.0]), None, RowOrder::Loaded);
        let (lo, hi) = m.range();
        assert!(near(lo, 0.0) && near(hi, 0.866025), "{lo} {hi}");
        // Not square: every cell counts, a 1 included.
        let rows = at_angles(&[0.0, 60.0]);
        let cols = at_angles(&[0.0]);
        let m = SimilarityMatrix::new(&rows, Some(cols.as_slice()), RowOrder::Loaded);
        let (lo, hi) = m.range();
        assert!(near(lo, 0.5) && near(hi, 1.0), "{lo} {hi}");
        // One item: its diagonal is all there is, a flat 1 → (0, 1).
        let one = SimilarityMatrix::new(&at_angles(&[0.0]), None, RowOrder::Loaded);
        assert_eq!(one.range(), (0.0, 1.0));
        // Two identical items off the diagonal: flat at 1 → (0, 1).
        let twins = SimilarityMatrix::new(&at_angles(&[0.0, 0.0]), None, RowOrder::Loaded);
        assert_eq!(twins.range(), (0.0, 1.0));
        // Flat at 0.5 (two items at 60°) → (−0.5, 0.5).
        let flat = SimilarityMatrix::new(&at_angles(&[0.0, 60.0]), None, RowOrder::Loaded);
        let (lo, hi) = flat.range();
        assert!(near(lo, -0.5) && near(hi, 0.5), "{lo} {hi}");
        // Nothing at all.
        let none: Vec<Vec<f32>> = vec![];
        let empty = SimilarityMatrix::new(&none, None, RowOrder::Clustered);
        assert!(empty.values().is_empty() && empty.rows().is_empty());
        assert_eq!(empty.range(), (0.0, 1.0));
    }
}
