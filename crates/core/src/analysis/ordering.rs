//! The "clustered" order of a heatmap's rows at any size: similar rows next to each
//! other, so that groups show as bright squares on the diagonal.
//!
//! Up to [`MAX_CLUSTERED`] rows it is the leaf order of average linkage on every pair
//! (what the heatmap always did). That needs the whole `N × N` matrix in memory and
//! `O(N³)` time — 400 MB and hours at 10 000 rows — so above that the order is built in
//! three cheap steps, each chosen because it scales linearly in `N`:
//!
//! 1. **Spherical k-means** (cosine k-means: rows and centroids on the unit sphere),
//!    `k` = √(N/2) up to [`MAX_CLUSTERS`], fitted on a random sample of at most
//!    [`SAMPLE`] rows (k-means++ seeding, then Lloyd's steps through the Gram kernel)
//!    and then every row assigned to its nearest centroid: `O(S·k·d)` per step plus
//!    `O(N·k·d)` once. K-means is the standard scalable stand-in for hierarchical
//!    clustering (Lloyd's steps are embarrassingly regular, and sampling keeps the cost
//!    of fitting independent of `N`); its clusters are balls, which is what cosine
//!    neighbourhoods of an embedding look like.
//! 2. **The clusters in average-linkage order of their centroids**: only `k × k`, so
//!    the exact method is affordable there, and neighbouring clusters end up adjacent.
//! 3. **Within a cluster, the rows along its leading principal direction** (a few power
//!    steps on the centred members, `O(n·d)` each, the covariance never formed),
//!    oriented towards the next cluster: a 1-D ordering that keeps near rows near,
//!    and makes a cluster's far end the one that touches its neighbour.
//!
//! Everything is deterministic (a fixed seed), so the same vectors always give the
//! same picture. At 10 000 × 1024 the whole order costs about as much as a few
//! passes over the data (see the `analysis` benchmark).

use super::kernels::{axpy, dot_unclamped, gram};
use super::similarity::{average_linkage_order, Cosines, MAX_CLUSTERED};
use super::Embeddings;

/// At most this many clusters: enough structure for a screen of 512 blocks, and the
/// assignment pass (`N·k` products) stays a few passes over the data.
pub const MAX_CLUSTERS: usize = 64;
/// K-means is fitted on at most this many rows (a random sample); every row is then
/// assigned once. 2 048 rows of a few dozen clusters estimate centroids well.
pub const SAMPLE: usize = 2048;
/// Lloyd's steps at most (it usually settles sooner, and stops when nothing moves).
pub const MAX_STEPS: usize = 12;
/// Power steps for a cluster's principal direction (an ordering needs its rough
/// direction, not its fourth digit).
const POWER_STEPS: usize = 10;
/// Rows assigned per Gram call in the final pass, so scores stay `ROWS_AT_ONCE × k`.
const ROWS_AT_ONCE: usize = 1024;

/// The clustered order of the rows of `e`: average linkage on every pair up to
/// [`MAX_CLUSTERED`] rows, the k-means order of [`kmeans_order`] above.
pub fn clustered_order(e: &Embeddings) -> Vec<usize> {
    let n = e.len();
    if n <= MAX_CLUSTERED {
        return average_linkage_order(Cosines::of(e).values(), n);
    }
    kmeans_order(e)
}

/// How many clusters for `n` rows: √(n/2), between 1 and [`MAX_CLUSTERS`] (and `n`).
pub fn clusters_for(n: usize) -> usize {
    (((n as f64) / 2.0).sqrt().round() as usize)
        .clamp(1, MAX_CLUSTERS)
        .min(n)
}

/// A small deterministic generator (xorshift64*): the sample and the seeding must be
/// the same on every run and on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The result of [`spherical_kmeans`]: `k` unit centroids (row-major) and, for every
/// row, the index of its nearest centroid.
#[derive(Clone, Debug, PartialEq)]
pub struct Clusters {
    pub k: usize,
    pub centroids: Vec<f32>,
    pub assignment: Vec<usize>,
}

/// Index of the largest value (the first of equals).
fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}

/// `v / |v|` in place; a zero vector stays zero.
fn normalise(v: &mut [f32]) {
    let norm = dot_unclamped(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut()
            .for_each(|x| *x = (f64::from(*x) / norm) as f32);
    }
}

/// Spherical k-means of the rows of `e` into (at most) `k` clusters, fitted on a
/// random sample of [`SAMPLE`] rows and applied to all. See the module's notes.
pub fn spherical_kmeans(e: &Embeddings, k: usize) -> Clusters {
    let (n, d) = (e.len(), e.dim);
    let k = k.clamp(1, n.max(1));
    if n == 0 || d == 0 {
        return Clusters {
            k,
            centroids: vec![0.0; k * d],
            assignment: vec![0; n],
        };
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ n as u64);
    // The sample: a partial Fisher–Yates shuffle, then in row order (cache-friendly).
    let mut sample: Vec<usize> = (0..n).collect();
    if n > SAMPLE {
        for i in 0..SAMPLE {
            let j = i + rng.below(n - i);
            sample.swap(i, j);
        }
        sample.truncate(SAMPLE);
        sample.sort_unstable();
    }
    let s = e.gather(&sample);
    let m = s.len();

    // k-means++: each next centre drawn with probability ∝ its cosine distance to the
    // nearest centre so far (`1 − cos`, half the squared distance of unit vectors).
    let mut centroids = Vec::with_capacity(k * d);
    let first = rng.below(m);
    centroids.extend_from_slice(s.row(first));
    let mut nearest: Vec<f64> = (0..m)
        .map(|i| dot_unclamped(s.row(i), s.row(first)))
        .collect();
    for _ in 1..k {
        let weight = |c: f64| (1.0 - c).max(0.0);
        let total: f64 = nearest.iter().map(|&c| weight(c)).sum();
        if total <= 0.0 {
            break; // every row sits on a centre already (duplicates)
        }
        let mut at = rng.unit() * total;
        let mut pick = m - 1;
        for (i, &c) in nearest.iter().enumerate() {
            at -= weight(c);
            if at < 0.0 {
                pick = i;
                break;
            }
        }
        centroids.extend_from_slice(s.row(pick));
        for (i, c) in nearest.iter_mut().enumerate() {
            *c = c.max(dot_unclamped(s.row(i), s.row(pick)));
        }
    }
    let k = centroids.len() / d;

    // Lloyd's steps on the sample: assign by the largest cosine, move each centroid to
    // its members' normalised sum. An emptied cluster keeps its centroid.
    let mut assign = vec![usize::MAX; m];
    let mut scores = vec![0f32; m * k];
    for _ in 0..MAX_STEPS {
        gram(s.as_slice(), &centroids, d, &mut scores);
        let mut moved = false;
        for (a, row) in assign.iter_mut().zip(scores.chunks(k)) {
            let best = argmax(row);
            moved |= *a != best;
            *a = best;
        }
        if !moved {
            break;
        }
        let mut sums = vec![0f32; k * d];
        for (i, &a) in assign.iter().enumerate() {
            axpy(1.0, s.row(i), &mut sums[a * d..(a + 1) * d]);
        }
        for (c, sum) in sums.chunks_mut(d).enumerate() {
            if sum.iter().any(|&x| x != 0.0) {
                normalise(sum);
                centroids[c * d..(c + 1) * d].copy_from_slice(sum);
            }
        }
    }

    // Every row to its nearest centroid, a chunk of rows at a time.
    let mut assignment = Vec::with_capacity(n);
    let mut scores = vec![0f32; ROWS_AT_ONCE.min(n) * k];
    for chunk in e.as_slice().chunks(ROWS_AT_ONCE * d) {
        let rows = chunk.len() / d;
        let out = &mut scores[..rows * k];
        gram(chunk, &centroids, d, out);
        assignment.extend(out.chunks(k).map(argmax));
    }
    Clusters {
        k,
        centroids,
        assignment,
    }
}

/// The mean of rows `members` of `e` (not normalised).
fn mean(e: &Embeddings, members: &[usize]) -> Vec<f32> {
    let mut sum = vec![0f32; e.dim];
    for &i in members {
        axpy(1.0, e.row(i), &mut sum);
    }
    let scale = 1.0 / members.len().max(1) as f32;
    sum.iter_mut().for_each(|x| *x *= scale);
    sum
}

/// `members` (rows of `e`) sorted along their leading principal direction, oriented
/// so that the projections grow along `guide` (where the next cluster lies). The
/// direction starts from `guide` (or, without one, from the member farthest from the
/// mean) and takes [`POWER_STEPS`] power steps on the centred members' covariance,
/// `v ← Σ (xᵢ − μ)((xᵢ − μ)·v)`, never forming it. Ties keep the lower row first.
pub fn principal_order(e: &Embeddings, members: &[usize], guide: Option<&[f32]>) -> Vec<usize> {
    let mut order = members.to_vec();
    if members.len() < 3 || e.dim == 0 {
        return order;
    }
    let mu = mean(e, members);
    let mut v: Vec<f32> = match guide.filter(|g| dot_unclamped(g, g) > 0.0) {
        Some(g) => g.to_vec(),
        None => {
            let far = members
                .iter()
                .map(|&i| (i, dot_unclamped(e.row(i), &mu)))
                .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
                .map_or(members[0], |(i, _)| i);
            e.row(far).iter().zip(&mu).map(|(x, m)| x - m).collect()
        }
    };
    normalise(&mut v);
    for _ in 0..POWER_STEPS {
        let mu_v = dot_unclamped(&mu, &v);
        let mut w = vec![0f32; e.dim];
        let mut total = 0f64;
        for &i in members {
            let p = dot_unclamped(e.row(i), &v) - mu_v;
            axpy(p as f32, e.row(i), &mut w);
            total += p;
        }
        axpy(-(total as f32), &mu, &mut w);
        if dot_unclamped(&w, &w) <= 0.0 {
            break; // every member projects to the same point: any order is as good
        }
        normalise(&mut w);
        v = w;
    }
    if let Some(g) = guide {
        if dot_unclamped(&v, g) < 0.0 {
            v.iter_mut().for_each(|x| *x = -*x);
        }
    }
    let at: Vec<f64> = members
        .iter()
        .map(|&i| dot_unclamped(e.row(i), &v))
        .collect();
    let mut by: Vec<usize> = (0..members.len()).collect();
    by.sort_by(|&a, &b| at[a].total_cmp(&at[b]).then(members[a].cmp(&members[b])));
    for (slot, &j) in order.iter_mut().zip(&by) {
        *slot = members[j];
    }
    order
}

/// The scalable clustered order of every row of `e`: spherical k-means with
/// [`clusters_for`] clusters, clusters in average-linkage order of their centroids,
/// rows within each along [`principal_order`], guided towards the next cluster.
pub fn kmeans_order(e: &Embeddings) -> Vec<usize> {
    let n = e.len();
    if n == 0 {
        return Vec::new();
    }
    let clusters = spherical_kmeans(e, clusters_for(n));
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); clusters.k];
    for (i, &c) in clusters.assignment.iter().enumerate() {
        members[c].push(i);
    }
    let live: Vec<usize> = (0..clusters.k)
        .filter(|&c| !members[c].is_empty())
        .collect();
    let d = e.dim;
    let centroid = |c: usize| &clusters.centroids[c * d..(c + 1) * d];
    let between = Cosines::of(&Embeddings::new(
        &live.iter().map(|&c| centroid(c)).collect::<Vec<_>>(),
    ));
    let sequence: Vec<usize> = average_linkage_order(between.values(), live.len())
        .into_iter()
        .map(|i| live[i])
        .collect();
    let means: Vec<Vec<f32>> = sequence.iter().map(|&c| mean(e, &members[c])).collect();
    let mut order = Vec::with_capacity(n);
    for (p, &c) in sequence.iter().enumerate() {
        // From the previous cluster's mean towards the next one's (or from/to this
        // one's at the ends); none when the cluster is alone.
        let prev = if p > 0 { &means[p - 1] } else { &means[p] };
        let next = means.get(p + 1).unwrap_or(&means[p]);
        let guide: Vec<f32> = next.iter().zip(prev).map(|(a, b)| a - b).collect();
        let guide = (sequence.len() > 1).then_some(guide.as_slice());
        order.extend(principal_order(e, &members[c], guide));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::similarity::is_permutation;

    fn rng_rows(n: usize, d: usize, groups: usize, noise: f32, seed: u64) -> Vec<Vec<f32>> {
        let mut r = Rng(seed | 1);
        let mut u = move || r.unit() as f32 - 0.5;
        let centres: Vec<Vec<f32>> = (0..groups).map(|_| (0..d).map(|_| u()).collect()).collect();
        (0..n)
            .map(|i| {
                centres[i % groups]
                    .iter()
                    .map(|c| c + noise * u())
                    .collect()
            })
            .collect()
    }

    /// How many times the planted group (row % groups) changes along the order.
    fn changes(order: &[usize], groups: usize) -> usize {
        order
            .windows(2)
            .filter(|w| w[0] % groups != w[1] % groups)
            .count()
    }

    #[test]
    fn planted_groups_come_out_in_one_run_each() {
        // 1 000 rows, 5 groups loaded interleaved; 22 clusters (more than groups), so
        // the centroids' linkage has to put a group's sub-clusters side by side.
        let rows = rng_rows(1000, 32, 5, 0.2, 7);
        let e = Embeddings::new(&rows);
        let order = clustered_order(&e);
        assert!(is_permutation(&order, 1000));
        assert_eq!(changes(&order, 5), 4, "5 groups, 4 boundaries");
        assert_eq!(order, clustered_order(&e), "deterministic");
    }

    #[test]
    fn a_large_set_is_sampled_and_still_ordered() {
        let n = SAMPLE + 700;
        let rows = rng_rows(n, 16, 4, 0.1, 11);
        let e = Embeddings::new(&rows);
        let c = spherical_kmeans(&e, clusters_for(n));
        assert_eq!(c.assignment.len(), n);
        assert!(c.assignment.iter().all(|&a| a < c.k));
        // Each planted group lies in clusters of its own.
        for a in 0..c.k {
            let groups: std::collections::HashSet<usize> = (0..n)
                .filter(|&i| c.assignment[i] == a)
                .map(|i| i % 4)
                .collect();
            assert!(groups.len() <= 1, "cluster {a} mixes groups {groups:?}");
        }
        let order = kmeans_order(&e);
        assert!(is_permutation(&order, n));
        assert_eq!(changes(&order, 4), 3);
    }

    #[test]
    fn rows_of_a_cluster_follow_its_principal_direction_towards_the_guide() {
        // Points along a line through (1, 0, 0) in the direction (0, 1, 0), loaded in a
        // scrambled order, with a little spread along (0, 0, 1).
        let t = [0.3f32, -0.2, 0.1, 0.0, -0.4, 0.2, -0.1, 0.4, -0.3];
        let rows: Vec<Vec<f32>> = t
            .iter()
            .enumerate()
            .map(|(i, &t)| vec![1.0, t, 0.01 * (i % 2) as f32])
            .collect();
        let e = Embeddings::new(&rows);
        let all: Vec<usize> = (0..t.len()).collect();
        let sorted = |o: &[usize]| -> Vec<f32> { o.iter().map(|&i| t[i]).collect() };
        let up = principal_order(&e, &all, Some(&[0.0, 1.0, 0.0]));
        assert_eq!(
            sorted(&up),
            vec![-0.4, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4]
        );
        // Guided the other way (even slightly), the same line runs the other way.
        let down = principal_order(&e, &all, Some(&[0.0, -0.5, 0.3]));
        let mut rev = sorted(&up);
        rev.reverse();
        assert_eq!(sorted(&down), rev);
        // Without a guide: still along the line, one way or the other.
        let free = sorted(&principal_order(&e, &all, None));
        assert!(free == sorted(&up) || free == rev, "{free:?}");
        // Two members: as given; identical members: by row.
        assert_eq!(principal_order(&e, &[5, 2], None), vec![5, 2]);
        let same = Embeddings::new(&vec![vec![1.0f32, 0.0]; 4]);
        assert_eq!(
            principal_order(&same, &[3, 1, 2, 0], None),
            vec![0, 1, 2, 3]
        );
    }

    #[test]
    fn duplicates_zero_vectors_and_tiny_sets_do_not_break_it() {
        let mut rows = vec![vec![0.5f32, 0.5, 0.0]; 650];
        rows[10] = vec![0.0; 3];
        rows[20] = vec![0.0, 0.0, 1.0];
        let e = Embeddings::new(&rows);
        let order = clustered_order(&e);
        assert!(is_permutation(&order, 650));
        assert!(kmeans_order(&Embeddings::new(&Vec::<Vec<f32>>::new())).is_empty());
        assert_eq!(kmeans_order(&Embeddings::new(&[vec![1.0, 0.0]])), vec![0]);
        assert_eq!(clusters_for(10_000), MAX_CLUSTERS);
        assert_eq!(clusters_for(800), 20);
        assert_eq!(clusters_for(1), 1);
    }
}
