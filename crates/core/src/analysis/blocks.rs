//! The similarity heatmap beyond [`MAX_FULL`] rows: a summary at the screen's
//! resolution. At 10 000 images the full matrix is 100 million cosines (400 MB, and a
//! canvas 20× wider than any screen), so the rows, in the order the user picked, are
//! cut into at most [`MAX_BLOCKS`] blocks of consecutive rows and each pair of blocks
//! shows the mean cosine between their members.
//!
//! Those means cost almost nothing, because the mean cosine between two groups of unit
//! vectors is the dot product of their sums divided by the sizes:
//! `mean_{a∈A, b∈B} a·b = (Σ a)·(Σ b) / (|A|·|B|)`. So a summary is one pass to sum each
//! block (`O(N·d)`) and the Gram matrix of the block sums (`O(B²·d)`) — at 10 000 × 1024
//! into 512 blocks, a fraction of a second instead of 10¹¹ products. On a diagonal block
//! the pairs of a row with itself are left out (`(|Σ a|² − Σ|a|²) / (n(n−1))`), so it
//! reads the mean cosine between *different* images, as the full map's colour range
//! leaves its diagonal out.
//!
//! Each block also names a representative: the member nearest the block's mean (the
//! largest dot product with its sum, a medoid-like pick in `O(N·d)`), so hovering a
//! block can say which images it is about. Clicking a block opens its exact cells
//! ([`BlockSummary::drill`]): at most a few hundred rows by a few hundred columns.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::kernels::{axpy, dot_unclamped, gram_symmetric};
use super::similarity::{colour_range, is_permutation, Cosines};
use super::Embeddings;

/// Up to this many rows a heatmap shows every cell (16 MB of cosines, painted in
/// bands); above, the [`BlockSummary`].
pub const MAX_FULL: usize = 2048;
/// At most this many blocks a side: about the heatmap's width in device pixels, so a
/// block is at least a pixel and the block means' Gram matrix stays small (512² × d).
pub const MAX_BLOCKS: usize = 512;

/// Where `n` rows are cut into `blocks` blocks of consecutive rows (at most `n`, at
/// least one when there are rows): `blocks + 1` boundaries from 0 to `n`, the sizes
/// differing by at most one.
pub fn block_bounds(n: usize, blocks: usize) -> Vec<usize> {
    if n == 0 {
        return vec![0];
    }
    let b = blocks.clamp(1, n);
    (0..=b).map(|i| i * n / b).collect()
}

/// A square similarity matrix summarised by blocks of consecutive rows in a given order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockSummary {
    /// For each row shown, top to bottom, the index of its item.
    order: Vec<usize>,
    /// Block `b` is rows `bounds[b]..bounds[b + 1]` of the order.
    bounds: Vec<usize>,
    /// Mean cosine of every pair of blocks, row-major, `blocks × blocks`.
    #[serde(with = "super::f32_bytes")]
    means: Vec<f32>,
    /// For each block, the item nearest its mean.
    representatives: Vec<usize>,
    range: (f64, f64),
}

impl BlockSummary {
    /// The summary of the rows of `e` shown in `order`, cut into at most `blocks`
    /// blocks.
    ///
    /// # Panics
    /// If `order` is not a permutation of the rows (the worker checks it first).
    pub fn new(e: &Embeddings, order: Vec<usize>, blocks: usize) -> Self {
        let n = e.len();
        assert!(is_permutation(&order, n), "an order of the {n} rows");
        let bounds = block_bounds(n, blocks);
        let b = bounds.len() - 1;
        let d = e.dim;
        let mut sums = vec![0f32; b * d];
        let mut self_dots = vec![0f64; b];
        let mut sizes = vec![0usize; b];
        for k in 0..b {
            let sum = &mut sums[k * d..(k + 1) * d];
            for &i in &order[bounds[k]..bounds[k + 1]] {
                axpy(1.0, e.row(i), sum);
                // 1 for a normalised row, 0 for a zero vector.
                self_dots[k] += dot_unclamped(e.row(i), e.row(i));
            }
            sizes[k] = bounds[k + 1] - bounds[k];
        }
        let mut products = vec![0f32; b * b];
        gram_symmetric(&sums, d, &mut products);
        let mut means = vec![0f32; b * b];
        for r in 0..b {
            for c in 0..b {
                let (nr, nc) = (sizes[r] as f64, sizes[c] as f64);
                let mean = if r != c {
                    f64::from(products[r * b + c]) / (nr * nc)
                } else {
                    // In f64 from the sum itself: |Σa|² − Σ|a|² cancels most of its
                    // digits for a tight block, and the Gram output is only f32.
                    let s = &sums[r * d..(r + 1) * d];
                    let all = dot_unclamped(s, s);
                    if sizes[r] > 1 {
                        (all - self_dots[r]) / (nr * (nr - 1.0))
                    } else {
                        all
                    }
                };
                means[r * b + c] = (mean as f32).clamp(-1.0, 1.0);
            }
        }
        let representatives = (0..b)
            .map(|k| {
                let sum = &sums[k * d..(k + 1) * d];
                let members = &order[bounds[k]..bounds[k + 1]];
                members
                    .iter()
                    .map(|&i| (i, dot_unclamped(e.row(i), sum)))
                    // The first of equals, in the order shown.
                    .fold(None::<(usize, f64)>, |best, (i, v)| match best {
                        Some((_, bv)) if bv >= v => best,
                        _ => Some((i, v)),
                    })
                    .map_or(0, |(i, _)| i)
            })
            .collect();
        // A one-row diagonal block is a row with itself (1): left out, as the full map
        // leaves out its diagonal, unless it is all there is.
        let skip = |r: usize, c: usize| r == c && sizes[r] == 1 && b > 1;
        let range = colour_range(
            (0..b * b)
                .filter(|&k| !skip(k / b.max(1), k % b.max(1)))
                .map(|k| means[k]),
        );
        Self {
            order,
            bounds,
            means,
            representatives,
            range,
        }
    }

    /// How many rows are summarised.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// How many blocks a side.
    pub fn blocks(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }

    /// For each row shown, top to bottom, the index of its item.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The rows shown in block `b` (positions in [`BlockSummary::order`]).
    pub fn rows_of(&self, b: usize) -> Option<Range<usize>> {
        (b < self.blocks()).then(|| self.bounds[b]..self.bounds[b + 1])
    }

    /// The items of block `b`, in the order shown.
    pub fn members(&self, b: usize) -> Option<&[usize]> {
        self.rows_of(b).map(|r| &self.order[r])
    }

    /// The block holding shown row `row`.
    pub fn block_of(&self, row: usize) -> Option<usize> {
        (row < self.len()).then(|| self.bounds.partition_point(|&s| s <= row) - 1)
    }

    /// The mean cosine between blocks `r` and `c` (on the diagonal, between different
    /// rows of the block).
    pub fn mean(&self, r: usize, c: usize) -> Option<f32> {
        let b = self.blocks();
        (r < b && c < b).then(|| self.means[r * b + c])
    }

    /// Every block mean, row-major, `blocks × blocks`.
    pub fn means(&self) -> &[f32] {
        &self.means
    }

    /// The item nearest block `b`'s mean.
    pub fn representative(&self, b: usize) -> Option<usize> {
        self.representatives.get(b).copied()
    }

    /// The colour range: the smallest and largest block mean (see [`colour_range`]).
    pub fn range(&self) -> (f64, f64) {
        self.range
    }

    /// The exact cells of block `r` against block `c`: their items (rows, columns) and
    /// every cosine between them, from `vectors`, the summarised vectors in the order
    /// they were given (normalised here; only the block's rows are touched). A diagonal
    /// block is square (its colour range leaves its diagonal out).
    pub fn drill<V: AsRef<[f32]>>(&self, vectors: &[V], r: usize, c: usize) -> Option<Drill> {
        let (rows, cols) = (self.members(r)?.to_vec(), self.members(c)?.to_vec());
        let pick = |items: &[usize]| -> Option<Embeddings> {
            let picked: Vec<&[f32]> = items
                .iter()
                .map(|&i| vectors.get(i).map(AsRef::as_ref))
                .collect::<Option<_>>()?;
            Some(Embeddings::new(&picked))
        };
        let row_vectors = pick(&rows)?;
        let cells = if r == c {
            Cosines::of(&row_vectors)
        } else {
            Cosines::between(&row_vectors, &pick(&cols)?)
        };
        Some(Drill { rows, cols, cells })
    }
}

/// A block pair opened from the summary: its items and their exact cosines.
#[derive(Clone, Debug, PartialEq)]
pub struct Drill {
    /// The block's rows, top to bottom: indices of the summarised items.
    pub rows: Vec<usize>,
    /// The other block's rows, left to right.
    pub cols: Vec<usize>,
    /// `rows.len() × cols.len()` cosines, in that order.
    pub cells: Cosines,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, d: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut x = seed | 1;
        let mut u = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        };
        // Three loose groups, so the means differ from block to block.
        let centres: Vec<Vec<f32>> = (0..3).map(|_| (0..d).map(|_| u()).collect()).collect();
        (0..n)
            .map(|i| centres[i % 3].iter().map(|c| c + 0.6 * u()).collect())
            .collect()
    }

    /// The mean of the block's cells taken one by one from the full matrix, in f64,
    /// the pairs of a row with itself left out on the diagonal (unless it is alone).
    fn brute(full: &Cosines, a: &[usize], b: &[usize], diagonal: bool) -> f64 {
        let mut sum = 0f64;
        let mut count = 0usize;
        for &i in a {
            for &j in b {
                if diagonal && i == j && a.len() > 1 {
                    continue;
                }
                sum += f64::from(full.at(i, j).unwrap());
                count += 1;
            }
        }
        sum / count as f64
    }

    #[test]
    fn block_means_are_the_mean_of_their_cells() {
        let mut v = rows(37, 19, 3);
        v[5] = vec![0.0; 19]; // a zero vector: cosine 0 with everything, itself too
        let e = Embeddings::new(&v);
        let full = Cosines::of(&e);
        let order: Vec<usize> = (0..37).rev().collect();
        for blocks in [1, 2, 5, 36, 37, 100] {
            let s = BlockSummary::new(&e, order.clone(), blocks);
            assert_eq!(s.blocks(), blocks.min(37));
            for r in 0..s.blocks() {
                for c in 0..s.blocks() {
                    let want = brute(&full, s.members(r).unwrap(), s.members(c).unwrap(), r == c);
                    let got = f64::from(s.mean(r, c).unwrap());
                    assert!(
                        (got - want).abs() < 2e-6,
                        "{blocks} blocks, ({r}, {c}): {got} vs {want}"
                    );
                }
            }
            assert_eq!(s.mean(s.blocks(), 0), None);
        }
    }

    #[test]
    fn one_row_blocks_are_the_full_matrix_and_its_range() {
        let v = rows(9, 8, 5);
        let e = Embeddings::new(&v);
        let full = Cosines::of(&e);
        let order: Vec<usize> = vec![4, 0, 8, 1, 7, 2, 6, 3, 5];
        let s = BlockSummary::new(&e, order.clone(), 9);
        for r in 0..9 {
            for c in 0..9 {
                let want = full.at(order[r], order[c]).unwrap();
                assert!((s.mean(r, c).unwrap() - want).abs() < 1e-6);
            }
            assert_eq!(s.representative(r), Some(order[r]));
        }
        let (lo, hi) = s.range();
        let (flo, fhi) = full.range();
        assert!(
            (lo - flo).abs() < 1e-6 && (hi - fhi).abs() < 1e-6,
            "{lo} {hi} vs {flo} {fhi}"
        );
    }

    #[test]
    fn blocks_partition_the_order_evenly() {
        for (n, blocks) in [
            (0, 4),
            (1, 4),
            (10, 3),
            (10_000, 512),
            (2049, 512),
            (7, 7),
            (5, 0),
        ] {
            let b = block_bounds(n, blocks);
            assert_eq!((b[0], *b.last().unwrap()), (0, n), "{n} / {blocks}");
            let sizes: Vec<usize> = b.windows(2).map(|w| w[1] - w[0]).collect();
            if n > 0 {
                assert_eq!(sizes.len(), blocks.clamp(1, n));
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(*lo >= 1 && hi - lo <= 1, "{n} / {blocks}: {sizes:?}");
            }
        }
        assert_eq!(block_bounds(10, 3), vec![0, 3, 6, 10]);
        // 10 000 rows into 512 blocks: 19 or 20 rows each.
        let b = block_bounds(10_000, 512);
        assert!(b.windows(2).all(|w| (19..=20).contains(&(w[1] - w[0]))));
        // The block of every row, and the rows of every block, agree.
        let v = rows(23, 4, 9);
        let s = BlockSummary::new(&Embeddings::new(&v), (0..23).collect(), 4);
        assert_eq!(s.rows_of(0), Some(0..5));
        assert_eq!(s.rows_of(3), Some(17..23));
        assert_eq!(s.rows_of(4), None);
        for row in 0..23 {
            let k = s.block_of(row).unwrap();
            assert!(
                s.rows_of(k).unwrap().contains(&row),
                "row {row} in block {k}"
            );
        }
        assert_eq!(s.block_of(23), None);
    }

    #[test]
    fn a_representative_is_the_member_nearest_its_block_mean() {
        let v = rows(40, 12, 21);
        let e = Embeddings::new(&v);
        let order: Vec<usize> = (0..40).map(|i| (i * 7) % 40).collect();
        let s = BlockSummary::new(&e, order, 6);
        for k in 0..6 {
            let members = s.members(k).unwrap();
            let rep = s.representative(k).unwrap();
            assert!(members.contains(&rep));
            // Its mean cosine with the block (itself included) is the largest.
            let mean_cos = |i: usize| -> f64 {
                members
                    .iter()
                    .map(|&j| f64::from(e.cosine(i, j)))
                    .sum::<f64>()
            };
            let best = members
                .iter()
                .map(|&i| mean_cos(i))
                .fold(f64::MIN, f64::max);
            assert!(mean_cos(rep) >= best - 1e-5, "block {k}");
        }
    }

    #[test]
    fn a_drilled_block_is_the_full_matrix_at_its_rows_and_columns() {
        let v = rows(31, 10, 13);
        let e = Embeddings::new(&v);
        let full = Cosines::of(&e);
        let order: Vec<usize> = (0..31).map(|i| (i * 11) % 31).collect();
        let s = BlockSummary::new(&e, order.clone(), 4);
        for (r, c) in [(0, 0), (1, 3), (3, 1), (2, 2)] {
            let d = s.drill(&v, r, c).unwrap();
            assert_eq!(d.rows, &order[s.rows_of(r).unwrap()]);
            assert_eq!(d.cols, &order[s.rows_of(c).unwrap()]);
            assert_eq!(d.cells.is_square(), r == c);
            assert_eq!(
                (d.cells.rows(), d.cells.cols()),
                (d.rows.len(), d.cols.len())
            );
            for (a, &i) in d.rows.iter().enumerate() {
                for (b, &j) in d.cols.iter().enumerate() {
                    let (got, want) = (d.cells.at(a, b).unwrap(), full.at(i, j).unwrap());
                    assert!((got - want).abs() < 1e-6, "({r}, {c}) cell ({a}, {b})");
                }
            }
            // The block's mean is the mean of its drilled cells.
            let cells: Vec<f64> = (0..d.rows.len())
                .flat_map(|a| (0..d.cols.len()).map(move |b| (a, b)))
                .filter(|(a, b)| r != c || a != b)
                .map(|(a, b)| f64::from(d.cells.at(a, b).unwrap()))
                .collect();
            let mean = cells.iter().sum::<f64>() / cells.len() as f64;
            assert!((mean - f64::from(s.mean(r, c).unwrap())).abs() < 2e-6);
        }
        assert_eq!(s.drill(&v, 4, 0), None);
        assert_eq!(s.drill(&v[..3], 1, 1), None, "vectors missing: no drill");
    }

    #[test]
    fn a_summary_crosses_to_the_page_and_back() {
        let v = rows(12, 4, 17);
        let s = BlockSummary::new(&Embeddings::new(&v), (0..12).collect(), 5);
        let back: BlockSummary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        // serde_json reads floats back to within an ulp (the app's bincode is exact);
        // the means travel as bytes, so they come back bit for bit.
        let bits = |m: &BlockSummary| m.means().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&s));
        assert_eq!((back.order(), back.blocks()), (s.order(), s.blocks()));
        assert_eq!(back.representatives, s.representatives);
        assert!((back.range().0 - s.range().0).abs() < 1e-12);
    }

    #[test]
    #[should_panic(expected = "an order of the 3 rows")]
    fn an_order_that_is_not_a_permutation_is_refused() {
        let v = rows(3, 4, 1);
        BlockSummary::new(&Embeddings::new(&v), vec![0, 1, 1], 2);
    }
}
