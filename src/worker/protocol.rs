//! What the page and its compute workers say to each other: one [`Request`] (an id and
//! a [`Job`]: prepare an image, or run an analysis over vectors) and one [`Reply`] (the
//! same id and the [`Outcome`], or the [`WorkerError`] saying why not). Both travel
//! as bincode in a `Uint8Array` (the pool's `post_message`); byte buffers are marked
//! `serde_bytes` so they travel as one block, not as a sequence of numbers. A file to
//! prepare travels beside its request as the browser's `File` itself (structured
//! clone: a handle, no copy in the page), which the worker reads.
//!
//! `Outcome` is untyped — any job's answer — because one worker type answers every kind
//! of job. Callers never see it: the pool's typed methods (`run_prepare`,
//! `run_outliers`, …) pair each question with its answer type, and the one place that
//! checks an outcome against the question is the pool. Errors are typed too, and say
//! *which* job failed ([`JobKind`]), so a slow analysis is never reported as a damaged
//! file.

use std::fmt;

use medinsight_core::analysis::blocks::BlockSummary;
use medinsight_core::analysis::similarity::Cosines;
use medinsight_core::pipeline::{AppliedWindow, FileTooLarge, PrepareOptions, SourceInfo};
use serde::{Deserialize, Serialize};

/// A prepared image: what is sent, and what the user is shown about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreparedImage {
    /// The 512×512 PNG, exactly the bytes that are base64-encoded into the request.
    #[serde(with = "serde_bytes")]
    pub png: Vec<u8>,
    /// A small JPEG of the same pixels (`core::pipeline::thumbnail`), what cards and
    /// chips show. The page turns both into `Blob`s as soon as they arrive: neither
    /// stays in its wasm heap.
    #[serde(with = "serde_bytes")]
    pub thumbnail: Vec<u8>,
    /// `medinsight_core::fingerprint` of `png`: a re-run skips an image whose
    /// fingerprint is the one already embedded. (The base64 is made when a request is
    /// built — under a millisecond — rather than kept: for 2 000 images it would hold
    /// half a gigabyte.)
    pub fingerprint: u64,
    pub channels: u8,
    pub source: SourceInfo,
    pub window: AppliedWindow,
    pub options: PrepareOptions,
}

/// An analysis over a set of vectors (rows in the app's order).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Analysis {
    /// Mean cosine distance to the `k` nearest rows among `reference`.
    Outliers { reference: Vec<usize>, k: usize },
    /// Two principal components.
    Map,
    /// Cross-validated logistic regression and kNN on `labelled` (row, class), then
    /// predictions for every other row.
    Classify {
        labelled: Vec<(usize, usize)>,
        classes: usize,
        folds: usize,
    },
    /// The similarity heatmap's cosines, order or summary of the rows.
    Similarity(SimilarityQuestion),
}

/// What the similarity view asks about its rows (images, or texts). Nothing here
/// depends on names or ground-truth labels except a [`SummaryOrder::Given`] order: the
/// page keys its jobs on the vectors, and reorders the answers itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum SimilarityQuestion {
    /// Every cosine in loaded order: the rows against themselves, or against `cols`
    /// (the texts, for the image–text matrix). At most `MAX_FULL²` cells.
    Cells { cols: Option<Vec<Vec<f32>>> },
    /// The rows' clustered order (`core::analysis::ordering::clustered_order`).
    ClusteredOrder,
    /// The rows in `order`, summarised by at most `blocks` blocks a side.
    Summary { order: SummaryOrder, blocks: usize },
}

/// The order a summary's rows are cut into blocks in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SummaryOrder {
    Loaded,
    /// Computed in the worker, with the summary.
    Clustered,
    /// Given by the page (by ground truth): a permutation of the rows.
    Given(Vec<usize>),
}

/// What a [`SimilarityQuestion`] found: one variant per question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SimilarityFound {
    Cells(Cosines),
    Order(Vec<usize>),
    Summary(BlockSummary),
}

impl Analysis {
    pub fn kind(&self) -> JobKind {
        match self {
            Analysis::Outliers { .. } => JobKind::Outliers,
            Analysis::Map => JobKind::Map,
            Analysis::Classify { .. } => JobKind::Classify,
            Analysis::Similarity(_) => JobKind::Similarity,
        }
    }
}

/// The 2-D map: every row's first two principal components.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// One point per row, in the rows' order.
    pub points: Vec<[f64; 2]>,
    /// The share of the variance each component explains.
    pub explained: [f64; 2],
}

/// The classifier's report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub folds: usize,
    pub evaluated: usize,
    pub logistic_accuracy: f64,
    pub knn_accuracy: f64,
    /// For every row not labelled: (row, logistic class, its probability, kNN class).
    pub predictions: Vec<(usize, usize, f64, usize)>,
}

/// What an analysis found: one variant per [`Analysis`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Found {
    Outliers(Vec<f32>),
    Map(Projection),
    Classify(Classification),
    Similarity(SimilarityFound),
}

/// One job for the worker.
#[derive(Serialize, Deserialize)]
pub enum Job {
    /// Prepare the file sent beside the request (a `File`), named `name`, unless it is
    /// over `limit` bytes: the worker checks its size again before reading it.
    Prepare {
        name: String,
        limit: u64,
        options: PrepareOptions,
    },
    Analyse {
        vectors: Vec<Vec<f32>>,
        analysis: Analysis,
    },
    /// One part of the vectors of a later [`Job::AnalyseStaged`] of the same `batch`,
    /// as one block of bytes: the worker keeps it and answers nothing. 40 MB of
    /// vectors sent at once would hold the page's thread for over 100 ms (copying them
    /// into a message); parts of 8 MB, sent with the page free in between, do not.
    Stage { batch: u64, vectors: FlatVectors },
    /// An analysis of the vectors staged for `batch`, in `parts` parts: the similarity
    /// view's, 10 000 vectors at a time. Refused if not all the parts arrived (the
    /// worker was replaced between them).
    AnalyseStaged {
        batch: u64,
        parts: usize,
        analysis: Analysis,
    },
    /// Panics in the worker, as a decoder bug would: how the browser tests check that
    /// the pool notices a dead worker at once. Only in debug builds (the tests'); a
    /// release build has no such job. Last, so the other jobs' wire numbers are the same
    /// in both.
    #[cfg(debug_assertions)]
    Crash,
}

impl Job {
    pub fn kind(&self) -> JobKind {
        match self {
            Job::Prepare { .. } => JobKind::Prepare,
            // Said as the preparation whose crash it stands in for.
            #[cfg(debug_assertions)]
            Job::Crash => JobKind::Prepare,
            Job::Analyse { analysis, .. } | Job::AnalyseStaged { analysis, .. } => analysis.kind(),
            // Never answered, so never reported; said as what it is part of.
            Job::Stage { .. } => JobKind::Similarity,
        }
    }
}

/// Vectors of one width as one block of bytes, row after row (f32 in the machine's
/// byte order: the page and its worker are the same wasm). Bincode writes a
/// `Vec<Vec<f32>>` float by float — 1.9 s on the page's thread for 10 000 × 1024,
/// measured in `tests/analysis_timing.rs` — where this is a copy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlatVectors {
    dim: usize,
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
}

impl FlatVectors {
    /// Room for `rows` vectors of `dim` values.
    pub fn with_capacity(dim: usize, rows: usize) -> Self {
        Self {
            dim,
            bytes: Vec::with_capacity(dim * rows * 4),
        }
    }

    /// Appends a vector; one of another width is refused (with its width).
    pub fn push(&mut self, v: &[f32]) -> Result<(), usize> {
        if v.len() != self.dim {
            return Err(v.len());
        }
        self.bytes.extend_from_slice(bytemuck::cast_slice(v));
        Ok(())
    }

    pub fn len(&self) -> usize {
        (self.bytes.len() / 4).checked_div(self.dim).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The vectors, one `Vec` each (in the worker; bytes that are not whole vectors
    /// are dropped).
    pub fn rows(&self) -> Vec<Vec<f32>> {
        let mut out = Vec::with_capacity(self.len());
        self.append_to(&mut out);
        out
    }

    /// Appends the vectors to `out`, one `Vec` each.
    pub fn append_to(&self, out: &mut Vec<Vec<f32>>) {
        let whole = self.len() * self.dim * 4;
        let values: Vec<f32> = bytemuck::pod_collect_to_vec(&self.bytes[..whole]);
        out.extend(values.chunks(self.dim.max(1)).map(<[f32]>::to_vec));
    }
}

/// The worker's answer, untyped: the pool turns it into the answer of the question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    Prepared(Box<PreparedImage>),
    Analysed {
        found: Found,
        millis: f64,
    },
    /// Not the answer yet: how far a long analysis is (0 to 1). The worker may send any
    /// number of these for a job before its one answer; the pool hands them to whoever
    /// asked for progress and keeps waiting.
    Progress(f32),
}

#[derive(Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    pub job: Job,
}

#[derive(Serialize, Deserialize)]
pub struct Reply {
    pub id: u64,
    pub result: Result<Outcome, WorkerError>,
}

/// Which kind of job an error is about: what the user is told timed out or failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobKind {
    Prepare,
    Outliers,
    Map,
    Classify,
    Similarity,
}

impl JobKind {
    /// What the user would call the job, as the subject of a sentence.
    pub fn what(self) -> &'static str {
        match self {
            JobKind::Prepare => "preparing the image",
            JobKind::Outliers => "the outlier scores",
            JobKind::Map => "the PCA map",
            JobKind::Classify => "the classifier's cross-validation",
            JobKind::Similarity => "the similarity matrix",
        }
    }

    /// What the user can do about a job that takes too long.
    fn advice(self) -> &'static str {
        match self {
            JobKind::Prepare => "the file may be damaged or too large",
            JobKind::Outliers => "try fewer images or a smaller k",
            JobKind::Map => "try fewer images",
            JobKind::Classify => "try fewer images or fewer folds",
            JobKind::Similarity => "try fewer images, or the order as loaded",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what())
    }
}

/// Why a job came back without its answer. Serialisable, because the worker sends the
/// first kinds back in its [`Reply`]; the pool adds the ones only it can see (a job that
/// never came back, a worker replaced under a job).
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum WorkerError {
    /// The pipeline refused the file: its message, already in terms the user can act on
    /// ("the DICOM file is damaged or truncated: …").
    #[error("{0}")]
    Prepare(String),
    /// An analysis was asked something its vectors cannot answer (vectors of different
    /// lengths, a row or class out of range): a bug or an inconsistent session, said
    /// rather than left to panic (which would abort the worker and look like a timeout).
    #[error("{job} cannot be computed: {reason}")]
    Analysis { job: JobKind, reason: String },
    /// An analysis over no vectors at all.
    #[error("no embedded images to analyse yet")]
    NoVectors,
    /// An analysis over too few rows to mean anything.
    #[error("{job} needs at least {needed} embedded images, and has {got}")]
    TooFew {
        job: JobKind,
        needed: usize,
        got: usize,
    },
    /// The file is over the size limit: refused from its size, before it was read.
    #[error(transparent)]
    TooLarge(#[from] FileTooLarge),
    /// The browser could not read the file the worker was given.
    #[error("the browser could not read the file (was it moved or deleted?): {0}")]
    Read(String),
    /// The worker died under the job: a panic (its message, sent by the worker's panic
    /// hook) or whatever else ended it (the `error` event's message). The pool fails
    /// this job at once, starts a fresh worker and sends it the jobs that were queued
    /// behind this one.
    #[error("{}", crashed(*.job, .detail))]
    Crashed { job: JobKind, detail: String },
    /// The browser refused to start a worker.
    #[error("the browser could not start a compute worker: {0}")]
    NoWorker(String),
    /// No answer within the pool's time limit: the job is too big, or its worker hangs
    /// (it is then replaced).
    #[error("{}", timed_out(*.job, *.secs))]
    TimedOut { job: JobKind, secs: u32 },
    /// The worker answered a different kind of job than the one asked: a bug.
    #[error("the worker answered another question than {asked}; this is a bug in the app")]
    Mismatch { asked: JobKind },
}

/// A crash in the words of its job: a file the decoder could not handle, or a bug.
fn crashed(job: JobKind, detail: &str) -> String {
    match job {
        JobKind::Prepare => format!(
            "the decoder crashed on this file ({detail}); the file may be damaged; the other files go on"
        ),
        _ => format!("{job} crashed its worker ({detail}); this is a bug in the app, try again"),
    }
}

/// A timeout in the words of its job: a preparation may have met a hostile file, an
/// analysis is only big.
fn timed_out(job: JobKind, secs: u32) -> String {
    match job {
        JobKind::Prepare => format!("{job} took over {secs} s; {}", job.advice()),
        _ => format!(
            "{job} took over {secs} s in the analysis worker; {}",
            job.advice()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_vectors_come_back_as_they_went_and_refuse_another_width() {
        let mut flat = FlatVectors::with_capacity(3, 2);
        assert!(flat.is_empty());
        flat.push(&[1.0, -0.5, 3.25]).unwrap();
        flat.push(&[0.0, f32::MIN_POSITIVE, -0.0]).unwrap();
        assert_eq!(flat.push(&[1.0, 2.0]), Err(2));
        assert_eq!(flat.len(), 2);
        let rows = flat.rows();
        assert_eq!(
            rows,
            vec![vec![1.0, -0.5, 3.25], vec![0.0, f32::MIN_POSITIVE, -0.0]]
        );
        assert_eq!(rows[1][2].to_bits(), (-0.0f32).to_bits());
        assert!(FlatVectors::default().rows().is_empty());
    }

    #[test]
    fn a_timeout_says_what_timed_out_and_blames_files_only_for_preparation() {
        let outliers = WorkerError::TimedOut {
            job: JobKind::Outliers,
            secs: 120,
        }
        .to_string();
        assert_eq!(
            outliers,
            "the outlier scores took over 120 s in the analysis worker; try fewer images or a smaller k"
        );
        for job in [JobKind::Map, JobKind::Classify, JobKind::Similarity] {
            let m = WorkerError::TimedOut { job, secs: 120 }.to_string();
            assert!(m.starts_with(job.what()) && !m.contains("damaged"), "{m}");
        }
        let similarity = WorkerError::TimedOut {
            job: JobKind::Similarity,
            secs: 120,
        }
        .to_string();
        assert!(
            similarity.starts_with("the similarity matrix took over 120 s"),
            "{similarity}"
        );
        let prepare = WorkerError::TimedOut {
            job: JobKind::Prepare,
            secs: 120,
        }
        .to_string();
        assert_eq!(
            prepare,
            "preparing the image took over 120 s; the file may be damaged or too large"
        );
    }

    #[test]
    fn a_crash_blames_the_file_only_for_preparation() {
        let prepare = WorkerError::Crashed {
            job: JobKind::Prepare,
            detail: "index out of bounds".into(),
        }
        .to_string();
        assert_eq!(
            prepare,
            "the decoder crashed on this file (index out of bounds); the file may be damaged; the other files go on"
        );
        let map = WorkerError::Crashed {
            job: JobKind::Map,
            detail: "unreachable".into(),
        }
        .to_string();
        assert!(
            map.starts_with("the PCA map crashed its worker (unreachable)")
                && !map.contains("file"),
            "{map}"
        );
    }
}
