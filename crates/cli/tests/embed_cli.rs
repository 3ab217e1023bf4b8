//! `medinsight embed` and `merge` as a user runs them: the real binary, three shards of
//! 300 small images (and one file that is not an image) against `medinsight emulate`
//! with faults and a capacity, one shard killed midway and resumed, then merged. The
//! merged files must load in numpy as N × 1024, list every image exactly once, import
//! with the app's own parsers, and hold the vectors the app gets for the same files;
//! the emulator must have embedded each image once, plus at most what the killed run
//! had in flight.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use medinsight::embed::shard::Shard;
use medinsight::emulate::embed::Embedder;
use medinsight_core::formats::session::{import_vectors, read};
use medinsight_core::pipeline::{prepare, PrepareOptions};

const LABELS: [&str; 3] = ["Atelectasis", "Effusion", "No Finding"];
const PER_LABEL: usize = 100;
/// Requests the embed runs may keep in flight, and rows per request (the app's default).
const IN_FLIGHT: usize = 4;
const ROWS: usize = 8;

/// 300 distinct 24×24 gray PNGs in one folder per label, and a file that is not an
/// image; returns the corpus folder.
fn corpus(dir: &Path) -> PathBuf {
    let root = dir.join("corpus");
    for (l, label) in LABELS.iter().enumerate() {
        std::fs::create_dir_all(root.join(label)).unwrap();
        for i in 0..PER_LABEL {
            let n = (l * PER_LABEL + i) as u32;
            let img = image::GrayImage::from_fn(24, 24, |x, y| {
                image::Luma([((x * 7 + y * 3 + n * 13) % 251) as u8 ^ (n as u8)])
            });
            img.save(root.join(label).join(format!("img{i:03}.png")))
                .unwrap();
        }
    }
    std::fs::write(root.join("No Finding/notes.png"), "not an image").unwrap();
    root
}

fn python() -> String {
    std::env::var("MEDINSIGHT_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn embed(corpus: &Path, out: &Path, url: &str, labels: &Path, shard: usize) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_medinsight"));
    cmd.arg("embed")
        .arg(corpus)
        .arg("--out")
        .arg(out)
        .args(["--upstream", &format!("{url}/score")])
        .arg("--labels")
        .arg(labels)
        .args(["--shard", &format!("{shard}/3")])
        .args(["--max-in-flight", &IN_FLIGHT.to_string()])
        .env_remove("MEDINSIGHT_API_KEY");
    cmd
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stats(rt: &tokio::runtime::Runtime, url: &str) -> serde_json::Value {
    let body = rt.block_on(async {
        reqwest::get(format!("{url}/emulator/stats"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    serde_json::from_str(&body).unwrap()
}

/// Parts listed in a shard's manifest so far.
fn finished_parts(shard_dir: &Path) -> usize {
    std::fs::read_to_string(shard_dir.join("manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|m| m["parts"].as_array().map(Vec::len))
        .unwrap_or(0)
}

#[test]
fn three_shards_one_killed_and_resumed_merge_into_what_the_app_imports() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = corpus(tmp.path());
    let out = tmp.path().join("out");
    let labels = tmp.path().join("labels.txt");
    std::fs::write(&labels, "chest x-ray Atelectasis\n\nchest x-ray Effusion\n").unwrap();

    // The emulator with passing faults (retried) and a capacity of 3 (429s beyond).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = common::emulate_args(&[
        "--fault-rate",
        "0.15",
        "--faults",
        "500,503,malformed-json,reset,nan",
        "--max-in-flight",
        "3",
        "--latency-ms",
        "40",
        "--retry-after-secs",
        "0",
        "--seed",
        "7",
    ]);
    let url = rt.block_on(common::spawn(medinsight::emulate::app(&emulator).unwrap()));

    let mut finals = Vec::new();
    for shard in [0, 2] {
        finals.push(embed(&corpus, &out, &url, &labels, shard).output().unwrap());
    }
    // Shard 1: parts of 8 rows, killed once two are written.
    let shard1 = out.join(Shard { index: 1, count: 3 }.folder());
    let mut child = embed(&corpus, &out, &url, &labels, 1)
        .args(["--part-rows", "8", "--threads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while finished_parts(&shard1) < 2 && Instant::now() < deadline {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed midway"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let killed_at = finished_parts(&shard1);
    assert!(killed_at >= 2, "no part was written in time");

    // Without --resume the run refuses to touch what is there.
    let refused = embed(&corpus, &out, &url, &labels, 1).output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("--resume"), "{}", text(&refused));
    // A merge before the killed shard is finished is refused too, naming it.
    let early = Command::new(env!("CARGO_BIN_EXE_medinsight"))
        .arg("merge")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!early.status.success());
    assert!(text(&early).contains("--resume"), "{}", text(&early));

    let resumed = embed(&corpus, &out, &url, &labels, 1)
        .args(["--part-rows", "8", "--resume"])
        .output()
        .unwrap();
    let said = text(&resumed);
    let skipped: usize = said
        .split(" skipped")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!(skipped >= killed_at * 8, "{said}");
    finals.push(resumed);

    // Every run says what it did; the one file that is not an image failed, by kind.
    let failed: usize = finals
        .iter()
        .map(|o| {
            let t = text(o);
            assert!(t.contains("requests "), "{t}");
            t.lines()
                .find_map(|l| l.strip_prefix("failed "))
                .and_then(|n| n.trim().parse::<usize>().ok())
                .unwrap_or_else(|| panic!("{t}"))
        })
        .sum();
    assert_eq!(failed, 1);
    let junk_run = finals
        .iter()
        .find(|o| text(o).contains("not an image: 1"))
        .expect("the junk file's failure is reported by kind");
    assert_eq!(junk_run.status.code(), Some(1));

    let merged = Command::new(env!("CARGO_BIN_EXE_medinsight"))
        .arg("merge")
        .arg(&out)
        .output()
        .unwrap();
    assert!(merged.status.success(), "{}", text(&merged));
    assert!(text(&merged).contains("300 rows"), "{}", text(&merged));

    // numpy reads N × 1024 float32.
    let py = Command::new(python())
        .args([
            "-c",
            "import sys, numpy as np; a = np.load(sys.argv[1]); print(a.dtype, a.shape)",
        ])
        .arg(out.join("embeddings.npy"))
        .output()
        .unwrap_or_else(|e| panic!("could not run {} (run scripts/bootstrap): {e}", python()));
    assert_eq!(
        String::from_utf8_lossy(&py.stdout).trim(),
        "float32 (300, 1024)",
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );

    // The app's own import reads them: every image exactly once, labelled by its folder.
    let npy = std::fs::read(out.join("embeddings.npy")).unwrap();
    let tsv = std::fs::read_to_string(out.join("metadata.tsv")).unwrap();
    let images = import_vectors(&npy, &tsv).unwrap();
    let by_path: BTreeMap<&str, _> = images.iter().map(|i| (i.path.as_str(), i)).collect();
    assert_eq!(by_path.len(), images.len(), "a file appears twice");
    let expected: Vec<String> = LABELS
        .iter()
        .flat_map(|l| (0..PER_LABEL).map(move |i| format!("corpus/{l}/img{i:03}.png")))
        .collect();
    assert_eq!(
        by_path.keys().copied().collect::<Vec<_>>(),
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    for image in &images {
        assert_eq!(
            image.label,
            medinsight_core::ground_truth_of(&image.path),
            "{}",
            image.path
        );
    }
    let session = read(&std::fs::read_to_string(out.join("labels.json")).unwrap()).unwrap();
    let prompts: Vec<&str> = session.labels.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(prompts, ["chest x-ray Atelectasis", "chest x-ray Effusion"]);
    assert!(session.labels.iter().all(|l| l.vector.is_some()));
    assert!(session.scaling_factor.is_some());

    // The vectors the app gets: the core's pipeline with the app's defaults, embedded
    // by the same emulator (every 7th file, to keep the test quick in debug builds).
    let embedder = Embedder::new();
    for (n, path) in expected.iter().enumerate().step_by(7) {
        let file = tmp.path().join(path);
        let prepared = prepare(&std::fs::read(&file).unwrap(), PrepareOptions::default()).unwrap();
        let want = embedder.image_b64(&prepared.base64).unwrap();
        assert_eq!(
            by_path[path.as_str()].vector.as_deref(),
            Some(want.as_slice()),
            "file {n}: {path}"
        );
    }

    // The emulator embedded each image once (and the two prompts once per shard), plus
    // at most the requests the killed run had in flight.
    let stats = stats(&rt, &url);
    let rows = stats["rows_embedded"].as_u64().unwrap() as usize;
    let once = 300 + 3 * 2;
    assert!(
        (once..=once + IN_FLIGHT * ROWS).contains(&rows),
        "{rows} rows embedded; {stats}"
    );
    assert!(
        stats["faults"].as_u64().unwrap() > 0 && stats["throttled"].as_u64().unwrap() > 0,
        "the faults and the capacity were exercised: {stats}"
    );
}

#[test]
fn a_refused_key_stops_the_run_with_advice_and_the_right_key_resumes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("few");
    std::fs::create_dir_all(root.join("Edema")).unwrap();
    for i in 0..12u8 {
        image::GrayImage::from_fn(16, 16, |x, y| {
            image::Luma([(x as u8 * 9) ^ (y as u8 * 5) ^ i])
        })
        .save(root.join(format!("Edema/{i}.png")))
        .unwrap();
    }
    let out = tmp.path().join("out");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = common::emulate_args(&["--key", "right-key-4242"]);
    let url = rt.block_on(common::spawn(medinsight::emulate::app(&emulator).unwrap()));
    let run = |key: &str, resume: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_medinsight"));
        cmd.arg("embed")
            .arg(&root)
            .arg("--out")
            .arg(&out)
            .args(["--upstream", &format!("{url}/score")])
            .env("MEDINSIGHT_API_KEY", key);
        if resume {
            cmd.arg("--resume");
        }
        cmd.output().unwrap()
    };
    let refused = run("wrong-key-1717", false);
    let said = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(
        said.contains("stopped: the endpoint refused the key (401)")
            && said.contains("MEDINSIGHT_API_KEY")
            && said.contains("--resume"),
        "{said}"
    );
    assert!(!said.contains("wrong-key-1717"), "the key leaked: {said}");
    assert!(
        !out.join("embeddings.npy").exists(),
        "nothing merged from a stopped run"
    );
    let resumed = run("right-key-4242", true);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
    let npy = std::fs::read(out.join("embeddings.npy")).unwrap();
    let tsv = std::fs::read_to_string(out.join("metadata.tsv")).unwrap();
    let images = import_vectors(&npy, &tsv).unwrap();
    assert_eq!(images.len(), 12);
    assert!(images.iter().all(|i| i.label == "Edema"));
}
