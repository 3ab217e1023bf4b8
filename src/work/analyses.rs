//! The analyses' own worker: outlier scores, the PCA map, the classifier and the
//! similarity heatmap's matrices run there (seconds at 2 000 images, tens of seconds at
//! 10 000), never on the page's thread; the long ones report their progress as they go.
//! One worker, started on first
//! use; a job replaces nothing: each view awaits its own answer. One method per
//! analysis, each with its own answer type, so a view cannot receive another view's
//! result; errors are [`WorkerError`]s that say which analysis failed or timed out.

use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;

use medinsight_core::analysis::blocks::BlockSummary;
use medinsight_core::analysis::similarity::Cosines;

use crate::worker::pool::{OnProgress, WorkerPool};
use crate::worker::protocol::{
    Classification, JobKind, Projection, SimilarityFound, SimilarityQuestion, SummaryOrder,
    WorkerError,
};

/// The analysis worker's slot in its one-worker pool.
const WORKER: usize = 0;

#[derive(Clone, Copy)]
pub struct Analyst {
    pool: StoredValue<Option<Rc<WorkerPool>>, LocalStorage>,
}

impl Default for Analyst {
    fn default() -> Self {
        Self::new()
    }
}

impl Analyst {
    pub fn new() -> Self {
        Self {
            pool: StoredValue::new_local(None),
        }
    }

    fn pool(&self) -> Rc<WorkerPool> {
        if let Some(p) = self.pool.get_value() {
            return p;
        }
        let p = Rc::new(WorkerPool::new(1));
        self.pool.set_value(Some(p.clone()));
        p
    }

    /// Outlier scores of `vectors` against the rows `reference`, `k` neighbours each;
    /// with the milliseconds they took in the worker. `progress` hears how far they are
    /// (0 to 1) while the worker scores.
    pub async fn outliers(
        &self,
        vectors: Vec<Vec<f32>>,
        reference: Vec<usize>,
        k: usize,
        progress: impl Fn(f32) + 'static,
    ) -> Result<(Vec<f32>, f64), WorkerError> {
        let progress: OnProgress = Rc::new(progress);
        self.pool()
            .run_outliers(WORKER, vectors, reference, k, progress)
            .await
    }

    /// The PCA map of `vectors`, with the milliseconds it took in the worker.
    pub async fn map(&self, vectors: Vec<Vec<f32>>) -> Result<(Projection, f64), WorkerError> {
        self.pool().run_map(WORKER, vectors).await
    }

    /// The classifier trained and cross-validated on `labelled` (row, class) over
    /// `folds`, with its predictions for the other rows and the milliseconds it took;
    /// `progress` hears how far it is (0 to 1).
    pub async fn classify(
        &self,
        vectors: Vec<Vec<f32>>,
        labelled: Vec<(usize, usize)>,
        classes: usize,
        folds: usize,
        progress: impl Fn(f32) + 'static,
    ) -> Result<(Classification, f64), WorkerError> {
        let progress: OnProgress = Rc::new(progress);
        self.pool()
            .run_classify(WORKER, vectors, labelled, classes, folds, progress)
            .await
    }

    /// Every cosine of `rows` with themselves, or with `cols`, in loaded order (at most
    /// `MAX_FULL²` cells), with the milliseconds it took in the worker. (The similarity
    /// jobs send their rows in parts, each one block of bytes: see the pool.)
    pub async fn similarity_cells(
        &self,
        rows: &[Arc<Vec<f32>>],
        cols: Option<Vec<Vec<f32>>>,
    ) -> Result<(Cosines, f64), WorkerError> {
        let question = SimilarityQuestion::Cells { cols };
        match self.pool().run_similarity(WORKER, rows, question).await? {
            (SimilarityFound::Cells(c), ms) => Ok((c, ms)),
            _ => Err(WorkerError::Mismatch {
                asked: JobKind::Similarity,
            }),
        }
    }

    /// The clustered order of `rows`, with the milliseconds it took in the worker.
    pub async fn similarity_order(
        &self,
        rows: &[Arc<Vec<f32>>],
    ) -> Result<(Vec<usize>, f64), WorkerError> {
        let question = SimilarityQuestion::ClusteredOrder;
        match self.pool().run_similarity(WORKER, rows, question).await? {
            (SimilarityFound::Order(o), ms) => Ok((o, ms)),
            _ => Err(WorkerError::Mismatch {
                asked: JobKind::Similarity,
            }),
        }
    }

    /// The block summary of `rows` in `order`, at most `blocks` a side, with the
    /// milliseconds it took in the worker.
    pub async fn similarity_summary(
        &self,
        rows: &[Arc<Vec<f32>>],
        order: SummaryOrder,
        blocks: usize,
    ) -> Result<(BlockSummary, f64), WorkerError> {
        let question = SimilarityQuestion::Summary { order, blocks };
        match self.pool().run_similarity(WORKER, rows, question).await? {
            (SimilarityFound::Summary(s), ms) => Ok((s, ms)),
            _ => Err(WorkerError::Mismatch {
                asked: JobKind::Similarity,
            }),
        }
    }
}
