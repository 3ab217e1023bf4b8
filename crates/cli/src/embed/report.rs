//! What a run tells while it works and when it ends: a progress bar (indicatif) when
//! stderr is a terminal, otherwise a plain line every [`LINE_EVERY`] files (a batch
//! job's log stays readable); and a summary — embedded, skipped as done, failed with
//! the reasons grouped by kind, requests, retries, throughput, bytes sent.

use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use medinsight_core::endpoint::retry::Failure;
use medinsight_core::pipeline::{DecodeError, PrepareError};

/// Files between two progress lines when stderr is not a terminal.
pub const LINE_EVERY: usize = 1000;

/// Why a file failed, in a few words, to group the summary by.
pub fn prepare_kind(e: &PrepareError) -> &'static str {
    match e {
        PrepareError::Decode(DecodeError::Empty | DecodeError::Unrecognised { .. }) => {
            "not an image"
        }
        PrepareError::Decode(DecodeError::TooLarge { .. }) => "too large",
        PrepareError::Decode(
            DecodeError::RasterUnsupported { .. }
            | DecodeError::UnsupportedTransferSyntax { .. }
            | DecodeError::JpegPrecision { .. },
        ) => "unsupported variant",
        PrepareError::Decode(DecodeError::NoSuchFrame { .. }) => "no such frame",
        PrepareError::Decode(_) => "damaged",
        PrepareError::Resize(_) | PrepareError::Encode(_) => "could not prepare",
    }
}

pub fn failure_kind(f: &Failure) -> &'static str {
    match f {
        Failure::Unauthorized => "key refused (401)",
        Failure::NoDeployment => "no such deployment (404)",
        Failure::TooLarge => "request too large (413)",
        Failure::ModelError(_) => "model error (424)",
        Failure::Rejected { .. } => "rejected by the endpoint",
        Failure::Exhausted { .. } => "gave up after retries",
        // The browser's own verdict; this command learns of a lost network by its retries.
        Failure::Offline => "offline",
    }
}

/// What to tell the user of a failure, worded for this command (the core's words for a
/// refused key speak of the proxy, which holds the key for the app).
pub fn advice(f: &Failure) -> String {
    match f {
        Failure::Unauthorized => "the endpoint refused the key (401): set MEDINSIGHT_API_KEY to the endpoint's key (Azure ML studio → Endpoints → your endpoint → Consume) and run again with --resume".into(),
        Failure::NoDeployment => "no such deployment (404): check --deployment, or leave it out to use the endpoint's traffic split; then run again with --resume".into(),
        Failure::TooLarge => "the request is too large (413) for the endpoint or a proxy in front of it".into(),
        other => other.to_string(),
    }
}

/// Counts of a run.
#[derive(Debug, Default)]
pub struct Tally {
    /// Files of this shard found by the walk.
    pub found: usize,
    /// Files skipped: embedded by an earlier run.
    pub skipped: usize,
    /// Files this run attempts.
    pub todo: usize,
    pub prepared: usize,
    pub embedded: usize,
    /// kind → (count, first reason seen).
    pub failed: BTreeMap<&'static str, (usize, String)>,
    pub labels: usize,
    /// Set when the run stopped early (a bad key, a missing deployment).
    pub fatal: Option<String>,
}

impl Tally {
    pub fn fail(&mut self, kind: &'static str, reason: String) {
        let e = self.failed.entry(kind).or_insert((0, reason));
        e.0 += 1;
    }

    pub fn failures(&self) -> usize {
        self.failed.values().map(|v| v.0).sum()
    }

    pub fn done(&self) -> usize {
        self.embedded + self.failures()
    }
}

/// The end-of-run summary.
pub struct Summary {
    pub tally: Tally,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub bytes_sent: u64,
    pub elapsed: Duration,
    /// Time until the last file was prepared.
    pub prepare_elapsed: Duration,
    /// Where the output went ("written to DIR", or what the merge wrote).
    pub out: String,
}

impl Summary {
    /// Everything attempted was embedded and the run was not stopped.
    pub fn ok(&self) -> bool {
        self.tally.fatal.is_none() && self.tally.failures() == 0
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.tally;
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "embedded {} of {} files ({} skipped: done by an earlier run), {} labels; {}",
            t.embedded, t.todo, t.skipped, t.labels, self.out
        )?;
        writeln!(f, "failed {}", t.failures())?;
        for (kind, (n, example)) in &t.failed {
            writeln!(f, "  {kind}: {n} (e.g. {example})")?;
        }
        writeln!(
            f,
            "requests {}, retries {}, throttled (429/503) {}, sent {:.1} MB",
            self.requests,
            self.retries,
            self.throttled,
            self.bytes_sent as f64 / 1e6
        )?;
        write!(
            f,
            "throughput {:.1} files/s embedded, {:.1} files/s prepared, in {:.1} s",
            t.embedded as f64 / secs,
            t.prepared as f64 / self.prepare_elapsed.as_secs_f64().max(1e-9),
            secs
        )?;
        if let Some(fatal) = &t.fatal {
            write!(f, "\nstopped: {fatal}")?;
        }
        Ok(())
    }
}

/// The progress shown while the run works.
pub enum Progress {
    Bar(ProgressBar),
    Lines { started: Instant, next: usize },
}

impl Progress {
    pub fn new(total: usize) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} files  {per_sec}  eta {eta}  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                started: Instant::now(),
                next: LINE_EVERY,
            }
        }
    }

    pub fn update(&mut self, t: &Tally) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(t.done() as u64);
                if t.failures() > 0 {
                    bar.set_message(format!("{} failed", t.failures()));
                }
            }
            Progress::Lines { started, next } => {
                while t.done() >= *next {
                    eprintln!(
                        "embed: {} of {} files done ({} failed), {:.1} files/s",
                        t.done(),
                        t.todo,
                        t.failures(),
                        t.done() as f64 / started.elapsed().as_secs_f64().max(1e-9)
                    );
                    *next += LINE_EVERY;
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
