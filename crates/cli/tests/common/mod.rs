//! What the command line's integration tests share: flags parsed as the binary parses
//! them, and a router served on a free loopback port.
#![allow(dead_code)] // each test file uses its own share of these

use axum::Router;
use clap::Parser;
use medinsight::cli::{Cli, Command, EmulateArgs};

/// `argv` (without the program name) as `medinsight` parses it.
pub fn parse(argv: &[&str]) -> Command {
    Cli::try_parse_from(["medinsight"].iter().chain(argv))
        .unwrap()
        .command
}

/// The flags of `medinsight emulate EXTRA…`.
pub fn emulate_args(extra: &[&str]) -> EmulateArgs {
    match parse(&[&["emulate"], extra].concat()) {
        Command::Emulate(a) => a,
        other => panic!("{other:?}"),
    }
}

/// Serves `router` on a free loopback port; returns its base URL. The server stops
/// with the test's runtime.
pub async fn spawn(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}
