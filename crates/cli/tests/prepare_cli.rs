//! `medinsight prepare` as a user runs it: the real binary on the shared test images.

use std::path::PathBuf;
use std::process::Command;

fn testdata(rel: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata")
        .join(rel);
    assert!(
        path.exists(),
        "missing shared test image {}",
        path.display()
    );
    path
}

#[test]
fn prepares_every_file_reports_each_and_fails_on_any_error() {
    let out = tempfile::tempdir().unwrap();
    let junk = out.path().join("notes.png");
    std::fs::write(&junk, "not an image").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_medinsight"))
        .arg("prepare")
        .arg(testdata("dicom/RG3_UNCR.dcm"))
        .arg(&junk)
        .arg(testdata("fundus_retina.png"))
        .arg("--out")
        .arg(out.path().join("prepared"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "one file failed");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].contains("RG3_UNCR.dcm.png")
            && lines[0].contains("DICOM 1760×1760")
            && lines[0].contains("MONOCHROME1 inverted"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("error: ") && lines[1].contains("looks like a text file"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("PNG") && lines[2].contains("3 channel(s)"),
        "{}",
        lines[2]
    );
    // The file written is exactly what the app would send.
    let written = std::fs::read(out.path().join("prepared/RG3_UNCR.dcm.png")).unwrap();
    let expected = medinsight_core::pipeline::prepare(
        &std::fs::read(testdata("dicom/RG3_UNCR.dcm")).unwrap(),
        Default::default(),
    )
    .unwrap();
    assert_eq!(written, expected.png);
}

#[test]
fn options_change_the_output_and_bad_options_are_refused() {
    let out = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_medinsight"))
            .arg("prepare")
            .arg(testdata("dicom/CT_small.dcm"))
            .arg("--out")
            .arg(out.path())
            .args(extra)
            .output()
            .unwrap()
    };
    let lung = run(&["--window", "manual:-600,1500", "--fit", "letterbox"]);
    assert!(lung.status.success());
    assert!(String::from_utf8_lossy(&lung.stdout).contains("manual window C=-600 W=1500"));
    let bad = run(&["--window", "hounsfield"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("expected microsoft, file, percentile:LOW,HIGH, minmax or manual:CENTER,WIDTH"));
}
