//! `medinsight embed`: folders of images embedded from the command line, as the app
//! embeds them, into files the app imports and numpy reads.
//!
//! The stages, overlapping as in the app's run: [`walk`] finds the files (the folder is
//! the ground truth) and [`shard`] keeps this machine's share; threads on every core
//! prepare them with the core's pipeline and the app's defaults, into a bounded channel
//! (memory holds at most [`QUEUED`] prepared images plus the requests in flight); the
//! batches are planned by `core::endpoint::batching` as images arrive and sent by
//! [`send`] (the app's gate, window and retries, from the core); every answer goes to
//! the shard's [`store`] at once (journal, then parts), so a killed run resumes with
//! `--resume` and never sends a finished image again; [`report`] shows progress and the
//! summary; [`merge`] joins the shards.
//!
//! `--emulate` starts the emulator inside this process on a free loopback port and
//! sends to it over HTTP, so the run takes exactly the path it takes to a real endpoint.

pub mod merge;
pub mod report;
pub mod send;
pub mod shard;
pub mod store;
pub mod walk;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use medinsight_core::endpoint::batching::{self, BatchLimits};
use medinsight_core::endpoint::retry::Failure;
use medinsight_core::endpoint::wire::{Row as WireRow, RowKind, ScoreRequest, ScoreResponse};
use medinsight_core::formats::session::{SessionFile, SessionLabel};
use medinsight_core::pipeline::{prepare, PrepareOptions};
use medinsight_core::settings::{RunOptions, Settings};
use tokio::sync::mpsc;

use crate::cli::EmbedArgs;
use report::{Progress, Summary, Tally};
use send::{Counters, Endpoint, Gate};
use shard::Shard;
use store::{Row, Store, StoreError};
use walk::{Found, WalkError};

/// Prepared images waiting for a request, at most.
pub const QUEUED: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(transparent)]
    Upstream(#[from] crate::check::CheckError),
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Merge(#[from] merge::MergeError),
    #[error("cannot read the labels file {path}: {source}")]
    Labels {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the emulator: {0}")]
    Emulator(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("the labels could not be embedded: {}", report::advice(.0))]
    LabelsFailed(Failure),
}

/// `medinsight embed` from the command line: progress on stderr, the summary on stdout;
/// the exit status (0 all embedded, 1 some failed or the run stopped, 2 could not start).
pub async fn run_cli(args: EmbedArgs) -> i32 {
    match run(&args).await {
        Ok(summary) => {
            println!("{summary}");
            if summary.ok() {
                0
            } else {
                1
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// One image, prepared, on its way to a request.
struct Item {
    found: Found,
    base64: String,
    meta: Vec<String>,
}

/// What the preparing threads hand over.
enum Prepared {
    Ready(Box<Item>),
    Failed(Found, &'static str, String),
}

/// What the writer is told.
enum Outcome {
    Embedded(Vec<Row>),
    Failed(Vec<Found>, Failure),
    PrepareFailed(Found, &'static str, String),
    Prepared,
}

/// Runs `embed` (see the module's documentation) and returns its summary.
pub async fn run(args: &EmbedArgs) -> Result<Summary, EmbedError> {
    let started = Instant::now();
    let shard = args.shard.unwrap_or(Shard::ALL);
    let options = args.preparation.options();
    let labels = match &args.labels {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|source| EmbedError::Labels {
                path: path.clone(),
                source,
            })?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        None => Vec::new(),
    };
    let endpoint = endpoint(args).await?;
    let files: Vec<Found> = walk::walk(&args.inputs)?
        .into_iter()
        .filter(|f| shard.takes(&f.path))
        .collect();
    let dir = args.out.join(shard.folder());
    let store = Store::open(
        &dir,
        &shard.to_string(),
        options,
        args.part_rows,
        args.resume,
    )?;
    let mut tally = Tally {
        found: files.len(),
        ..Tally::default()
    };
    let files: Vec<Found> = files
        .into_iter()
        .filter(|f| !store.is_done(&f.identity()))
        .collect();
    tally.skipped = tally.found - files.len();
    tally.todo = files.len();

    let run = RunOptions {
        max_in_flight: args.max_in_flight.max(1),
        ..RunOptions::default()
    };
    let gate = Arc::new(Gate::new(run.concurrency()));
    let counters = Arc::new(Counters::default());
    let endpoint = Arc::new(endpoint);
    let limits = run.batch_limits();

    // Labels first, as in the app: ready at once, and their answer brings the scaling
    // factor. Already embedded (same prompts) by an earlier run: not sent again.
    let labels_path = dir.join(store::LABELS);
    let earlier = std::fs::read_to_string(&labels_path)
        .ok()
        .and_then(|t| medinsight_core::formats::session::read(&t).ok());
    let same = earlier.as_ref().is_some_and(|s| {
        s.labels
            .iter()
            .map(|l| l.text.as_str())
            .eq(labels.iter().map(String::as_str))
            && s.labels.iter().all(|l| l.vector.is_some())
    });
    let mut scaling = earlier.as_ref().and_then(|s| s.scaling_factor);
    if !labels.is_empty() && !same {
        let (vectors, s) = embed_labels(&endpoint, &gate, &counters, &labels, limits).await?;
        scaling = s.or(scaling);
        let session = SessionFile::new(
            Settings::default(),
            scaling,
            vec![],
            labels
                .iter()
                .zip(vectors)
                .map(|(text, vector)| SessionLabel {
                    text: text.clone(),
                    vector: Some(vector),
                })
                .collect(),
        );
        store::write_atomically(&labels_path, session.to_json().as_bytes())?;
    }
    tally.labels = labels.len();

    // Preparing: every core, into a bounded channel.
    let cancel = Arc::new(AtomicBool::new(false));
    let (ready_tx, mut ready_rx) = mpsc::channel::<Prepared>(QUEUED);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Outcome>();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let files = Arc::new(files);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..threads {
        let (files, next, tx, cancel) = (
            files.clone(),
            next.clone(),
            ready_tx.clone(),
            cancel.clone(),
        );
        workers.push(std::thread::spawn(move || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= files.len() || cancel.load(Ordering::Relaxed) {
                return;
            }
            if tx.blocking_send(prepare_one(&files[i], options)).is_err() {
                return;
            }
        }));
    }
    drop(ready_tx);

    // The writer: every outcome into the store as it comes, and the progress.
    let scaling_seen = Arc::new(Mutex::new(scaling));
    let mut progress = Progress::new(tally.todo);
    let prepare_done = Arc::new(Mutex::new(None::<Duration>));
    let writer = {
        let cancel = cancel.clone();
        let prepare_done = prepare_done.clone();
        tokio::spawn(async move {
            let mut store = store;
            let mut failed_lines = String::new();
            let mut error = None;
            while let Some(outcome) = done_rx.recv().await {
                match outcome {
                    Outcome::Prepared => {
                        tally.prepared += 1;
                        if tally.prepared == tally.todo {
                            *prepare_done.lock().unwrap_or_else(|e| e.into_inner()) =
                                Some(started.elapsed());
                        }
                        continue;
                    }
                    Outcome::Embedded(rows) => {
                        tally.embedded += rows.len();
                        if let Err(e) = store.add(rows) {
                            // Nothing more can be kept: stop sending.
                            cancel.store(true, Ordering::Relaxed);
                            error.get_or_insert(e);
                        }
                    }
                    Outcome::Failed(files, failure) => {
                        if matches!(failure, Failure::Unauthorized | Failure::NoDeployment) {
                            cancel.store(true, Ordering::Relaxed);
                            tally.fatal.get_or_insert(report::advice(&failure));
                        }
                        let reason = report::advice(&failure);
                        for f in files {
                            failed_lines.push_str(&format!("{}\t{reason}\n", f.path));
                            tally.fail(report::failure_kind(&failure), reason.clone());
                        }
                    }
                    Outcome::PrepareFailed(f, kind, reason) => {
                        failed_lines.push_str(&format!("{}\t{reason}\n", f.path));
                        tally.fail(kind, format!("{}: {reason}", f.path));
                    }
                }
                progress.update(&tally);
            }
            progress.finish();
            (store, tally, failed_lines, error)
        })
    };

    // The producer: batches planned as images arrive, each sent once the gate admits it.
    let mut held: Vec<Item> = Vec::new();
    let mut sending = tokio::task::JoinSet::new();
    let mut closed = false;
    while !closed {
        match ready_rx.recv().await {
            Some(Prepared::Ready(item)) => {
                let _ = done_tx.send(Outcome::Prepared);
                held.push(*item);
            }
            Some(Prepared::Failed(found, kind, reason)) => {
                let _ = done_tx.send(Outcome::Prepared);
                let _ = done_tx.send(Outcome::PrepareFailed(found, kind, reason));
            }
            None => closed = true,
        }
        while sending.try_join_next().is_some() {}
        for batch in complete_batches(&mut held, limits, closed) {
            gate.enter(false).await;
            if cancel.load(Ordering::Relaxed) {
                gate.leave(medinsight_core::endpoint::concurrency::Outcome::Failed);
                continue;
            }
            let (endpoint, gate, counters, done_tx, scaling_seen) = (
                endpoint.clone(),
                gate.clone(),
                counters.clone(),
                done_tx.clone(),
                scaling_seen.clone(),
            );
            sending.spawn(async move {
                let request = ScoreRequest {
                    rows: batch
                        .iter()
                        .map(|i| WireRow::image(i.base64.clone()))
                        .collect(),
                    get_scaling_factor: Some(true),
                };
                let answer = send::send(&endpoint, &gate, &counters, &request).await;
                drop(request);
                let outcome = match answer {
                    Ok(response) => {
                        if let Some(s) = response.scaling_factor {
                            *scaling_seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(s.log());
                        }
                        rows_of(batch, response)
                    }
                    Err(f) => Outcome::Failed(batch.into_iter().map(|i| i.found).collect(), f),
                };
                let _ = done_tx.send(outcome);
            });
        }
        if cancel.load(Ordering::Relaxed) {
            // Stop preparing; what is queued is dropped (not attempted, so not counted).
            ready_rx.close();
            held.clear();
        }
    }
    while sending.join_next().await.is_some() {}
    drop(done_tx);
    for w in workers {
        let _ = w.join();
    }
    let (store, mut tally, failed_lines, error) = writer
        .await
        .map_err(|e| EmbedError::Emulator(format!("the writer stopped: {e}")))?;
    if let Some(e) = error {
        return Err(e.into());
    }
    let complete = tally.fatal.is_none() && tally.done() == tally.todo;
    let failed_path = store.dir().join(store::FAILED);
    store.finish(complete)?;
    store::write_atomically(&failed_path, failed_lines.as_bytes())?;
    // No prompts, but a scaling factor learnt from the images: kept too.
    let scaling = *scaling_seen.lock().unwrap_or_else(|e| e.into_inner());
    if labels.is_empty() && !labels_path.exists() && scaling.is_some() {
        let session = SessionFile::new(Settings::default(), scaling, vec![], vec![]);
        store::write_atomically(&labels_path, session.to_json().as_bytes())?;
    }
    let mut out = format!("written to {}", dir.display());
    if shard.count == 1 && complete {
        out = merge::merge(&args.out)?.to_string();
    }
    tally.labels = labels.len();
    let (_, _, throttled) = gate.window();
    let prepare_elapsed = prepare_done
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .unwrap_or_else(|| started.elapsed());
    Ok(Summary {
        tally,
        requests: counters.requests.load(Ordering::Relaxed),
        retries: counters.retries.load(Ordering::Relaxed),
        throttled,
        bytes_sent: counters.bytes_sent.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        prepare_elapsed,
        out,
    })
}

/// Where the requests go: `--upstream` (checked as `check` checks it, the key from the
/// environment) or the emulator, started here.
async fn endpoint(args: &EmbedArgs) -> Result<Endpoint, EmbedError> {
    let run = RunOptions::default();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(u64::from(run.timeout_secs)))
        .build()
        .map_err(|e| EmbedError::Client(medinsight_core::error_chain(&e)))?;
    let (url, key) = match &args.upstream {
        Some(raw) => {
            let url = crate::check::upstream(raw)?;
            let key = crate::proxy::ApiKey::from_env()
                .ok()
                .map(|k| k.expose().to_string());
            (crate::proxy::without_user_info(&url), key)
        }
        None => {
            let emulate = match <crate::cli::Cli as clap::Parser>::try_parse_from([
                "medinsight",
                "emulate",
                "--listen",
                "127.0.0.1:0",
            ]) {
                Ok(crate::cli::Cli {
                    command: crate::cli::Command::Emulate(a),
                }) => a,
                other => return Err(EmbedError::Emulator(format!("{other:?}"))),
            };
            let router =
                crate::emulate::app(&emulate).map_err(|e| EmbedError::Emulator(e.to_string()))?;
            let listener = tokio::net::TcpListener::bind(emulate.listen)
                .await
                .map_err(|e| EmbedError::Emulator(e.to_string()))?;
            let addr = listener
                .local_addr()
                .map_err(|e| EmbedError::Emulator(e.to_string()))?;
            tokio::spawn(async move {
                crate::serve::serve_on(listener, router, &emulate.limits, std::future::pending())
                    .await;
            });
            eprintln!("embed: emulator on http://{addr} (stand-in vectors, not a medical model)");
            let url = reqwest::Url::parse(&format!("http://{addr}/score"))
                .map_err(|e| EmbedError::Emulator(e.to_string()))?;
            (url, None)
        }
    };
    Ok(Endpoint {
        client,
        url,
        key,
        deployment: args.deployment.clone(),
        policy: run.retry_policy(),
    })
}

/// Reads and prepares one file.
fn prepare_one(found: &Found, options: PrepareOptions) -> Prepared {
    let bytes = match crate::prepare::read_file(&found.file) {
        Ok(b) => b,
        Err(e @ crate::prepare::ReadError::TooLarge(_)) => {
            return Prepared::Failed(found.clone(), "too large", e.to_string())
        }
        Err(e) => return Prepared::Failed(found.clone(), "cannot read", e.to_string()),
    };
    match prepare(&bytes, options) {
        Ok(p) => {
            let s = &p.source;
            let name = found
                .path
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            let meta = vec![
                name,
                found.label.clone(),
                found.path.clone(),
                s.study_uid.clone().unwrap_or_default(),
                s.series_uid.clone().unwrap_or_default(),
                s.modality.clone().unwrap_or_default(),
                p.window.to_string(),
                format!("{:016x}", medinsight_core::fingerprint(&p.png)),
                found.size.to_string(),
                found.mtime_ns.to_string(),
            ];
            Prepared::Ready(Box::new(Item {
                found: found.clone(),
                base64: p.base64,
                meta,
            }))
        }
        Err(e) => Prepared::Failed(found.clone(), report::prepare_kind(&e), e.to_string()),
    }
}

/// The complete batches among `held` (all of them when `last`), as the app's producer
/// plans them; the rest stays held for images still to come.
fn complete_batches(held: &mut Vec<Item>, limits: BatchLimits, last: bool) -> Vec<Vec<Item>> {
    let sizes: Vec<(RowKind, usize)> = held
        .iter()
        .map(|i| (RowKind::Image, i.base64.len()))
        .collect();
    let plan = batching::plan(&sizes, limits);
    let n = plan.len();
    let mut items = std::mem::take(held).into_iter();
    let mut batches = Vec::new();
    for (i, b) in plan.into_iter().enumerate() {
        let batch: Vec<Item> = items.by_ref().take(b.items.len()).collect();
        let full = b.items.len() >= limits.max_rows.max(1);
        if i + 1 == n && !last && !full {
            *held = batch;
        } else {
            batches.push(batch);
        }
    }
    batches
}

/// A batch's answer as rows for the store.
fn rows_of(batch: Vec<Item>, response: ScoreResponse) -> Outcome {
    let mut rows = Vec::with_capacity(batch.len());
    let mut missing = Vec::new();
    for (item, vector) in batch.into_iter().zip(response.images) {
        match vector {
            Some(vector) => rows.push(Row {
                meta: item.meta,
                vector,
            }),
            None => missing.push(item.found),
        }
    }
    if !missing.is_empty() {
        // `parse_response` checks every row has its vector; kept as a failure, not a panic.
        return Outcome::Failed(
            missing,
            Failure::Rejected {
                status: 200,
                message: "the answer had no vector for this image".into(),
            },
        );
    }
    Outcome::Embedded(rows)
}

/// Embeds the prompts, in the batches the app would send; their vectors in order and
/// the scaling factor.
async fn embed_labels(
    endpoint: &Endpoint,
    gate: &Gate,
    counters: &Counters,
    labels: &[String],
    limits: BatchLimits,
) -> Result<(Vec<Vec<f32>>, Option<f64>), EmbedError> {
    let sizes: Vec<(RowKind, usize)> = labels.iter().map(|t| (RowKind::Text, t.len())).collect();
    let mut vectors = Vec::with_capacity(labels.len());
    let mut scaling = None;
    for b in batching::plan(&sizes, limits) {
        let request = ScoreRequest {
            rows: labels[b.items]
                .iter()
                .map(|t| WireRow::text(t.clone()))
                .collect(),
            get_scaling_factor: Some(true),
        };
        gate.enter(false).await;
        let response = send::send(endpoint, gate, counters, &request)
            .await
            .map_err(EmbedError::LabelsFailed)?;
        scaling = response.scaling_factor.map(|s| s.log()).or(scaling);
        for v in response.texts {
            vectors.push(v.ok_or_else(|| {
                EmbedError::LabelsFailed(Failure::Rejected {
                    status: 200,
                    message: "the answer had no vector for a prompt".into(),
                })
            })?);
        }
    }
    Ok((vectors, scaling))
}
