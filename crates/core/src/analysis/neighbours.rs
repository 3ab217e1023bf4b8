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

use super::kernels::dots_2x4;
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

/// The `k` of `vectors` most similar to `query`, position `skip` left out (the query's
/// own row), best first; ties keep the lower position. Nothing need be normalised: each
/// cosine is divided by both norms as it is computed (a zero vector has cosine 0 with
/// everything). For a view that asks one question of vectors it holds as they came:
/// normalising all of them first would copy 40 MB at 10 000 images for one answer.
pub fn nearest(
    vectors: &[impl AsRef<[f32]>],
    query: &[f32],
    k: usize,
    skip: Option<usize>,
) -> Vec<Neighbour> {
    let norm = |v: &[f32]| super::dot_unclamped(v, v).sqrt();
    let q = norm(query);
    top_k(
        vectors
            .iter()
            .enumerate()
            .filter(|&(j, _)| Some(j) != skip)
            .map(|(j, v)| {
                let v = v.as_ref();
                let scale = q * norm(v);
                let cosine = if scale > 0.0 {
                    (super::dot_unclamped(query, v) / scale).clamp(-1.0, 1.0) as f32
                } else {
                    0.0
                };
                (j, cosine)
            }),
        k,
    )
}

/// Outlier score of every row: mean cosine distance to its `k` nearest rows among
/// `reference` (row indices, each counted once; the row itself never counts). A row with
/// no reference neighbour scores 0. `k` is clamped to what the reference offers.
pub fn outlier_scores(e: &Embeddings, reference: &[usize], k: usize) -> Vec<f32> {
    outlier_scores_with(e, reference, k, &mut |_| {})
}

/// [`outlier_scores`], telling `progress` the fraction done (0 to 1) now and then: at
/// 10 000 images it is seconds of work, and the page says how far it is.
///
/// Every row needs its cosine with every reference row. Pairs of two reference rows are
/// computed once for both (cosines are symmetric), the other rows against the
/// reference; all of it through [`cosine_pairs`], tile by tile.
pub fn outlier_scores_with(
    e: &Embeddings,
    reference: &[usize],
    k: usize,
    progress: &mut dyn FnMut(f64),
) -> Vec<f32> {
    let k = k.max(1);
    let n = e.len();
    let mut reference = reference.to_vec();
    reference.sort_unstable();
    reference.dedup();
    let mut in_reference = vec![false; n];
    reference.iter().for_each(|&r| in_reference[r] = true);
    let others: Vec<usize> = (0..n).filter(|&i| !in_reference[i]).collect();
    let m = reference.len();
    let within = m * m.saturating_sub(1) / 2;
    let total = (within + others.len() * m).max(1) as f64;
    // The k best cosines of each row so far, descending: small insertion-sorted
    // buffers, no allocation per pair.
    let mut best: Vec<TopK> = (0..n).map(|_| TopK::new(k)).collect();
    cosine_pairs(
        e,
        &reference,
        &reference,
        true,
        &mut |done| progress(done as f64 / total),
        |p, q, c| {
            best[reference[p]].push(c, q);
            best[reference[q]].push(c, p);
        },
    );
    cosine_pairs(
        e,
        &others,
        &reference,
        false,
        &mut |done| progress((within + done) as f64 / total),
        |p, q, c| best[others[p]].push(c, q),
    );
    best.iter()
        .map(|b| {
            if b.is_empty() {
                return 0.0;
            }
            let distance: f64 = b.iter().map(|(c, _)| 1.0 - f64::from(c)).sum();
            (distance / b.len() as f64) as f32
        })
        .collect()
}

/// The `k` best `(score, tag)` pairs pushed so far, best first: higher score, then lower
/// tag (so that ties resolve as a stable sort of the candidates in tag order would).
/// Insertion-sorted: k is small (at most 50), most candidates are refused at the first
/// comparison, and nothing is allocated per candidate.
#[derive(Clone, Debug)]
pub(crate) struct TopK {
    k: usize,
    items: Vec<(f32, usize)>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        Self {
            k,
            items: Vec::with_capacity(k + 1),
        }
    }

    fn before(a: (f32, usize), b: (f32, usize)) -> bool {
        a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)).is_gt()
    }

    pub(crate) fn push(&mut self, score: f32, tag: usize) {
        if self.k == 0 {
            return;
        }
        let item = (score, tag);
        if self.items.len() == self.k && !Self::before(item, self.items[self.k - 1]) {
            return;
        }
        let at = self.items.partition_point(|&x| Self::before(x, item));
        self.items.insert(at, item);
        self.items.truncate(self.k);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Best first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (f32, usize)> + '_ {
        self.items.iter().copied()
    }
}

/// Rows of one side of a tile: 64 vectors of 1024 f32 are 256 KB, so both sides of a
/// tile stay in L2 while all 4 096 of its pairs are computed.
const TILE: usize = 64;

/// Every cosine between rows `a` and rows `b` of `e`, handed to `visit(p, q, cosine)`
/// with `p` a position in `a` and `q` one in `b`. With `half`, `a` and `b` are the same
/// list and each pair of distinct positions is visited once, as `p < q` (a cosine is
/// symmetric: half the work). `progress(pairs visited so far)` after each band of tiles.
///
/// Work goes tile by tile, and inside a tile 2 rows of `a` against 4 of `b` at a time
/// ([`dots_2x4`]): each value loaded serves 4 or 2 products instead of the 1 of a plain
/// dot product, which is bound by loads, not arithmetic. This is a private kernel of
/// the analyses (outliers, kNN): the similarity view's Gram kernel lives in `kernels`.
pub(crate) fn cosine_pairs(
    e: &Embeddings,
    a: &[usize],
    b: &[usize],
    half: bool,
    progress: &mut dyn FnMut(usize),
    mut visit: impl FnMut(usize, usize, f32),
) {
    let mut visited = 0;
    for a0 in (0..a.len()).step_by(TILE) {
        let a1 = (a0 + TILE).min(a.len());
        let b_start = if half { a0 } else { 0 };
        for b0 in (b_start..b.len()).step_by(TILE) {
            let b1 = (b0 + TILE).min(b.len());
            for p in (a0..a1).step_by(2) {
                // Past the end, a block repeats its last row; those products are dropped.
                let rows = [0, 1].map(|r| e.row(a[(p + r).min(a1 - 1)]));
                for q in (b0..b1).step_by(4) {
                    if half && q + 3 <= p {
                        continue;
                    }
                    let cols = [0, 1, 2, 3].map(|c| e.row(b[(q + c).min(b1 - 1)]));
                    let dots = dots_2x4(rows, cols);
                    for (r, row) in dots.iter().enumerate() {
                        let pr = p + r;
                        if pr >= a1 {
                            break;
                        }
                        for (c, &d) in row.iter().enumerate() {
                            let qc = q + c;
                            if qc >= b1 || (half && qc <= pr) {
                                continue;
                            }
                            visited += 1;
                            visit(pr, qc, d.clamp(-1.0, 1.0));
                        }
                    }
                }
            }
        }
        progress(visited);
    }
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
    fn nearest_among_raw_vectors_is_nearest_among_normalised_ones() {
        let at = |deg: f32, len: f32| {
            let r = deg.to_radians();
            vec![len * r.cos(), len * r.sin()]
        };
        // Points on the circle at several lengths (no two in one direction, so no tie
        // can be broken differently by rounding), and a zero vector (all ties: the
        // lower position first).
        let raw = [
            at(0.0, 2.0),
            at(10.0, 0.5),
            at(20.0, 3.0),
            at(180.0, 1.0),
            at(35.0, 7.0),
            vec![0.0, 0.0],
        ];
        let e = Embeddings::new(&raw);
        for row in 0..raw.len() {
            let (got, expected) = (nearest(&raw, &raw[row], 3, Some(row)), of_row(&e, row, 3));
            assert_eq!(
                got.iter().map(|n| n.index).collect::<Vec<_>>(),
                expected.iter().map(|n| n.index).collect::<Vec<_>>(),
                "row {row}"
            );
            for (g, x) in got.iter().zip(&expected) {
                assert!(
                    (g.cosine - x.cosine).abs() < 1e-6,
                    "row {row}: {got:?} vs {expected:?}"
                );
            }
        }
        let text = nearest(&raw, &[3.0, -3.0], 3, None);
        // −45°: 0° is 45° away, 10° 55°, 20° 65°.
        assert_eq!(
            text.iter().map(|n| n.index).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert!(nearest(&raw, &[0.0, 0.0], 2, None)
            .iter()
            .all(|n| n.cosine == 0.0));
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
    /// Deterministic vectors in `dim` dimensions (xorshift), some repeated so that
    /// duplicates and ties occur.
    fn random(n: usize, dim: usize, seed: u64) -> Embeddings {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        };
        let mut rows: Vec<Vec<f32>> = (0..n).map(|_| (0..dim).map(|_| rnd()).collect()).collect();
        for i in (0..n).step_by(7).skip(1) {
            rows[i] = rows[i - 1].clone();
        }
        Embeddings::new(&rows)
    }

    /// The plain definition: every reference row's cosine, sorted, the k best averaged.
    fn brute_outlier_scores(e: &Embeddings, reference: &[usize], k: usize) -> Vec<f32> {
        let mut reference = reference.to_vec();
        reference.sort_unstable();
        reference.dedup();
        (0..e.len())
            .map(|i| {
                let mut c: Vec<f64> = reference
                    .iter()
                    .filter(|&&j| j != i)
                    .map(|&j| e.cosine(i, j) as f64)
                    .collect();
                c.sort_by(|a, b| b.total_cmp(a));
                c.truncate(k.max(1));
                if c.is_empty() {
                    return 0.0;
                }
                (c.iter().map(|c| 1.0 - c).sum::<f64>() / c.len() as f64) as f32
            })
            .collect()
    }

    #[test]
    fn the_blocked_kernel_agrees_with_dot_at_awkward_lengths() {
        for dim in (0..=13).chain([1023, 1024]) {
            let e = random(6, dim, dim as u64 + 1);
            let rows: Vec<&[f32]> = (0..6).map(|i| e.row(i)).collect();
            let d = dots_2x4([rows[0], rows[1]], [rows[2], rows[3], rows[4], rows[5]]);
            for r in 0..2 {
                for c in 0..4 {
                    let expected = crate::analysis::dot_unclamped(rows[r], rows[2 + c]);
                    assert!(
                        (f64::from(d[r][c]) - expected).abs() < 1e-5,
                        "dim {dim}, ({r}, {c}): {} vs {expected}",
                        d[r][c]
                    );
                }
            }
        }
    }

    #[test]
    fn every_kernel_gives_the_portable_kernel_s_bits() {
        for dim in (0..=13).chain([1024]) {
            let e = random(6, dim, dim as u64 + 7);
            let r: Vec<&[f32]> = (0..6).map(|i| e.row(i)).collect();
            let (a, b) = ([r[0], r[1]], [r[2], r[3], r[4], r[5]]);
            let (got, portable) = (
                dots_2x4(a, b),
                crate::analysis::kernels::portable::dots_2x4(a, b),
            );
            assert_eq!(
                got.map(|x| x.map(f32::to_bits)),
                portable.map(|x| x.map(f32::to_bits))
            );
            let s = [0.5, -1.25, 3.0e-3, 7.0];
            let mut y: Vec<f32> = e.row(5).to_vec();
            let mut expected = y.clone();
            crate::analysis::kernels::axpy4(s, [r[0], r[1], r[2], r[3]], &mut y);
            for (i, v) in expected.iter_mut().enumerate() {
                *v += s[0] * r[0][i] + s[1] * r[1][i] + s[2] * r[2][i] + s[3] * r[3][i];
            }
            assert_eq!(
                y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                expected.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "dim {dim}"
            );
        }
    }

    #[test]
    fn every_pair_is_visited_once_with_its_cosine() {
        // Sizes that are multiples of neither the tile nor the kernel's 2 × 4.
        let e = random(203, 19, 3);
        let a: Vec<usize> = (0..203).filter(|i| i % 3 != 0).collect();
        let b: Vec<usize> = (0..203).filter(|i| i % 5 == 1).collect();
        for (a, b, half) in [(&a, &b, false), (&a, &a, true), (&b, &b, true)] {
            let mut seen = vec![0u8; a.len() * b.len()];
            let mut reported = 0;
            cosine_pairs(&e, a, b, half, &mut |done| reported = done, |p, q, c| {
                seen[p * b.len() + q] += 1;
                assert!((c - e.cosine(a[p], b[q])).abs() < 1e-5, "({p}, {q})");
            });
            for p in 0..a.len() {
                for q in 0..b.len() {
                    let expected = u8::from(!half || p < q);
                    assert_eq!(seen[p * b.len() + q], expected, "({p}, {q}), half {half}");
                }
            }
            let total = if half {
                a.len() * (a.len() - 1) / 2
            } else {
                a.len() * b.len()
            };
            assert_eq!(reported, total, "the last progress counts every pair");
        }
    }

    #[test]
    fn blocked_outlier_scores_match_the_definition() {
        let e = random(150, 24, 9);
        let all: Vec<usize> = (0..150).collect();
        // Every row; one class's worth (with a duplicate index); a single row; none.
        let some: Vec<usize> = (0..150).filter(|i| i % 4 == 1).chain([5, 5]).collect();
        for (reference, k) in [
            (&all[..], 5),
            (&all[..], 1),
            (&some[..], 3),
            (&[7][..], 4),
            (&[][..], 2),
        ] {
            let got = outlier_scores(&e, reference, k);
            let expected = brute_outlier_scores(&e, reference, k);
            for (i, (g, x)) in got.iter().zip(&expected).enumerate() {
                assert!((g - x).abs() < 1e-5, "row {i}, k {k}: {g} vs {x}");
            }
        }
    }

    #[test]
    fn progress_rises_to_one() {
        let e = random(300, 8, 4);
        let reference: Vec<usize> = (0..300).step_by(2).collect();
        let mut seen = Vec::new();
        outlier_scores_with(&e, &reference, 3, &mut |f| seen.push(f));
        assert!(seen.len() > 2, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert!((seen.last().copied().unwrap_or(0.0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn top_k_keeps_the_best_and_breaks_ties_by_the_lower_tag() {
        let mut t = TopK::new(3);
        for (score, tag) in [(0.5, 4), (0.9, 7), (0.5, 2), (0.1, 0), (0.9, 3), (0.5, 1)] {
            t.push(score, tag);
        }
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            vec![(0.9, 3), (0.9, 7), (0.5, 1)]
        );
        assert_eq!(t.len(), 3);
        let mut none = TopK::new(0);
        none.push(1.0, 0);
        assert!(none.is_empty());
    }
}
