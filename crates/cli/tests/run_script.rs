//! `scripts/run`'s arguments, checked before it installs or builds anything: the real
//! endpoint without its key is refused with what to do, and so is a malformed command
//! line. Each case runs the script with no tools on PATH but the shell's, so a script
//! that went on to bootstrap or build would fail differently, and the test with it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn run_script(args: &[&str], key: Option<&str>) -> Output {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut cmd = Command::new("bash");
    cmd.arg(root.join("scripts/run"))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", std::env::temp_dir());
    if let Some(key) = key {
        cmd.env("MEDINSIGHT_API_KEY", key);
    }
    cmd.output().expect("bash runs scripts/run")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn upstream_without_a_key_is_refused_with_what_to_do() {
    for key in [None, Some("")] {
        let output = run_script(
            &[
                "--upstream",
                "https://ep.westeurope.inference.ml.azure.com/score",
            ],
            key,
        );
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{key:?}: {err}");
        assert!(
            err.contains("MEDINSIGHT_API_KEY") && err.contains("export MEDINSIGHT_API_KEY="),
            "{key:?}: {err}"
        );
        assert!(!err.contains("bootstrap"), "nothing was installed: {err}");
        assert!(output.stdout.is_empty(), "{:?}", output.stdout);
    }
}

#[test]
fn malformed_command_lines_are_refused_with_the_usage() {
    for (args, says) in [
        (&["--upstream"][..], "--upstream needs a value"),
        (
            &["--upstream", "--deployment", "blue"][..],
            "--upstream needs a value",
        ),
        (
            &["--deployment", "blue"][..],
            "--deployment names a deployment",
        ),
        (
            &["--upstream=https://x/score", "--deployment="][..],
            "--deployment needs a value",
        ),
        (
            &["--listen", "0.0.0.0:80"][..],
            "unknown argument: --listen",
        ),
    ] {
        let output = run_script(args, Some("k"));
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(err.contains("usage: scripts/run"), "{args:?}: {err}");
    }
}

#[test]
fn help_prints_the_usage() {
    let output = run_script(&["--help"], None);
    assert_eq!(output.status.code(), Some(0));
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains("--upstream URL [--deployment NAME]"), "{out}");
}
