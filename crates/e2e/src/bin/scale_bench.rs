//! `scale_bench` (run by `scripts/bench`): entry only. Parses the sizes and hands over
//! to `medinsight_e2e::bench`, which builds the release app, generates each session,
//! measures it in headless Chromium and prints the figures.

use std::time::Duration;

use clap::Parser;
use medinsight_e2e::bench::{run, Options};

/// The scale benchmark of issue 12: a synthetic session of N images imported through the
/// app's own import, in the release build in headless Chromium; per N the time to a
/// usable session, the gallery's DOM nodes, scroll frame times, the time to open each
/// tab, the longest task, the heap and the time from a reload to a usable session.
#[derive(Parser)]
struct Args {
    /// Numbers of images, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000,10000")]
    sizes: Vec<usize>,
    /// Seed of the generated sessions.
    #[arg(long, default_value_t = 12)]
    seed: u64,
    /// Clusters (labels) in each session.
    #[arg(long, default_value_t = 8)]
    clusters: usize,
    /// Seconds any one phase may take before it is reported as timed out.
    #[arg(long, default_value_t = 600)]
    phase_timeout_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let options = Options {
        sizes: args.sizes,
        seed: args.seed,
        clusters: args.clusters,
        phase_timeout: Duration::from_secs(args.phase_timeout_secs),
    };
    run(&options, std::io::stdout().lock()).await?;
    Ok(())
}
