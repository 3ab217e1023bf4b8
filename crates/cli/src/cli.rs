//! The command line's shape: subcommands and their flags, parsed by clap.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use medinsight_core::endpoint::wire::ResponseShape;
use medinsight_core::pipeline::{Fit, FrameChoice, PrepareOptions, Windowing};

use crate::emulate::faults::Fault;
use crate::serve::ServerLimits;

#[derive(Debug, Parser)]
#[command(
    name = "medinsight",
    version,
    about = "MedImageInsight Explorer: local endpoint emulator, key-injecting proxy and image preparation"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the app and emulate a MedImageInsight endpoint at /score, all on this machine.
    ///
    /// The emulator is NOT a medical model: its vectors are deterministic projections of
    /// the pixels and tokens, useful to run and test the app offline, meaningless for
    /// medicine. Every response says so in the header `x-medinsight-emulator: 1`.
    Emulate(EmulateArgs),
    /// Serve the app and forward POST /score to a real Azure ML endpoint, adding the key.
    ///
    /// The key is read from the environment variable MEDINSIGHT_API_KEY (never from a
    /// flag, so it does not show in `ps`), and never reaches the browser or the logs.
    Proxy(ProxyArgs),
    /// Prepare images as the app does (decode, window, 512×512, PNG), writing OUT/<name>.png.
    ///
    /// Prints one line per file: the output path with the source's metadata and the
    /// window applied, or the error. Every file is attempted; the exit status is 1 if
    /// any failed.
    Prepare(PrepareArgs),
    /// Probe an endpoint with small synthetic requests and say whether the app's assumptions hold.
    ///
    /// Sends eight probes to the scoring URL, one at a time: text-only, image+text,
    /// image-only and text-only batches, a mixed batch (expected to be refused),
    /// `"params": {}`, and texts of 65 and 90 CLIP tokens. Images are 64×64 synthetic
    /// gray PNGs; no patient data is sent. Prints status, latency, layout, vector widths
    /// and norms and `scaling_factor` for each, then a verdict per assumption.
    ///
    /// The key is read from the environment variable MEDINSIGHT_API_KEY, as for `proxy`;
    /// without it the probes go without Authorization (enough for `medinsight emulate`
    /// without --key). The key never appears in the report.
    ///
    /// Exit status: 0 if every assumption the app relies on holds, 1 if not, 2 if the
    /// check could not run (bad URL, unreachable host).
    Check(CheckArgs),
    /// Write a synthetic session of N images for benchmarks and tests at scale (seeded).
    ///
    /// Clustered 1024-d unit vectors (clusters named after ChestX-ray14's findings, a few
    /// outliers), grouped into studies: OUT/vectors.npy + OUT/metadata.tsv for the app's
    /// "Import vectors", OUT/labels.json (a session file with one prompt per cluster, its
    /// text vector and a scaling factor) for "Import session". The vectors are not a
    /// model's: they have the shape of real embeddings, not their meaning. Same flags,
    /// same bytes.
    Generate(GenerateArgs),
    /// Embed folders of images from the command line, as the app does, into files the
    /// app imports and numpy reads.
    ///
    /// Walks each DIR (the folder a file sits in is its ground-truth label, as in the
    /// app), prepares every file with the app's pipeline and defaults on all cores, and
    /// sends them with the app's batching, retries and adaptive window. Writes
    /// OUT/shard-I-of-N/ in parts as answers arrive (a killed run continues with
    /// --resume and sends no finished image again); a run that is not sharded ends by
    /// merging into OUT/embeddings.npy, OUT/metadata.tsv and OUT/labels.json.
    ///
    /// The key is read from MEDINSIGHT_API_KEY, as for `proxy`; it never appears in the
    /// output. Exit status: 0 if every file was embedded, 1 if any failed or the run
    /// stopped, 2 if it could not start.
    Embed(EmbedArgs),
    /// Join the shards of `medinsight embed --shard I/N` runs under OUT into
    /// OUT/embeddings.npy, OUT/metadata.tsv and OUT/labels.json.
    Merge(MergeArgs),
}

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["upstream", "emulate"])))]
pub struct EmbedArgs {
    /// Folders (walked recursively, hidden files skipped) or single files.
    #[arg(required = true, value_name = "DIR")]
    pub inputs: Vec<PathBuf>,
    /// Output folder (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// The endpoint's scoring URL, e.g. https://NAME.REGION.inference.ml.azure.com/score
    /// (plain http only to this machine).
    #[arg(long)]
    pub upstream: Option<String>,
    /// Send every request to this deployment (`azureml-model-deployment`).
    #[arg(long, requires = "upstream")]
    pub deployment: Option<String>,
    /// Embed against the emulator, started in this process on a free loopback port
    /// (stand-in vectors: for trying the command, not for medicine).
    #[arg(long)]
    pub emulate: bool,
    /// Text prompts to embed too, one per line (blank lines skipped).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Continue a run that stopped: files already in finished parts are not sent again.
    #[arg(long)]
    pub resume: bool,
    /// Take share I of N (0 ≤ I < N) of the files, chosen by a hash of each file's path:
    /// run N of these (a Slurm array, a Kubernetes indexed Job) and `medinsight merge`.
    #[arg(long, value_name = "I/N", value_parser = crate::embed::shard::parse_shard)]
    pub shard: Option<crate::embed::shard::Shard>,
    /// Rows per part file: a part is written (atomically) when it is full.
    #[arg(long, default_value_t = 1000)]
    pub part_rows: usize,
    /// Most requests in flight the adaptive window may reach (the app's default: 16).
    #[arg(long, default_value_t = 16)]
    pub max_in_flight: usize,
    /// Threads preparing images [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub preparation: PreparationFlags,
}

#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The `--out` folder of the `embed` runs.
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// Number of images.
    #[arg(long)]
    pub n: usize,
    /// Seed of everything drawn.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Folder to write into (created if missing; files of the same names are replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of clusters, each with its label.
    #[arg(long, default_value_t = 8)]
    pub clusters: usize,
    /// Number of outliers among the N images [default: N / 100].
    #[arg(long)]
    pub outliers: Option<usize>,
    /// Also write a 64×64 PNG per image under OUT/images/<label>/<study UID>/<name>.
    #[arg(long)]
    pub images: bool,
    /// Also write the whole session (images, vectors, labels) as OUT/session.json.
    #[arg(long)]
    pub session: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The endpoint's scoring URL, e.g. https://NAME.REGION.inference.ml.azure.com/score
    /// (plain http only to this machine).
    #[arg(long)]
    pub upstream: String,
    /// Send every probe to this deployment (`azureml-model-deployment`); otherwise the
    /// endpoint's traffic split decides.
    #[arg(long)]
    pub deployment: Option<String>,
    /// Seconds to wait for each probe's answer.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Args)]
pub struct PrepareArgs {
    /// Images or DICOM files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Folder for the prepared PNGs (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub preparation: PreparationFlags,
}

/// How an image is prepared, the same flags for `prepare` and `embed` (the app's
/// defaults).
#[derive(Debug, Clone, Args)]
pub struct PreparationFlags {
    /// microsoft (what Microsoft's client does: every DICOM and every image deeper than
    /// 8 bits clipped to its 1st–99th percentiles; 8-bit images as they are), file (the
    /// DICOM's stored window; 8-bit as is; else 1–99 percentiles), percentile:LOW,HIGH,
    /// minmax, or manual:CENTER,WIDTH.
    #[arg(long, default_value = "microsoft", value_parser = crate::prepare::parse_window)]
    pub window: Windowing,
    /// Frame of a multi-frame DICOM: first (as Microsoft's client), middle or a 0-based number.
    #[arg(long, default_value = "first", value_parser = crate::prepare::parse_frame)]
    pub frame: FrameChoice,
    /// stretch (as the service does) or letterbox (keep aspect, pad black).
    #[arg(long, default_value = "stretch", value_parser = crate::prepare::parse_fit)]
    pub fit: Fit,
}

impl PreparationFlags {
    /// The pipeline's options for these flags.
    pub fn options(&self) -> PrepareOptions {
        PrepareOptions {
            window: self.window,
            frame: self.frame,
            fit: self.fit,
            ..PrepareOptions::default()
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ProxyArgs {
    /// Address to listen on; port 0 picks a free port (the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Folder of the built app (`trunk build --release` output) to serve at `/`.
    #[arg(long)]
    pub dist: Option<PathBuf>,
    /// The endpoint's scoring URL, e.g. https://NAME.REGION.inference.ml.azure.com/score
    #[arg(long)]
    pub upstream: String,
    /// Send every request to this deployment (`azureml-model-deployment`); otherwise the
    /// app's choice, or the endpoint's traffic split.
    #[arg(long)]
    pub deployment: Option<String>,
    /// Largest request accepted from the browser; larger ones get 413 and never go upstream.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Seconds to wait for the endpoint (the platform's request_timeout_ms is at most 180 s).
    #[arg(long, default_value_t = 180)]
    pub timeout_secs: u64,
    /// Another name the app is opened under, as `host[:port]` (repeatable): a LAN name
    /// (`mybox.local:8080`), or a reverse proxy's public name (`explorer.lab.org`).
    /// `/score` answers only requests from the proxy's own page: its listen address,
    /// `localhost`, `127.0.0.1` and `[::1]` at its port, and these names.
    #[arg(long = "public-host", value_name = "HOST[:PORT]", value_parser = crate::same_origin::parse_public_host)]
    pub public_hosts: Vec<String>,
    /// The server's timeouts and connection limit: not flags (the defaults suit a
    /// browser), set by tests.
    #[arg(skip)]
    pub limits: ServerLimits,
}

#[derive(Debug, Clone, Args)]
pub struct EmulateArgs {
    /// Address to listen on; port 0 picks a free port (the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// Folder of the built app (`trunk build` output) to serve at `/`; omit to serve only the endpoint.
    #[arg(long)]
    pub dist: Option<PathBuf>,
    /// Answer in this layout: `rows` (the deployed service: one object per row) or
    /// `columns` (the documentation: one object of lists).
    #[arg(long, value_enum, default_value_t = Shape::Rows)]
    pub response_shape: Shape,
    /// Require `Authorization: Bearer KEY` (401 otherwise), as a real endpoint does.
    #[arg(long)]
    pub key: Option<String>,
    /// The deployment's name; a request whose `azureml-model-deployment` names another gets 404.
    #[arg(long, default_value = "emulator")]
    pub deployment: String,
    /// Largest request body accepted; beyond it, 413.
    #[arg(long, default_value_t = 100 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Like the platform's request_timeout_ms: a request whose latency and work together
    /// exceed it gets 408 (and its work stops).
    #[arg(long, default_value_t = 5_000)]
    pub request_timeout_ms: u64,
    /// Latency added to every scoring request.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Random extra latency, up to this many milliseconds (seeded).
    #[arg(long, default_value_t = 0)]
    pub jitter_ms: u64,
    /// Scoring requests processed at once; beyond it, 429 with Retry-After.
    #[arg(long)]
    pub max_in_flight: Option<usize>,
    /// Seconds sent in Retry-After with 429.
    #[arg(long, default_value_t = 1)]
    pub retry_after_secs: u64,
    /// Probability, per scoring request, of injecting one of --faults.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Faults to draw from, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "500")]
    pub faults: Vec<Fault>,
    /// Seed of the latency jitter and fault draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The server's timeouts and connection limit: not flags, set by tests.
    #[arg(skip)]
    pub limits: ServerLimits,
}

/// `--response-shape`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shape {
    Rows,
    Columns,
}

impl From<Shape> for ResponseShape {
    fn from(s: Shape) -> Self {
        match s {
            Shape::Rows => ResponseShape::Rows,
            Shape::Columns => ResponseShape::Columns,
        }
    }
}
