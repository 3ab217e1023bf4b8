//! Cosine similarity as the app shows it: plain cosine matrices, an average-linkage
//! clustering order, [`Cosines`] (every cosine of a set of rows, with itself or with a
//! set of columns, through the cache-blocked Gram kernel) and [`SimilarityMatrix`], a
//! view of those cosines in the order the user picked (as loaded, clustered, or by
//! ground truth) with its colour range.
//!
//! The cosines are computed once, in loaded order, and an order is only a list of
//! indices over them: the app asks its worker for the cosines of a set of vectors and
//! reorders them on the page for free (a label edit reorders, it does not recompute).
//! MedImageInsight's vectors are L2-normalised, so a dot product is a cosine; the
//! functions here still normalise, so a vector from elsewhere (an imported `.npy`, a
//! pooled study vector) gives a true cosine too. The heatmap works on indices: it
//! says which input item sits at each row and column, and the app keeps its items
//! (names, previews) and looks them up, so nothing of the page has to come here.
//! Matrices too large to show cell by cell are summarised in [`super::blocks`];
//! zero-shot probabilities live in [`super::zero_shot`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::kernels::{gram, gram_symmetric};
use super::ordering::clustered_order;
use super::Embeddings;
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

/// Average linkage is `O(n³)` in time and `O(n²)` in memory: up to this many rows the
/// clustered order is average linkage on every pair; above, it is the scalable order of
/// [`super::ordering`] (k-means, then a principal direction within each cluster).
pub const MAX_CLUSTERED: usize = 600;

/// How a heatmap orders its rows (and, when square, its columns alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowOrder<'a> {
    /// As given.
    Loaded,
    /// By [`clustered_order`] of the rows' own vectors: average linkage up to
    /// [`MAX_CLUSTERED`] rows, k-means beyond.
    Clustered,
    /// By ground-truth label, one per row: see [`truth_order`].
    ByTruth(&'a [&'a str]),
}

/// The order of `n` rows by ground-truth label (alphabetical, unlabelled `""` first),
/// keeping the loaded order among equals so the map does not reshuffle within a class.
/// A row past the slice's end counts as unlabelled.
pub fn truth_order(truths: &[&str], n: usize) -> Vec<usize> {
    let truth = |i: usize| truths.get(i).copied().unwrap_or("");
    let mut o: Vec<usize> = (0..n).collect();
    // `sort_by` is stable: equals keep their loaded order.
    o.sort_by(|&a, &b| truth(a).cmp(truth(b)));
    o
}

/// Whether `order` lists each of `0..n` exactly once.
pub fn is_permutation(order: &[usize], n: usize) -> bool {
    if order.len() != n {
        return false;
    }
    let mut seen = vec![false; n];
    order
        .iter()
        .all(|&i| i < n && !std::mem::replace(&mut seen[i], true))
}

/// The colour range of `values`: their smallest and largest, or — when they are flat —
/// a range one wide ending at their value (capped at 1), so the colour stays readable;
/// `(0, 1)` for nothing at all.
pub(crate) fn colour_range(values: impl Iterator<Item = f32>) -> (f64, f64) {
    let (lo, hi) = values
        .map(f64::from)
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

/// Every cosine of a set of rows with itself (square) or with a set of columns, row-major
/// in the order the vectors were given, and its colour range. What the app's worker
/// computes and sends (the values as one block of bytes); any order is a
/// [`SimilarityMatrix`] view of it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cosines {
    rows: usize,
    cols: usize,
    square: bool,
    #[serde(with = "super::f32_bytes")]
    values: Vec<f32>,
    range: (f64, f64),
}

impl Cosines {
    /// The rows of `e` against themselves, through the symmetric Gram kernel (half the
    /// products, mirrored), clamped to ±1.
    pub fn of(e: &Embeddings) -> Self {
        let n = e.len();
        let mut values = vec![0f32; n * n];
        gram_symmetric(e.as_slice(), e.dim, &mut values);
        Self::clamped(n, n, true, values)
    }

    /// The rows of `rows` against the rows of `cols`, clamped to ±1.
    ///
    /// # Panics
    /// If both have rows and their widths differ.
    pub fn between(rows: &Embeddings, cols: &Embeddings) -> Self {
        let (m, n) = (rows.len(), cols.len());
        let mut values = vec![0f32; m * n];
        if m > 0 && n > 0 {
            assert_eq!(rows.dim, cols.dim, "rows and columns of one width");
            gram(rows.as_slice(), cols.as_slice(), rows.dim, &mut values);
        }
        Self::clamped(m, n, false, values)
    }

    /// Clamps to a cosine's range (rounding takes the cosine of two normalised vectors
    /// a hair past ±1) and finds the colour range: the diagonal of a square matrix left
    /// out (it is 1 and would squash everything else) unless it is all there is.
    fn clamped(rows: usize, cols: usize, square: bool, mut values: Vec<f32>) -> Self {
        values.iter_mut().for_each(|v| *v = v.clamp(-1.0, 1.0));
        let skip_diagonal = square && rows > 1;
        let range = colour_range(values.chunks(cols.max(1)).enumerate().flat_map(|(r, row)| {
            row.iter()
                .enumerate()
                .filter(move |(c, _)| !(skip_diagonal && *c == r))
                .map(|(_, v)| *v)
        }));
        Self {
            rows,
            cols,
            square,
            values,
            range,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Rows and columns are the same items.
    pub fn is_square(&self) -> bool {
        self.square
    }

    /// The values, row-major in the order the vectors were given.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// The cosine of row `i` and column `j` (as given), `None` outside the matrix.
    pub fn at(&self, i: usize, j: usize) -> Option<f32> {
        if i >= self.rows || j >= self.cols {
            return None;
        }
        self.values.get(i * self.cols + j).copied()
    }

    /// The colour range (see [`Cosines::clamped`]): the same in every order, since a
    /// square matrix's rows and columns are reordered alike and its diagonal stays one.
    pub fn range(&self) -> (f64, f64) {
        self.range
    }
}

/// A heatmap's cosines in the order shown: the rows (and columns) as indices into the
/// items given, over [`Cosines`] shared with every other order of the same vectors.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimilarityMatrix {
    cells: Arc<Cosines>,
    rows: Vec<usize>,
    cols: Vec<usize>,
}

impl SimilarityMatrix {
    /// The cosine of every row with every column, in `order`. Without `cols` the matrix
    /// is square: the rows against themselves, columns in the rows' order. With `cols`
    /// (image × text) only the rows are reordered; columns stay as given. All vectors
    /// must have one width, as [`Embeddings::new`] requires.
    pub fn new<V: AsRef<[f32]>>(rows: &[V], cols: Option<&[V]>, order: RowOrder<'_>) -> Self {
        let r = Embeddings::new(rows);
        let cells = match cols {
            None => Cosines::of(&r),
            Some(c) => Cosines::between(&r, &Embeddings::new(c)),
        };
        let order = match order {
            RowOrder::Loaded => (0..rows.len()).collect(),
            RowOrder::Clustered => clustered_order(&r),
            RowOrder::ByTruth(truths) => truth_order(truths, rows.len()),
        };
        Self::ordered(Arc::new(cells), order)
    }

    /// `cells` with its rows in `order` (indices of the rows as given; the columns of a
    /// square matrix alike, of another matrix as given). An order that is not a
    /// permutation of the rows — one computed for other vectors — shows them as loaded.
    pub fn ordered(cells: Arc<Cosines>, order: Vec<usize>) -> Self {
        let rows = if is_permutation(&order, cells.rows()) {
            order
        } else {
            (0..cells.rows()).collect()
        };
        let cols = if cells.is_square() {
            rows.clone()
        } else {
            (0..cells.cols()).collect()
        };
        Self { cells, rows, cols }
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

    /// The cosines underneath, in loaded order.
    pub fn cells(&self) -> &Arc<Cosines> {
        &self.cells
    }

    /// The values, row-major in the order shown: `rows().len() × cols().len()`.
    pub fn values(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows.len() * self.cols.len());
        for r in 0..self.rows.len() {
            self.shown_row(r, &mut out);
        }
        out
    }

    /// Appends shown row `r`'s values, left to right, to `out` (nothing past the end).
    pub fn shown_row(&self, r: usize, out: &mut Vec<f32>) {
        let Some(&i) = self.rows.get(r) else { return };
        let cols = self.cells.cols();
        let row = &self.cells.values()[i * cols..(i + 1) * cols];
        out.extend(self.cols.iter().map(|&j| row[j]));
    }

    /// Rows and columns are the same items.
    pub fn is_square(&self) -> bool {
        self.cells.is_square()
    }

    /// The value at shown row `r` and column `c`, `None` outside the matrix.
    pub fn at(&self, r: usize, c: usize) -> Option<f32> {
        self.cells.at(*self.rows.get(r)?, *self.cols.get(c)?)
    }

    /// The colour range: the smallest and largest value, the diagonal of a square
    /// matrix left out (it is 1 and would squash everything else) unless it is all
    /// there is. A flat matrix gets a range one wide ending at its value (capped at 1),
    /// so its colour stays readable; an empty one gets `(0, 1)`.
    pub fn range(&self) -> (f64, f64) {
        self.cells.range()
    }
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
    fn clustering_goes_on_above_600_rows_by_k_means() {
        // Two groups interleaved (around 0° and around 90°): average linkage at 600,
        // k-means at 601, and both put each group in one run.
        let degrees: Vec<f64> = (0..601)
            .map(|i| if i % 2 == 0 { 0.0 } else { 90.0 } + (i % 7) as f64)
            .collect();
        let v = at_angles(&degrees);
        for n in [MAX_CLUSTERED, MAX_CLUSTERED + 1] {
            let m = SimilarityMatrix::new(&v[..n], None, RowOrder::Clustered);
            let mut all = m.rows().to_vec();
            all.sort_unstable();
            assert_eq!(all, (0..n).collect::<Vec<_>>());
            let changes = m.rows().windows(2).filter(|w| w[0] % 2 != w[1] % 2).count();
            assert_eq!(changes, 1, "n = {n}: the groups alternate {changes} times");
            assert_eq!(m.values().len(), n * n);
        }
    }

    #[test]
    fn an_order_is_a_view_over_the_same_cosines() {
        let v = at_angles(&[0.0, 60.0, 90.0, 10.0]);
        let loaded = SimilarityMatrix::new(&v, None, RowOrder::Loaded);
        let cells = loaded.cells().clone();
        let m = SimilarityMatrix::ordered(cells.clone(), vec![3, 1, 0, 2]);
        assert!(
            Arc::ptr_eq(m.cells(), loaded.cells()),
            "no copy of the cosines"
        );
        for r in 0..4 {
            for c in 0..4 {
                assert_eq!(m.at(r, c), loaded.at(m.rows()[r], m.cols()[c]));
            }
        }
        assert_eq!(m.range(), loaded.range());
        // Not a permutation of these rows (stale, or of other vectors): as loaded.
        for stale in [vec![0, 1, 2], vec![0, 1, 2, 2], vec![0, 1, 2, 4]] {
            assert_eq!(
                SimilarityMatrix::ordered(cells.clone(), stale).rows(),
                &[0, 1, 2, 3]
            );
        }
        assert!(is_permutation(&[2, 0, 1], 3) && !is_permutation(&[0, 0, 1], 3));
    }

    #[test]
    fn cosines_cross_to_the_page_and_back() {
        let v = at_angles(&[0.0, 60.0, 90.0]);
        let c = Cosines::of(&Embeddings::new(&v));
        let json = serde_json::to_string(&c).unwrap();
        let back: Cosines = serde_json::from_str(&json).unwrap();
        // The values travel as bytes (bit for bit); the range as JSON numbers (to an ulp).
        assert_eq!(back.values(), c.values());
        assert_eq!((back.rows(), back.cols(), back.is_square()), (3, 3, true));
        assert!((back.range().1 - c.range().1).abs() < 1e-12);
        let between = Cosines::between(&Embeddings::new(&v), &Embeddings::new(&v[..1]));
        assert_eq!((between.rows(), between.cols()), (3, 1));
        assert!(near(f64::from(between.at(1, 0).unwrap()), 0.5));
        assert_eq!(between.at(0, 1), None);
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
        // Unclamped rounding never escapes ±1: a vector with itself reads exactly 1.
        let odd = vec![vec![0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]; 3];
        let m = SimilarityMatrix::new(&odd, None, RowOrder::Loaded);
        assert!(m.values().iter().all(|v| (-1.0..=1.0).contains(v)));
        assert_eq!(empty.range(), (0.0, 1.0));
    }
}
