//! The Web Worker that prepares images, so that decoding a 6 MB DICOM or a hundred PNGs
//! never freezes the page.
//!
//! It runs `medinsight_core::pipeline::prepare` — the same code as `medinsight prepare`
//! and the native tests — in its own wasm instance, built by Trunk from
//! `src/bin/prepare_worker.rs` (see `index.html`). Messages go through `gloo-worker`
//! (bincode); byte buffers are marked `serde_bytes` so they travel as one block, not as
//! a sequence of numbers.

use gloo_worker::{HandlerId, Worker, WorkerScope};
use medinsight_core::pipeline::{self, AppliedWindow, PrepareOptions, SourceInfo};
use serde::{Deserialize, Serialize};

/// One file to prepare.
#[derive(Serialize, Deserialize)]
pub struct PrepareJob {
    pub id: u64,
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
    pub options: PrepareOptions,
}

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

/// The worker's answer to one job.
#[derive(Serialize, Deserialize)]
pub struct PrepareReply {
    pub id: u64,
    pub result: Result<PreparedImage, String>,
}

/// Runs the pipeline; the error is the message the user sees.
pub fn prepare(bytes: &[u8], options: PrepareOptions) -> Result<PreparedImage, String> {
    let p = pipeline::prepare(bytes, options).map_err(|e| medinsight_core::error_chain(&e))?;
    Ok(PreparedImage {
        fingerprint: medinsight_core::fingerprint(&p.png),
        png: p.png,
        channels: p.channels,
        source: p.source,
        window: p.window,
        options,
    })
}

pub struct PrepareWorker;

impl Worker for PrepareWorker {
    type Message = ();
    type Input = PrepareJob;
    type Output = PrepareReply;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, job: PrepareJob, who: HandlerId) {
        let result = prepare(&job.bytes, job.options);
        scope.respond(who, PrepareReply { id: job.id, result });
    }
}
