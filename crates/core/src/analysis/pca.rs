//! Principal component analysis to two dimensions, for the map.
//!
//! Exact PCA: the top two eigenvectors of the covariance matrix, found by subspace
//! iteration with Rayleigh–Ritz until their residual `|C·u − λ·u|` is below
//! [`TOLERANCE`] (a thousandth of a pixel's worth on the map), within a step budget that
//! keeps 10 000 × 1024 to a few seconds ([`step_limit`]). The covariance is never formed — each step multiplies by `Xᵀ(X·Q)` — so a
//! step costs `2·N·D` per vector of the block instead of the `N·D²` of building the
//! 1024 × 1024 covariance, and memory stays at the data. Signs are fixed (largest coordinate positive) so the map does not
//! flip between runs.

/// Power-iteration steps at most, however small the data. Each is `2·N·D` multiply-adds
/// per vector of the block; embeddings' spectra fall off fast, so a few dozen steps
/// usually converge.
pub const MAX_STEPS: usize = 1000;

/// Steps allowed however large the data: enough for any spectrum with a visible gap.
const MIN_STEPS: usize = 30;

/// The iteration's budget in row-times-vector products (`N·D` multiply-adds each, two per
/// block vector per step): 60 steps at 10 000 × 1024, where a step took 36–74 ms
/// natively and ~200 ms in wasm on a loaded two-core machine — well inside the worker's
/// two-minute limit. Only a nearly flat spectrum — where
/// the first two axes are set by noise and any two of the near-equal directions make as
/// good a map — exhausts it: forty overlapping clusters at 10 000 × 1024 have then
/// converged to a residual of 3·10⁻⁴ and their captured variance to 10⁻⁶. Structured
/// data converges long before (five clusters: 5 steps).
///
/// In `u64`: it exceeds a 32-bit `usize` (wasm32).
const WORK: u64 = 60 * 10_000 * 1024 * BLOCK as u64;

/// Converged when the residual `|C·u − θ·u|` of both wanted Ritz pairs is below this
/// fraction of the largest variance. Not lower: the products accumulate in `f32`, whose
/// rounding leaves a residual floor growing with N (1–4·10⁻⁷ at 10 000 rows) that a
/// tolerance of 10⁻⁷ never reached, so large maps ran to [`MAX_STEPS`]. At 10⁻⁵ a
/// variance is off by about r²/gap (10⁻¹⁰ relative) and an axis turns by at most r/gap,
/// a point by that fraction of its distance from the mean — under a pixel on a 600-pixel
/// map unless the gap between the second and third variance is below 1 %, where the
/// axes are noise anyway.
pub const TOLERANCE: f64 = 1e-5;

/// Steps the iteration may take for `n` rows of `d` values: [`WORK`] spread over the
/// data's size, within `MIN_STEPS..=MAX_STEPS`.
pub fn step_limit(n: usize, d: usize) -> usize {
    let per_step = (n as u64)
        .saturating_mul(d as u64)
        .saturating_mul(BLOCK as u64)
        .max(1);
    usize::try_from(WORK / per_step)
        .unwrap_or(MAX_STEPS)
        .clamp(MIN_STEPS, MAX_STEPS)
}

/// A fitted projection.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    pub mean: Vec<f64>,
    /// Unit principal axes, first = largest variance.
    pub axes: [Vec<f64>; 2],
    /// Variance along each axis (eigenvalues of the covariance, divided by N − 1).
    pub variance: [f64; 2],
    /// Total variance (trace of the covariance), for "explained" fractions.
    pub total_variance: f64,
    /// Power-iteration steps taken.
    pub iterations: usize,
}

impl Pca {
    /// Fraction of the total variance each axis explains.
    pub fn explained(&self) -> [f64; 2] {
        let t = if self.total_variance > 0.0 {
            self.total_variance
        } else {
            1.0
        };
        [self.variance[0] / t, self.variance[1] / t]
    }

    /// Coordinates of `v` on the two axes.
    pub fn project(&self, v: &[f32]) -> [f64; 2] {
        let c = |axis: &[f64]| {
            v.iter()
                .zip(&self.mean)
                .zip(axis)
                .map(|((x, m), a)| (f64::from(*x) - m) * a)
                .sum()
        };
        [c(&self.axes[0]), c(&self.axes[1])]
    }
}

fn normalise(v: &mut [f64]) -> f64 {
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
    n
}

fn dot64(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Modified Gram–Schmidt, twice over ("twice is enough"), in place. A vector that
/// loses nearly all its length to the earlier ones (rank-deficient data: constant
/// columns) would turn rounding noise into a direction inside their span; it is replaced
/// by the first coordinate axis that is independent of them, so the basis stays
/// orthonormal and the subspace full.
fn orthonormalise(vs: &mut [Vec<f64>]) {
    let project_out = |v: &mut Vec<f64>, done: &[Vec<f64>]| {
        for _ in 0..2 {
            for u in done {
                let p = dot64(v, u);
                v.iter_mut().zip(u).for_each(|(a, b)| *a -= p * b);
            }
        }
    };
    for i in 0..vs.len() {
        let (done, rest) = vs.split_at_mut(i);
        let v = &mut rest[0];
        let before = dot64(v, v).sqrt();
        project_out(v, done);
        if normalise(v) > 1e-8 * before.max(f64::MIN_POSITIVE) {
            continue;
        }
        let d = v.len();
        for axis in 0..d {
            let mut e: Vec<f64> = (0..d).map(|k| f64::from(u8::from(k == axis))).collect();
            project_out(&mut e, done);
            if normalise(&mut e) > 1e-8 {
                *v = e;
                break;
            }
        }
    }
}

/// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations:
/// eigenvalues descending, eigenvectors as columns (`v[row][col]`).
#[allow(clippy::needless_range_loop)] // the textbook's index form
fn jacobi(mut a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    for _ in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|p| (0..n).filter(move |&q| q != p).map(move |q| (p, q)))
            .map(|(p, q)| a[p][q] * a[p][q])
            .sum();
        let diag: f64 = (0..n).map(|i| a[i][i] * a[i][i]).sum();
        if off <= 1e-30 * diag.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = if theta == 0.0 {
                    1.0
                } else {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k][p], v[k][q]);
                    v[k][p] = c * vkp - s * vkq;
                    v[k][q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| a[y][y].total_cmp(&a[x][x]));
    let values = order.iter().map(|&i| a[i][i]).collect();
    let vectors = (0..n)
        .map(|r| order.iter().map(|&c| v[r][c]).collect())
        .collect();
    (values, vectors)
}

/// Vectors kept in the iterated subspace: more than the two wanted, so convergence goes
/// as (λ₇/λ₂)ᵗ rather than (λ₃/λ₂)ᵗ — embedding clusters make λ₂ and λ₃ close.
const BLOCK: usize = 6;

/// Fits the top two components of `rows` (each of one length ≥ 2, at least 2 rows),
/// within [`step_limit`] steps. Returns `None` when there are fewer than two rows or
/// dimensions.
pub fn fit(rows: &[impl AsRef<[f32]>]) -> Option<Pca> {
    let d = rows.first()?.as_ref().len();
    fit_within(rows, step_limit(rows.len(), d))
}

fn fit_within(rows: &[impl AsRef<[f32]>], steps: usize) -> Option<Pca> {
    let n = rows.len();
    let d = rows.first()?.as_ref().len();
    if n < 2 || d < 2 {
        return None;
    }
    let mut mean = vec![0f64; d];
    for r in rows {
        for (m, x) in mean.iter_mut().zip(r.as_ref()) {
            *m += f64::from(*x);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    // Centred rows in one f32 buffer: the products below vectorise.
    let centred: Vec<f32> = rows
        .iter()
        .flat_map(|r| {
            r.as_ref()
                .iter()
                .zip(&mean)
                .map(|(x, m)| (f64::from(*x) - m) as f32)
        })
        .collect();
    if centred.iter().any(|x| !x.is_finite()) {
        // NaN or infinite input: no meaningful map (and no endless iteration).
        return None;
    }
    let total_variance =
        centred.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / (n - 1) as f64;

    // C·Q = Xᵀ(X Q) / (n − 1) for a block Q, never forming C.
    let apply = |q: &[Vec<f64>]| -> Vec<Vec<f64>> {
        let q32: Vec<Vec<f32>> = q
            .iter()
            .map(|v| v.iter().map(|x| *x as f32).collect())
            .collect();
        let mut acc = vec![vec![0f32; d]; q.len()];
        for row in centred.chunks_exact(d) {
            for (a, v) in acc.iter_mut().zip(&q32) {
                let s = super::dot_unclamped(row, v) as f32;
                super::axpy(s, row, a);
            }
        }
        acc.into_iter()
            .map(|a| {
                a.into_iter()
                    .map(|x| f64::from(x) / (n - 1) as f64)
                    .collect()
            })
            .collect()
    };

    let b = BLOCK.min(d);
    // A deterministic start that is not orthogonal to anything in practice.
    let mut q: Vec<Vec<f64>> = (0..b)
        .map(|k| {
            (0..d)
                .map(|i| {
                    ((i * (k + 1)) as f64 * 0.618_033_988_7 + k as f64 * 0.414_213_562_4).fract()
                        - 0.5
                })
                .collect()
        })
        .collect();
    orthonormalise(&mut q);
    let mut iterations = 0;
    let mut values = vec![0.0; b];
    let mut ritz: Vec<Vec<f64>> = q.clone();
    for step in 1..=steps.max(1) {
        iterations = step;
        let z = apply(&q);
        // Rayleigh–Ritz: the best approximations within span(Q).
        let h: Vec<Vec<f64>> = (0..b)
            .map(|i| {
                (0..b)
                    .map(|j| 0.5 * (dot64(&q[i], &z[j]) + dot64(&q[j], &z[i])))
                    .collect()
            })
            .collect();
        let (theta, v) = jacobi(h);
        let combine = |basis: &[Vec<f64>], k: usize| -> Vec<f64> {
            let mut out = vec![0.0; d];
            for (j, bj) in basis.iter().enumerate() {
                out.iter_mut().zip(bj).for_each(|(o, x)| *o += v[j][k] * x);
            }
            out
        };
        ritz = (0..2).map(|k| combine(&q, k)).collect();
        // Residual |C·u − θ·u| of the two wanted Ritz pairs (C·u from Z, no extra pass).
        let residual = (0..2)
            .map(|k| {
                let cu = combine(&z, k);
                cu.iter()
                    .zip(&ritz[k])
                    .map(|(c, u)| (c - theta[k] * u).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .fold(0.0, f64::max);
        values = theta;
        if residual <= TOLERANCE * values[0].abs().max(f64::MIN_POSITIVE) {
            break;
        }
        q = (0..b).map(|k| combine(&z, k)).collect();
        orthonormalise(&mut q);
    }
    let mut axes = [ritz[0].clone(), ritz[1].clone()];
    for axis in &mut axes {
        normalise(axis);
        let largest = axis
            .iter()
            .copied()
            .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
        if largest < 0.0 {
            axis.iter_mut().for_each(|x| *x = -*x);
        }
    }
    Some(Pca {
        mean,
        axes,
        variance: [values[0], values[1]],
        total_variance,
        iterations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_axes_of_an_ellipse() {
        // Points on an ellipse with semi-axes 3 (along (1,1)/√2) and 1 (along (1,−1)/√2),
        // shifted by (5, 5, 0), in 3-D with a zero third coordinate.
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let rows: Vec<Vec<f32>> = (0..360)
            .map(|deg| {
                let t = f64::from(deg).to_radians();
                let (a, b) = (3.0 * t.cos(), t.sin());
                vec![(5.0 + s * (a + b)) as f32, (5.0 + s * (a - b)) as f32, 0.0]
            })
            .collect();
        let p = fit(&rows).unwrap();
        assert!(
            (p.axes[0][0] - s).abs() < 1e-6 && (p.axes[0][1] - s).abs() < 1e-6,
            "{:?}",
            p.axes[0]
        );
        assert!(
            (p.axes[1][0].abs() - s).abs() < 1e-6 && (p.axes[1][0] + p.axes[1][1]).abs() < 1e-6,
            "{:?}",
            p.axes[1]
        );
        // Variance of 3cos t over a full turn is 9/2 (× n/(n−1)).
        let n = 360.0;
        assert!(
            (p.variance[0] - 4.5 * n / (n - 1.0)).abs() < 1e-4,
            "{:?}",
            p.variance
        );
        assert!(
            (p.variance[1] - 0.5 * n / (n - 1.0)).abs() < 1e-4,
            "{:?}",
            p.variance
        );
        assert!((p.explained()[0] - 0.9).abs() < 1e-6);
        let c = p.project(&[5.0, 5.0, 0.0]);
        assert!(
            c[0].abs() < 1e-5 && c[1].abs() < 1e-5,
            "the mean projects to the origin"
        );
    }

    #[test]
    fn agrees_with_a_full_eigendecomposition() {
        // Pseudo-random 40 × 6 data with distinct spreads per direction.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let rows: Vec<Vec<f32>> = (0..40)
            .map(|_| (0..6).map(|j| (rnd() * (6 - j) as f64) as f32).collect())
            .collect();
        let p = fit(&rows).unwrap();
        let n = rows.len();
        let mean: Vec<f64> = (0..6)
            .map(|j| rows.iter().map(|r| f64::from(r[j])).sum::<f64>() / n as f64)
            .collect();
        let cov: Vec<Vec<f64>> = (0..6)
            .map(|a| {
                (0..6)
                    .map(|b| {
                        rows.iter()
                            .map(|r| (f64::from(r[a]) - mean[a]) * (f64::from(r[b]) - mean[b]))
                            .sum::<f64>()
                            / (n - 1) as f64
                    })
                    .collect()
            })
            .collect();
        // The whole 6 × 6 covariance diagonalised directly: no iteration involved.
        let ev = jacobi(cov).0;
        assert!(
            (p.variance[0] - ev[0]).abs() < 1e-6 * ev[0],
            "{:?} vs {:?}",
            p.variance,
            ev
        );
        assert!(
            (p.variance[1] - ev[1]).abs() < 1e-6 * ev[0],
            "{:?} vs {:?}",
            p.variance,
            ev
        );
        assert!((p.total_variance - ev.iter().sum::<f64>()).abs() < 1e-6 * ev[0]);
    }

    #[test]
    fn rank_deficient_data_keeps_an_orthonormal_basis() {
        // 50 × 20 with 17 constant columns: only 3 directions vary, fewer than the block.
        let rows: Vec<Vec<f32>> = (0..50)
            .map(|i| {
                let t = i as f32;
                let mut v = vec![0.25f32; 20];
                v[3] = (t * 0.37).sin() * 2.0;
                v[7] = (t * 1.3).cos();
                v[11] = (t * 0.11).sin() * 0.5;
                v
            })
            .collect();
        let p = fit(&rows).unwrap();
        let n = rows.len() as f64;
        let var = |j: usize| {
            let m = rows.iter().map(|r| f64::from(r[j])).sum::<f64>() / n;
            rows.iter()
                .map(|r| (f64::from(r[j]) - m).powi(2))
                .sum::<f64>()
                / (n - 1.0)
        };
        // The varying columns are nearly uncorrelated: the top variances are theirs.
        let mut v = [var(3), var(7), var(11)];
        v.sort_by(|a, b| b.total_cmp(a));
        assert!(p.iterations < MAX_STEPS, "did not converge");
        assert!(
            p.variance[0] <= p.total_variance + 1e-9
                && p.variance[0] + p.variance[1] <= p.total_variance + 1e-9,
            "{:?} of {}",
            p.variance,
            p.total_variance
        );
        assert!(
            (p.variance[0] - v[0]).abs() < 0.1 * v[0],
            "{:?} vs {v:?}",
            p.variance
        );
        let dot: f64 = p.axes[0].iter().zip(&p.axes[1]).map(|(a, b)| a * b).sum();
        assert!(dot.abs() < 1e-6, "axes not orthogonal: {dot}");
    }

    /// `n` unit rows of `d` values around five random centres (as embeddings cluster).
    fn clustered(n: usize, d: usize) -> Vec<Vec<f32>> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        };
        let centres: Vec<Vec<f32>> = (0..5).map(|_| (0..d).map(|_| rnd()).collect()).collect();
        (0..n)
            .map(|i| {
                let mut v: Vec<f32> = centres[i % 5].iter().map(|c| c + 1.5 * rnd()).collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter_mut().for_each(|x| *x /= norm);
                v
            })
            .collect()
    }

    #[test]
    fn ten_thousand_rows_converge_despite_float_rounding() {
        // At this N the f32 sums leave a residual above 10⁻⁷: with that tolerance this
        // ran all 1000 steps. It must converge, and to the covariance's true eigenvalues
        // (computed in f64 from the formed 64 × 64 covariance).
        let (n, d) = (10_000, 64);
        let rows = clustered(n, d);
        let p = fit(&rows).unwrap();
        assert!(p.iterations < 60, "{} steps", p.iterations);
        let mean: Vec<f64> = (0..d)
            .map(|j| rows.iter().map(|r| f64::from(r[j])).sum::<f64>() / n as f64)
            .collect();
        let mut cov = vec![vec![0.0; d]; d];
        for r in &rows {
            let c: Vec<f64> = r
                .iter()
                .zip(&mean)
                .map(|(x, m)| f64::from(*x) - m)
                .collect();
            for a in 0..d {
                for b in 0..d {
                    cov[a][b] += c[a] * c[b] / (n - 1) as f64;
                }
            }
        }
        let ev = jacobi(cov).0;
        for k in 0..2 {
            assert!(
                (p.variance[k] - ev[k]).abs() < 1e-5 * ev[0],
                "{:?} vs {:?}",
                p.variance,
                &ev[..3]
            );
        }
    }

    #[test]
    fn the_step_budget_bounds_large_maps_and_spares_small_ones() {
        assert_eq!(step_limit(10_000, 1024), 60);
        assert_eq!(step_limit(2_000, 1024), 300);
        assert_eq!(step_limit(100, 6), MAX_STEPS);
        assert_eq!(step_limit(1_000_000, 1024), MIN_STEPS);
        assert_eq!(step_limit(usize::MAX, usize::MAX), MIN_STEPS);
        // Isotropic noise has no top two axes to converge to: the budget stops it, and
        // what it returns is still a valid pair of orthonormal axes.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let rows: Vec<Vec<f32>> = (0..400)
            .map(|_| {
                (0..48)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        (x >> 11) as f32 / (1u64 << 53) as f32 - 0.5
                    })
                    .collect()
            })
            .collect();
        let p = fit_within(&rows, 7).unwrap();
        assert_eq!(p.iterations, 7);
        let dot: f64 = p.axes[0].iter().zip(&p.axes[1]).map(|(a, b)| a * b).sum();
        let norms = p.axes.each_ref().map(|a| dot64(a, a));
        assert!(dot.abs() < 1e-9 && norms.iter().all(|n| (n - 1.0).abs() < 1e-9));
        assert!(p.variance[0] >= p.variance[1] && p.variance[1] > 0.0);
    }

    #[test]
    fn non_finite_data_has_no_map() {
        assert!(fit(&[
            vec![1.0f32, f32::NAN, 0.0],
            vec![0.0, 1.0, 2.0],
            vec![2.0, 0.5, 1.0]
        ])
        .is_none());
    }

    #[test]
    fn too_little_data_has_no_map() {
        assert!(fit(&[vec![1.0f32, 2.0]]).is_none());
        assert!(fit(&[vec![1.0f32], vec![2.0]]).is_none());
    }
}
