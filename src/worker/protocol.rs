//! What the page and its compute workers say to each other: one [`Request`] (an id and
//! a [`Job`]: prepare an image, or run an analysis over vectors) and one [`Reply`] (the
//! same id and the [`Outcome`], or why it failed). Messages travel through `gloo-worker`
//! (bincode); byte buffers are marked `serde_bytes` so they travel as one block, not as
//! a sequence of numbers.

use medinsight_core::pipeline::{AppliedWindow, PrepareOptions, SourceInfo};
use serde::{Deserialize, Serialize};

/// A prepared image: what is sent, and what the user is shown about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreparedImage {
    /// The 512×512 PNG, exactly the bytes that are base64-encoded into the request.
    #[serde(with = "serde_bytes")]
    pub png: Vec<u8>,
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
}

/// What an analysis found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Found {
    Outliers(Vec<f32>),
    Map {
        points: Vec<[f64; 2]>,
        explained: [f64; 2],
    },
    Classify {
        folds: usize,
        evaluated: usize,
        logistic_accuracy: f64,
        knn_accuracy: f64,
        /// For every row not labelled: (row, logistic class, its probability, kNN class).
        predictions: Vec<(usize, usize, f64, usize)>,
    },
}

/// One job for the worker.
#[derive(Serialize, Deserialize)]
pub enum Job {
    Prepare {
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        options: PrepareOptions,
    },
    Analyse {
        vectors: Vec<Vec<f32>>,
        analysis: Analysis,
    },
}

/// The worker's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    Prepared(Box<PreparedImage>),
    Analysed { found: Found, millis: f64 },
}

#[derive(Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    pub job: Job,
}

#[derive(Serialize, Deserialize)]
pub struct Reply {
    pub id: u64,
    pub result: Result<Outcome, String>,
}
