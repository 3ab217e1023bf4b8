//! `medinsight generate` as the benchmark and the end-to-end tests run it: the files it
//! writes are read back by the core's own readers (the ones the app's imports call), the
//! same seed gives the same bytes, and the vectors have the structure promised (clusters,
//! outliers, text vectors near their cluster).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Command;

use medinsight::generate::{synthesize, Spec, COLUMNS, IMAGE_SIDE, SCALING_FACTOR};
use medinsight_core::analysis::evaluation::prompt_for;
use medinsight_core::formats::projector::read_metadata;
use medinsight_core::formats::session;
use medinsight_core::EMBEDDING_DIM;

fn generate(out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_medinsight"))
        .arg("generate")
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn read(path: impl AsRef<Path>) -> Vec<u8> {
    std::fs::read(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

/// Every file under `dir`, by path relative to it, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, read(&path));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

#[test]
fn the_files_import_with_the_apps_own_readers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("synthetic");
    let output = generate(
        &out,
        &[
            "--n",
            "300",
            "--seed",
            "7",
            "--clusters",
            "5",
            "--images",
            "--session",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();

    // "Import vectors": the .npy and its metadata, as the app reads them.
    let tsv = String::from_utf8(read(out.join("metadata.tsv"))).unwrap();
    let images = session::import_vectors(&read(out.join("vectors.npy")), &tsv).unwrap();
    assert_eq!(images.len(), 300);
    let names: HashSet<&str> = images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names.len(), 300, "names are unique");
    for i in &images {
        let v = i.vector.as_ref().unwrap();
        assert_eq!(v.len(), EMBEDDING_DIM);
        let norm = dot(v, v).sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{}: norm {norm}", i.name);
    }
    let (header, rows) = read_metadata(&tsv).unwrap();
    assert_eq!(header, COLUMNS.map(String::from).to_vec());
    assert_eq!(
        rows.iter().filter(|r| r[4] == "outlier").count(),
        3,
        "N / 100 outliers"
    );
    assert!(rows.iter().all(|r| r[4] == "cluster" || r[4] == "outlier"));

    // Five labels, and the counts printed are the counts in the file.
    let mut counts = BTreeMap::<&str, usize>::new();
    for i in &images {
        *counts.entry(i.label.as_str()).or_default() += 1;
    }
    assert_eq!(counts.len(), 5, "{counts:?}");
    for (label, n) in &counts {
        assert!(
            stdout.contains(&format!("\n{label}\t{n}\n")),
            "{label} {n} in {stdout}"
        );
    }

    // Paths are label / study / name, the study a 2.25 UID shared by 1–4 images.
    let mut per_study = BTreeMap::<&str, usize>::new();
    for (image, row) in images.iter().zip(&rows) {
        let study = row[3].as_str();
        assert!(study.starts_with("2.25.") && study.len() <= 64, "{study}");
        assert!(study[5..].bytes().all(|b| b.is_ascii_digit()), "{study}");
        assert_eq!(
            image.path,
            format!("{}/{study}/{}", image.label, image.name)
        );
        *per_study.entry(study).or_default() += 1;
    }
    assert!(
        per_study.values().all(|&n| (1..=4).contains(&n)),
        "{per_study:?}"
    );
    assert!(
        per_study.values().any(|&n| n > 1),
        "some studies hold several images"
    );

    // "Import session": the labels with their vectors and the scaling factor.
    let labels = session::read(&String::from_utf8(read(out.join("labels.json"))).unwrap()).unwrap();
    assert!(labels.images.is_empty());
    assert_eq!(labels.scaling_factor, Some(SCALING_FACTOR));
    assert_eq!(labels.labels.len(), 5);
    assert!(labels
        .labels
        .iter()
        .all(|l| l.vector.as_ref().is_some_and(|v| v.len() == EMBEDDING_DIM)));
    // Each ground truth has exactly one prompt standing for it, as zero-shot's
    // evaluation matches them.
    let prompts: Vec<String> = labels.labels.iter().map(|l| l.text.clone()).collect();
    for truth in counts.keys() {
        assert!(
            prompt_for(truth, &prompts).is_some(),
            "{truth} in {prompts:?}"
        );
    }
    // The whole session in one file holds the same images.
    let whole = session::read(&String::from_utf8(read(out.join("session.json"))).unwrap()).unwrap();
    assert_eq!(whole.images, images);
    assert_eq!(whole.labels, labels.labels);

    // One PNG per image, 64×64 grayscale, at images/<path>.
    let files = tree(&out.join("images"));
    assert_eq!(files.len(), 300);
    let png = &files[&images[0].path];
    let decoded = image::load_from_memory(png).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (IMAGE_SIDE, IMAGE_SIDE)
    );
    assert_eq!(decoded.color(), image::ColorType::L8);
}

#[test]
fn the_same_seed_writes_the_same_bytes_and_another_seed_other_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--n", "120", "--clusters", "3", "--images", "--session"];
    for (name, seed) in [("a", "5"), ("b", "5"), ("c", "6")] {
        let output = generate(
            &dir.path().join(name),
            &[&flags[..], &["--seed", seed]].concat(),
        );
        assert!(output.status.success(), "{output:?}");
    }
    let (a, b, c) = (
        tree(&dir.path().join("a")),
        tree(&dir.path().join("b")),
        tree(&dir.path().join("c")),
    );
    assert_eq!(a.len(), 4 + 120);
    assert!(a == b, "same seed, different files");
    assert_ne!(a["vectors.npy"], c["vectors.npy"]);
}

#[test]
fn clusters_outliers_and_text_vectors_have_the_promised_structure() {
    let s = synthesize(Spec::new(1_000, 3, 6)).unwrap();
    assert_eq!(s.images.len(), 1_000);
    let members: Vec<_> = s.images.iter().filter(|i| i.cluster.is_some()).collect();
    let outliers: Vec<_> = s.images.iter().filter(|i| i.cluster.is_none()).collect();
    assert_eq!(outliers.len(), 10);
    // Every member carries its cluster's label.
    assert!(members
        .iter()
        .all(|i| i.label == s.label_names[i.cluster.unwrap()]));

    let (mut same, mut other) = ((0.0, 0), (0.0, 0));
    for (a, x) in members.iter().enumerate().step_by(7) {
        for y in members.iter().skip(a + 1).step_by(5) {
            let c = dot(&x.vector, &y.vector);
            if x.cluster == y.cluster {
                same = (same.0 + c, same.1 + 1);
            } else {
                other = (other.0 + c, other.1 + 1);
            }
        }
    }
    let (same, other) = (same.0 / f64::from(same.1), other.0 / f64::from(other.1));
    assert!(
        same > 0.55 && other < 0.45 && same - other > 0.2,
        "{same} vs {other}"
    );

    // An outlier is far from everything: its nearest member is farther than any member's.
    let nearest = |x: &[f32]| {
        members
            .iter()
            .map(|m| dot(x, &m.vector))
            .filter(|&c| c < 0.999_999)
            .fold(f64::MIN, f64::max)
    };
    let outlying = outliers
        .iter()
        .map(|o| nearest(&o.vector))
        .fold(f64::MIN, f64::max);
    let closest_member = members
        .iter()
        .take(50)
        .map(|m| nearest(&m.vector))
        .fold(f64::MAX, f64::min);
    assert!(outlying < closest_member, "{outlying} vs {closest_member}");

    // Each member's nearest text vector is its own cluster's label.
    let right = members
        .iter()
        .filter(|m| {
            let best = (0..s.labels.len())
                .max_by(|&a, &b| {
                    let v = |j: usize| dot(&m.vector, s.labels[j].vector.as_ref().unwrap());
                    v(a).total_cmp(&v(b))
                })
                .unwrap();
            Some(best) == m.cluster
        })
        .count();
    assert!(
        right * 100 >= members.len() * 95,
        "{right} of {}",
        members.len()
    );
}

#[test]
fn impossible_requests_are_refused_with_the_flag_named() {
    let dir = tempfile::tempdir().unwrap();
    let zero = generate(&dir.path().join("z"), &["--n", "0"]);
    assert!(!zero.status.success());
    assert!(String::from_utf8_lossy(&zero.stderr).contains("--n must be at least 1"));
    let many = generate(&dir.path().join("m"), &["--n", "10", "--outliers", "11"]);
    assert!(!many.status.success());
    assert!(
        String::from_utf8_lossy(&many.stderr).contains("--outliers 11 is more than the 10 images")
    );
    assert!(!dir.path().join("z").exists() && !dir.path().join("m").exists());
}
