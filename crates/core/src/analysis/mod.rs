//! Exploring a set of embeddings: neighbours, outliers, a 2-D map, a few-shot
//! classifier and study pooling — what Microsoft's notebooks do with FAISS, PyTorch and
//! numpy, here in plain Rust so that the browser can do it on the vectors it holds.
//!
//! Everything works on [`Embeddings`]: the vectors L2-normalised once, stored row-major
//! in one buffer (cache-friendly, and one allocation for 2 000 × 1024 floats). Cosines
//! are dot products of normalised rows, accumulated in f32 blocks of 8 and summed in
//! f64; that kernel and `axpy` live in [`kernels`] (portable code LLVM vectorises, and
//! explicit WebAssembly SIMD), re-exported here so callers name `analysis::dot`.

pub mod blocks;
pub mod classifier;
pub mod evaluation;
pub mod kernels;
pub mod neighbours;
pub mod ordering;
pub mod pca;
pub mod pooling;
pub mod similarity;
pub mod zero_shot;

pub use kernels::{axpy, dot, dot_unclamped};

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

    /// All rows, row-major in one slice (what the Gram kernel takes).
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The rows `rows`, in that order, as their own buffer (already normalised: no
    /// second normalisation, so each row keeps its bits).
    ///
    /// # Panics
    /// If a row is out of range.
    pub fn gather(&self, rows: &[usize]) -> Self {
        let mut data = Vec::with_capacity(rows.len() * self.dim);
        for &i in rows {
            data.extend_from_slice(self.row(i));
        }
        Self {
            dim: self.dim,
            data,
        }
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

/// `Vec<f32>` as one block of little-endian bytes through serde (`#[serde(with =
/// "f32_bytes")]`): the similarity matrices the worker sends are millions of floats,
/// which bincode would otherwise write — and the page read — one by one.
pub(crate) mod f32_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(values: &[f32], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        serde_bytes::serialize(&bytes, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(d)?;
        if bytes.len() % 4 != 0 {
            return Err(serde::de::Error::custom(format!(
                "{} bytes are not a whole number of f32 values",
                bytes.len()
            )));
        }
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
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
    fn gathered_rows_keep_their_bits() {
        let e = Embeddings::new(&[vec![3.0, 4.0], vec![1.0, 1.0], vec![0.0, 2.0]]);
        let g = e.gather(&[2, 0, 2]);
        assert_eq!(g.len(), 3);
        assert_eq!(g.row(0), e.row(2));
        assert_eq!(g.row(1), e.row(0));
        assert_eq!(g.as_slice().len(), 6);
    }

    #[test]
    fn floats_travel_as_bytes_and_back() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct W(#[serde(with = "f32_bytes")] Vec<f32>);
        let w = W(vec![1.5, -0.0, f32::MIN_POSITIVE, 0.1]);
        let json = serde_json::to_string(&w).unwrap();
        // serde_json writes bytes as a list of numbers: 16 of them.
        assert_eq!(json.matches(',').count(), 15, "{json}");
        let back: W = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back.0.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            w.0.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        let odd: Result<W, _> = serde_json::from_str("[1,2,3]");
        assert!(odd.unwrap_err().to_string().contains("whole number"));
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
