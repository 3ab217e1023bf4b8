//! `medinsight`: entry point only. Parses the command line, sets up logging, and hands
//! over to the subcommand's `run`.

use clap::Parser;
use medinsight::cli::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "medinsight=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Emulate(args) => medinsight::emulate::run(args).await?,
        Command::Proxy(args) => medinsight::proxy::run(args).await?,
        Command::Check(args) => std::process::exit(medinsight::check::run_cli(&args).await),
        Command::Generate(args) => medinsight::generate::run(&args, std::io::stdout().lock())?,
        Command::Embed(args) => std::process::exit(medinsight::embed::run_cli(args).await),
        Command::Merge(args) => {
            let merged = medinsight::embed::merge::merge(&args.out)?;
            println!("{merged}");
        }
        Command::Prepare(args) => {
            let failed = medinsight::prepare::run(&args, std::io::stdout().lock())?;
            if failed > 0 {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
