//! What the command line's integration tests share: flags parsed as the binary parses
//! them, and a router served on a free loopback port.
#![allow(dead_code)] // each test file uses its own share of these

use axum::Router;
use clap::Parser;
use medinsight::cli::{Cli, Command, EmulateArgs};
use medinsight::serve::{serve_on, ServerLimits};

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

/// Serves `router` on a free loopback port as the binary serves it; returns its base
/// URL. The server stops with the test's runtime.
pub async fn spawn(router: Router) -> String {
    spawn_within(router, ServerLimits::default()).await
}

/// [`spawn`] with other limits.
pub async fn spawn_within(router: Router, limits: ServerLimits) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        serve_on(listener, router, &limits, std::future::pending()).await;
    });
    format!("http://{addr}")
}

/// A `medinsight` process started by a test, killed when the test ends (failures
/// included), with its stdout's first line (`listening on http://ADDR`) read.
pub struct Server {
    child: Option<std::process::Child>,
    /// `http://ADDR`, as the server announced it.
    pub url: String,
}

impl Server {
    /// Runs `medinsight ARGS…` with `env`, waiting for it to announce its address.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_medinsight"));
        cmd.args(args)
            .env_remove("MEDINSIGHT_API_KEY")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("medinsight said {line:?}"))
            .to_string();
        Self {
            child: Some(child),
            url,
        }
    }

    /// Stops the server; returns what it wrote on stderr (its log).
    pub fn stop(mut self) -> String {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
