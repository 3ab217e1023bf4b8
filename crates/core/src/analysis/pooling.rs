//! Pooling the images of a study or series into one vector, so studies can be compared,
//! searched and scored like images.
//!
//! Two poolings: the mean (then re-normalised by whoever uses it as a cosine), and the
//! study vector of Microsoft's notebook, `concat(mean, std, min, p25, p50, p75, max)`
//! taken per dimension (7 × 1024 values), with numpy's default (linear) percentiles and
//! population standard deviation.

/// How to pool a group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pooling {
    /// The mean vector. The default.
    #[default]
    Mean,
    /// `concat(mean, std, min, p25, p50, p75, max)`.
    Statistics,
}

/// numpy's `percentile(values, q)` with linear interpolation; `sorted` ascending.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Pools `vectors` (one length, at least one).
pub fn pool(vectors: &[impl AsRef<[f32]>], how: Pooling) -> Vec<f32> {
    let n = vectors.len();
    let d = vectors.first().map_or(0, |v| v.as_ref().len());
    if n == 0 {
        return Vec::new();
    }
    let column =
        |j: usize| -> Vec<f64> { vectors.iter().map(|v| f64::from(v.as_ref()[j])).collect() };
    match how {
        Pooling::Mean => (0..d)
            .map(|j| (column(j).iter().sum::<f64>() / n as f64) as f32)
            .collect(),
        Pooling::Statistics => {
            let mut parts: Vec<Vec<f32>> = (0..7).map(|_| Vec::with_capacity(d)).collect();
            for j in 0..d {
                let mut c = column(j);
                let mean = c.iter().sum::<f64>() / n as f64;
                let std = (c.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
                c.sort_by(f64::total_cmp);
                let stats = [
                    mean,
                    std,
                    c[0],
                    percentile(&c, 25.0),
                    percentile(&c, 50.0),
                    percentile(&c, 75.0),
                    c[n - 1],
                ];
                for (p, s) in parts.iter_mut().zip(stats) {
                    p.push(s as f32);
                }
            }
            parts.concat()
        }
    }
}

/// Groups item indices by key, in the order keys first appear; items without a key are
/// left out.
pub fn group_by(keys: &[Option<String>]) -> Vec<(String, Vec<usize>)> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let Some(k) = k else { continue };
        match groups.iter_mut().find(|(g, _)| g == k) {
            Some((_, members)) => members.push(i),
            None => groups.push((k.clone(), vec![i])),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_pooling_averages_each_dimension() {
        assert_eq!(
            pool(&[vec![1.0f32, 2.0], vec![3.0, 6.0]], Pooling::Mean),
            vec![2.0, 4.0]
        );
    }

    #[test]
    fn statistics_pooling_matches_numpy() {
        // Column 0 = [1, 2, 3, 10]: mean 4, std sqrt(12.5), min 1, p25 1.75, p50 2.5,
        // p75 4.75, max 10 (numpy.percentile, linear).
        let v = [vec![1.0f32], vec![2.0], vec![3.0], vec![10.0]];
        let s = pool(&v, Pooling::Statistics);
        let expected = [4.0, 12.5f32.sqrt(), 1.0, 1.75, 2.5, 4.75, 10.0];
        assert_eq!(s.len(), 7);
        for (a, b) in s.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{s:?}");
        }
        assert_eq!(pool(&[vec![0.5f32; 3]], Pooling::Statistics).len(), 21);
    }

    #[test]
    fn groups_keep_first_appearance_order() {
        let keys = [
            Some("b".to_string()),
            None,
            Some("a".into()),
            Some("b".into()),
        ];
        assert_eq!(
            group_by(&keys),
            vec![("b".to_string(), vec![0, 3]), ("a".to_string(), vec![2])]
        );
    }
}
