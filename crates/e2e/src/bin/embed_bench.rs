//! `embed_bench` (run by `scripts/bench --embed`): entry only. Parses the flags and hands
//! over to `medinsight_e2e::embed_bench`, which makes the corpus, times `medinsight
//! embed` and the app in headless Chromium, and prints the table.

use std::time::Duration;

use clap::Parser;
use medinsight_e2e::embed_bench::{run, Options};

/// The benchmark of `medinsight embed` (issue 16): files/s prepared natively on every
/// core (and on one) against the app in Chromium on the same files, and rows/s sent
/// against `medinsight emulate --max-in-flight K --latency-ms 300` as a share of its
/// capacity, natively and by the app. Medians of --runs runs after a warm-up.
#[derive(Parser)]
struct Args {
    /// Files in the preparation corpus (a mix of DICOM, PNG and JPEG of realistic sizes).
    #[arg(long, default_value_t = 200)]
    files: usize,
    /// Seed of the corpus and of the small images.
    #[arg(long, default_value_t = 16)]
    seed: u64,
    /// Counted runs per figure, after one warm-up run.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The emulator's --max-in-flight values for the sending part, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "2,6")]
    k: Vec<usize>,
    /// Requests per unit of K in the sending part (K × 8 × rounds images).
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Skip the app's sending (it loads every small image into the browser first).
    #[arg(long)]
    no_app_send: bool,
    /// Seconds one run may take before it counts as failed.
    #[arg(long, default_value_t = 900)]
    timeout_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let options = Options {
        files: args.files,
        seed: args.seed,
        runs: args.runs.max(1),
        ks: args.k,
        rounds: args.rounds.max(1),
        app_send: !args.no_app_send,
        timeout: Duration::from_secs(args.timeout_secs),
    };
    run(&options, std::io::stdout().lock()).await
}
