//! The command line's shape: subcommands and their flags, parsed by clap.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
}

#[derive(Debug, Clone, Args)]
pub struct EmulateArgs {
    /// Address to listen on; port 0 picks a free port (the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// Folder of the built app (`trunk build` output) to serve at `/`; omit to serve only the endpoint.
    #[arg(long)]
    pub dist: Option<PathBuf>,
}
