//! Nearest neighbours and outlier scores by cosine similarity.
//!
//! Exact search (every pair), as FAISS's `IndexFlatIP` does on normalised vectors: at
//! 2 000 images it is a few million dot products, well under a second, and exactness
//! means a duplicate is always found first.
//!
//! The outlier score of an image is its mean cosine *distance* (1 − cosine) to its k
//! nearest neighbours among a reference set (itself excluded): an image unlike
//! everything else scores high. With a label as reference, it says how unlike that
//! class an image is.

use super::Embeddings;

/// A ranked neighbour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbour {
    pub index: usize,
    pub cosine: f32,
}

/// The `k` items with the highest `score`, best first; ties keep the lower index first.
fn top_k(candidates: impl Iterator<Item = (usize, f32)>, k: usize) -> Vec<Neighbour> {
    let mut all: Vec<Neighbour> = candidates
        .map(|(index, cosine)| Neighbour { index, cosine })
        .collect();
    let by_score =
        |a: &Neighbour, b: &Neighbour| b.cosine.total_cmp(&a.cosine).then(a.index.cmp(&b.index));
    if k < all.len() {
        all.select_nth_unstable_by(k, by_score);
        all.truncate(k);
    }
    all.sort_by(by_score);
    all
}

/// The `k` rows most similar to row `i` (itself excluded).
pub fn of_row(e: &Embeddings, i: usize, k: usize) -> Vec<Neighbour> {
    top_k(
        (0..e.len())
            .filter(|&j| j != i)
            .map(|j| (j, e.cosine(i, j))),
        k,
    )
}

/// The `k` rows most similar to `query` (any vector, normalised here).
pub fn of_vector(e: &Embeddings, query: &[f32], k: usize) -> Vec<Neighbour> {
    let q = crate::analysis::similarity::normalised(query);
    top_k((0..e.len()).map(|j| (j, e.cosine_with(j, &q))), k)
}

/// Outlier score of every row: mean cosine distance to its `k` nearest rows among
/// `reference` (row indices; the row itself never counts). A row with no reference
/// neighbour scores 0. `k` is clamped to what the reference offers.
pub fn outlier_scores(e: &Embeddings, reference: &[usize], k: usize) -> Vec<f32> {
    let k = k.max(1);
    let n = e.len();
    // Rows are taken in tiles of TILE (128 KB of vectors, cache-resident) against each
    // reference row, so the 8 MB of vectors is streamed n / TILE times rather than n
    // times: the all-pairs pass is otherwise bound by memory, not arithmetic.
    const TILE: usize = 32;
    // The k best cosines of each row so far, descending: small insertion-sorted
    // buffers, no allocation per pair (at 2 000 images, 4 million candidates).
    let mut best: Vec<Vec<f32>> = vec![Vec::with_capacity(k + 1); n];
    for start in (0..n).step_by(TILE) {
        let rows = start..(start + TILE).min(n);
        for &j in reference {
            let rj = e.row(j);
            for i in rows.clone() {
                if i == j {
                    continue;
                }
                let c = super::dot(e.row(i), rj);
                let b = &mut best[i];
                if b.len() == k && c <= b[k - 1] {
                    continue;
                }
                let at = b.partition_point(|&x| x >= c);
                b.insert(at, c);
                b.truncate(k);
            }
        }
    }
    best.iter()
        .map(|b| {
            if b.is_empty() {
                return 0.0;
            }
            let distance: f64 = b.iter().map(|c| 1.0 - f64::from(*c)).sum();
            (distance / b.len() as f64) as f32
        })
        .collect()
}

/// Row indices ordered from the most to the least outlying.
pub fn rank_desc(scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four points on the unit circle at 0°, 10°, 20° and 180°, plus a copy of 10°.
    fn circle() -> Embeddings {
        let at = |deg: f32| {
            let r = deg.to_radians();
            vec![r.cos(), r.sin()]
        };
        Embeddings::new(&[at(0.0), at(10.0), at(20.0), at(180.0), at(10.0)])
    }

    #[test]
    fn a_duplicate_is_the_first_neighbour() {
        let e = circle();
        let n = of_row(&e, 1, 3);
        assert_eq!(n[0].index, 4);
        assert!((n[0].cosine - 1.0).abs() < 1e-6);
        assert_eq!(n.iter().map(|n| n.index).collect::<Vec<_>>(), vec![4, 0, 2]);
        // Of 0°, 10° and 20°, 20° is the nearest to 180°.
        let far = of_row(&e, 3, 1);
        assert_eq!(far[0].index, 2);
        assert!((far[0].cosine - (160f32).to_radians().cos()).abs() < 1e-6);
    }

    #[test]
    fn a_text_query_ranks_by_cosine() {
        let e = circle();
        // −45°: 0° is 45° away, 10° (and its copy) 55°, 180° 135°.
        let n = of_vector(&e, &[3.0, -3.0], 3);
        assert_eq!(n.iter().map(|n| n.index).collect::<Vec<_>>(), vec![0, 1, 4]);
        assert!((n[0].cosine - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(
            n[1].cosine, n[2].cosine,
            "a tie keeps the lower index first"
        );
    }

    #[test]
    fn the_opposite_point_is_the_outlier() {
        let e = circle();
        let all: Vec<usize> = (0..e.len()).collect();
        let scores = outlier_scores(&e, &all, 2);
        assert_eq!(rank_desc(&scores)[0], 3);
        // 180°: nearest are 20° and 10° → distances 1 − cos160°, 1 − cos170°.
        let expected = (2.0 - (160f32.to_radians().cos() + 170f32.to_radians().cos())) / 2.0;
        assert!(
            (scores[3] - expected).abs() < 1e-5,
            "{} vs {expected}",
            scores[3]
        );
        // 10° has its copy at distance 0 and 0° or 20° at 1 − cos 10°.
        let expected = (1.0 - 10f32.to_radians().cos()) / 2.0;
        assert!((scores[1] - expected).abs() < 1e-5);
    }

    #[test]
    fn a_reference_set_scores_against_that_class_only() {
        let e = circle();
        let scores = outlier_scores(&e, &[3], 1);
        assert_eq!(scores[3], 0.0, "no reference neighbour but itself");
        assert!(
            (scores[0] - 2.0).abs() < 1e-6,
            "0° is opposite the reference"
        );
    }
}
