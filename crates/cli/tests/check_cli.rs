//! `medinsight check` against the emulator over loopback HTTP, in both response layouts,
//! with and without a key; and the real binary's help, exit statuses and report.
//!
//! These tests expect the strict emulator (mixed batches refused with 424 and
//! `ms-azureml-model-error-statuscode: 400`; `scaling_factor` sent when `params` is
//! `{}`), because that is what the deployed service does.

mod common;

use common::{emulate_args, parse, spawn};

use std::process::Command as Process;

use medinsight::check::{run, CheckError, CheckReport, Finding, Layout, ProbeKind};
use medinsight::cli::{CheckArgs, Command};

const KEY: &str = "k3y-Th4t-Must-N0t-Leak";

fn check_args(upstream: &str, extra: &[&str]) -> CheckArgs {
    match parse(&[&["check", "--upstream", upstream], extra].concat()) {
        Command::Check(a) => a,
        other => panic!("{other:?}"),
    }
}

async fn emulator(extra: &[&str]) -> String {
    spawn(medinsight::emulate::app(&emulate_args(extra)).unwrap()).await
}

/// Runs the check; returns what it learnt and the text it printed.
async fn check(
    upstream: &str,
    extra: &[&str],
    key: Option<&str>,
) -> Result<(CheckReport, String), CheckError> {
    let mut out = Vec::new();
    let report = run(&check_args(upstream, extra), key, &mut out).await?;
    Ok((report, String::from_utf8(out).unwrap()))
}

fn statuses(report: &CheckReport) -> Vec<Option<u16>> {
    report.reports.iter().map(|r| r.status).collect()
}

fn probe(report: &CheckReport, kind: ProbeKind) -> &medinsight::check::ProbeReport {
    report.reports.iter().find(|r| r.kind == kind).unwrap()
}

const STRICT: [Option<u16>; 8] = [
    Some(200),
    Some(200),
    Some(200),
    Some(200),
    Some(424),
    Some(200),
    Some(200),
    Some(200),
];

/// What every successful run against the strict emulator shows, whatever the layout.
fn assert_strict_emulator(report: &CheckReport, text: &str) {
    assert_eq!(statuses(report), STRICT, "{text}");
    let mixed = probe(report, ProbeKind::Mixed);
    assert_eq!(mixed.model_error_status.as_deref(), Some("400"), "{text}");
    assert!(mixed.model_error_reason.is_some(), "{text}");
    for r in report.reports.iter().filter(|r| r.status == Some(200)) {
        for stats in [&r.images, &r.texts].into_iter().flatten() {
            assert_eq!((stats.width_min, stats.width_max), (1024, 1024), "{text}");
            assert!((stats.norm_min - 1.0).abs() < 1e-3, "{text}");
        }
        assert_eq!(r.parse_error, None, "{text}");
        assert!(r.scaling_factor.is_some(), "{:?}: {text}", r.kind);
    }
    assert_eq!(
        probe(report, ProbeKind::ImageBatch)
            .images
            .as_ref()
            .unwrap()
            .count,
        2
    );
    assert_eq!(
        probe(report, ProbeKind::TextBatch)
            .texts
            .as_ref()
            .unwrap()
            .count,
        2
    );
    let image_text = probe(report, ProbeKind::ImageText);
    assert!(image_text.images.is_some() && image_text.texts.is_some());
    let empty = probe(report, ProbeKind::EmptyParams);
    assert!(!empty.asked_scaling_factor);
    assert_eq!(
        empty.scaling_factor,
        Some(medinsight::emulate::SCALING_FACTOR)
    );
    for letter in ['a', 'b', 'c', 'd', 'e', 'f'] {
        let a = report.verdict.get(letter).unwrap();
        assert_eq!(
            a.finding,
            Finding::Holds,
            "({letter}) {}: {text}",
            a.evidence
        );
        assert!(text.contains(&format!("({letter}) holds: ")), "{text}");
    }
    assert!(
        text.contains("RESULT: every assumption the app relies on (a, b, d, f) holds"),
        "{text}"
    );
    assert_eq!(report.verdict.exit_code(), 0);
}

#[tokio::test]
async fn rows_layout_every_probe_as_expected() {
    let emu = emulator(&["--response-shape", "rows"]).await;
    let (report, text) = check(&format!("{emu}/score"), &[], None).await.unwrap();
    println!("{text}");
    assert_strict_emulator(&report, &text);
    for r in report.reports.iter().filter(|r| r.status == Some(200)) {
        let nested = r.images.is_some().then_some(true);
        assert_eq!(
            r.layout,
            Some(Layout::Rows {
                image_nested: nested
            }),
            "{:?}",
            r.kind
        );
    }
    assert!(
        text.contains("key:        none: MEDINSIGHT_API_KEY is not set"),
        "{text}"
    );
    assert!(text.contains("image_features nested [[…]]"), "{text}");
}

#[tokio::test]
async fn columns_layout_every_probe_as_expected() {
    let emu = emulator(&["--response-shape", "columns"]).await;
    let (report, text) = check(&format!("{emu}/score"), &[], None).await.unwrap();
    assert_strict_emulator(&report, &text);
    for r in report.reports.iter().filter(|r| r.status == Some(200)) {
        let nested = r.images.is_some().then_some(false);
        assert_eq!(
            r.layout,
            Some(Layout::Columns {
                image_nested: nested
            }),
            "{:?}",
            r.kind
        );
    }
    assert!(
        text.contains("layout columns (one object of lists"),
        "{text}"
    );
}

#[tokio::test]
async fn the_key_is_sent_and_never_printed() {
    let emu = emulator(&["--key", KEY, "--deployment", "blue"]).await;
    // The emulator answers 200 only to `Authorization: Bearer KEY`, and 404 to another
    // deployment: every 200 here proves both headers were sent.
    // User-info in the URL is neither sent (it would become a second Authorization)
    // nor shown; nor is the query.
    let (report, text) = check(
        &format!(
            "{}/score?sig=s3cret",
            emu.replace("http://", "http://user:pw@")
        ),
        &["--deployment", "blue"],
        Some(KEY),
    )
    .await
    .unwrap();
    assert_strict_emulator(&report, &text);
    assert!(
        text.contains(&format!("endpoint:   {emu}/score\n")),
        "{text}"
    );
    assert!(!text.contains("pw") && !text.contains("s3cret"), "{text}");
    assert!(!text.contains(KEY), "the key leaked: {text}");
    assert!(
        text.contains("key:        from MEDINSIGHT_API_KEY"),
        "{text}"
    );
    assert!(text.contains("deployment: blue"), "{text}");

    let (report, text) = check(
        &format!("{emu}/score"),
        &["--deployment", "green"],
        Some(KEY),
    )
    .await
    .unwrap();
    assert_eq!(statuses(&report), [Some(404); 8], "{text}");
    assert!(text.contains("check --upstream and --deployment"), "{text}");
    assert!(!text.contains(KEY));
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_a_clear_401_report() {
    let emu = emulator(&["--key", KEY]).await;
    for key in [Some("not-the-key-0123"), None] {
        let (report, text) = check(&format!("{emu}/score"), &[], key).await.unwrap();
        assert_eq!(statuses(&report), [Some(401); 8], "{text}");
        assert!(
            text.contains("HTTP 401")
                && text.contains("the key was refused: set MEDINSIGHT_API_KEY"),
            "{text}"
        );
        assert!(
            text.contains("missing or wrong key"),
            "the body's message: {text}"
        );
        assert!(
            report
                .verdict
                .assumptions
                .iter()
                .all(|a| a.finding == Finding::Unknown),
            "nothing is learnt past the gateway: {text}"
        );
        assert!(text.contains("(a) unknown: "), "{text}");
        assert_eq!(report.verdict.exit_code(), 1);
        assert!(
            !text.contains(KEY) && !text.contains("not-the-key-0123"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_host_is_an_error_without_secrets() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = check(
        &format!("http://user:pw@127.0.0.1:{port}/score?sig=s3cret"),
        &[],
        Some(KEY),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot reach http://127.0.0.1:{port}/score: connection refused; is the URL right and the endpoint running?")
    );

    let err = check("http://x.example.com/score", &[], None)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::PlainHttp(_)), "{err}");
    let err = check("score", &[], None).await.unwrap_err();
    assert!(matches!(err, CheckError::BadUrl(_)), "{err}");
}

fn binary(args: &[&str], key: Option<&str>) -> std::process::Output {
    let mut cmd = Process::new(env!("CARGO_BIN_EXE_medinsight"));
    cmd.args(args).env_remove("MEDINSIGHT_API_KEY");
    if let Some(k) = key {
        cmd.env("MEDINSIGHT_API_KEY", k);
    }
    cmd.output().unwrap()
}

#[test]
fn help_names_the_key_variable() {
    let out = binary(&["check", "--help"], None);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("MEDINSIGHT_API_KEY"), "{help}");
    assert!(
        help.contains("--upstream") && help.contains("--timeout-secs"),
        "{help}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = binary(&["check"], None);
    assert_eq!(out.status.code(), Some(2), "missing --upstream");
    let out = binary(
        &["check", "--upstream", "https://user:pw@host:99999/score"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error: --upstream is not a usable URL"),
        "{stderr}"
    );
    assert!(!stderr.contains("pw"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reads_the_key_from_the_environment_and_exits_0() {
    let emu = emulator(&["--key", KEY]).await;
    let url = format!("{emu}/score");
    let out =
        tokio::task::spawn_blocking(move || binary(&["check", "--upstream", &url], Some(KEY)))
            .await
            .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        !stdout.contains(KEY) && !stderr.contains(KEY),
        "the key leaked"
    );
    assert!(
        stdout.contains("RESULT: every assumption"),
        "{stdout}\n{stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");

    let url = format!("{emu}/score");
    let out = tokio::task::spawn_blocking(move || binary(&["check", "--upstream", &url], None))
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "401s: nothing the app relies on is known"
    );
}
