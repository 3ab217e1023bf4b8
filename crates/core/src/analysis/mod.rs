//! Exploring a set of embeddings: neighbours, outliers, a 2-D map, a few-shot
//! classifier and study pooling — what Microsoft's notebooks do with FAISS, PyTorch and
//! numpy, here in plain Rust so that the browser can do it on the vectors it holds.
//!
//! Everything works on [`Embeddings`]: the vectors L2-normalised once, stored row-major
//! in one buffer (cache-friendly, and one allocation for 2 000 × 1024 floats). Cosines
//! are dot products of normalised rows, accumulated in f32 blocks of 8 (which the
//! compiler vectorises) and summed in f64.

pub mod classifier;
pub mod evaluation;
pub mod neighbours;
pub mod pca;
pub mod pooling;
pub mod similarity;

/// Normalised vectors, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Embeddings {
    pub dim: usize,
    data: Vec<f32>,
}

impl Embeddings {
    /// Normalises `vectors` (a zero vector stays zero). All must have one length.
    pub fn new(vectors: &[impl AsRef<[f32]>]) -> Self {
        let dim = vectors.first().map_or(0, |v| v.as_ref().len());
        let mut data = Vec::with_capacity(vectors.len() * dim);
        for v in vectors {
            let v = v.as_ref();
            assert_eq!(v.len(), dim, "every vector must have {dim} values");
            data.extend(crate::analysis::similarity::normalised(v));
        }
        Self { dim, data }
    }

    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// Cosine of rows `i` and `j`.
    pub fn cosine(&self, i: usize, j: usize) -> f32 {
        dot(self.row(i), self.row(j))
    }

    /// Cosine of row `i` with a normalised `query`.
    pub fn cosine_with(&self, i: usize, query: &[f32]) -> f32 {
        dot(self.row(i), query)
    }
}

/// Dot product, clamped to a cosine's range.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    (dot_unclamped(a, b) as f32).clamp(-1.0, 1.0)
}

/// `Σ aᵢ·bᵢ` in 8 independent f32 lanes, then summed in f64. On wasm32 with SIMD the
/// lanes are two explicit `f32x4` registers: LLVM does not vectorise this loop for wasm
/// by itself (checked in the disassembly), and it is the inner loop of every analysis.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn dot_unclamped(a: &[f32], b: &[f32]) -> f64 {
    use core::arch::wasm32::*;
    let n = a.len().min(b.len());
    let blocks = n / 8;
    let (mut s0, mut s1) = (f32x4_splat(0.0), f32x4_splat(0.0));
    for i in 0..blocks {
        // SAFETY: i * 8 + 8 <= n, within both slices; wasm loads need no alignment.
        unsafe {
            let pa = a.as_ptr().add(i * 8) as *const v128;
            let pb = b.as_ptr().add(i * 8) as *const v128;
            s0 = f32x4_add(s0, f32x4_mul(v128_load(pa), v128_load(pb)));
            s1 = f32x4_add(s1, f32x4_mul(v128_load(pa.add(1)), v128_load(pb.add(1))));
        }
    }
    let s = f32x4_add(s0, s1);
    let mut sum = f64::from(f32x4_extract_lane::<0>(s))
        + f64::from(f32x4_extract_lane::<1>(s))
        + f64::from(f32x4_extract_lane::<2>(s))
        + f64::from(f32x4_extract_lane::<3>(s));
    for i in blocks * 8..n {
        sum += f64::from(a[i] * b[i]);
    }
    sum
}

/// `y += s·x`, the other inner loop (gradients, covariance products).
pub fn axpy(s: f32, x: &[f32], y: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        let n = x.len().min(y.len());
        let blocks = n / 4;
        let sv = f32x4_splat(s);
        for i in 0..blocks {
            // SAFETY: i * 4 + 4 <= n, within both slices; wasm loads need no alignment.
            unsafe {
                let px = x.as_ptr().add(i * 4) as *const v128;
                let py = y.as_mut_ptr().add(i * 4) as *mut v128;
                v128_store(py, f32x4_add(v128_load(py), f32x4_mul(sv, v128_load(px))));
            }
        }
        for i in blocks * 4..n {
            y[i] += s * x[i];
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    y.iter_mut().zip(x).for_each(|(o, v)| *o += s * v);
}

/// `Σ aᵢ·bᵢ` in 8 independent f32 lanes over fixed-size blocks (so the compiler emits
/// SIMD without bounds checks), then summed in f64.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub fn dot_unclamped(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        let x: &[f32; 8] = x.try_into().expect("chunks of 8");
        let y: &[f32; 8] = y.try_into().expect("chunks of 8");
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    let mut sum: f64 = lanes.iter().map(|v| f64::from(*v)).sum();
    for (x, y) in ra.iter().zip(rb) {
        sum += f64::from(x * y);
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_normalised_and_cosines_are_dot_products() {
        let e = Embeddings::new(&[vec![3.0, 4.0, 0.0], vec![0.0, 2.0, 0.0], vec![0.0; 3]]);
        assert_eq!(e.len(), 3);
        assert_eq!(e.row(0), &[0.6, 0.8, 0.0]);
        assert!((e.cosine(0, 1) - 0.8).abs() < 1e-6);
        assert_eq!(e.cosine(0, 2), 0.0);
    }

    #[test]
    fn axpy_adds_a_scaled_vector() {
        let mut y = vec![1.0f32; 11];
        let x: Vec<f32> = (0..11).map(|i| i as f32).collect();
        axpy(0.5, &x, &mut y);
        assert_eq!(y, (0..11).map(|i| 1.0 + 0.5 * i as f32).collect::<Vec<_>>());
    }

    #[test]
    fn dot_handles_lengths_that_are_not_multiples_of_eight() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.01).collect();
        let expected: f64 = a.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
        assert!((f64::from(dot(&a, &a)) - expected.min(1.0)).abs() < 1e-6);
    }
}
