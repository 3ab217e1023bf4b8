//! `medinsight generate`: a synthetic session of N images, seeded and deterministic,
//! for the scale benchmark and the end-to-end tests at N = 2 000 (issue 12).
//!
//! Real datasets cannot ship with the repository and the emulator's vectors have no
//! cluster structure worth measuring, so the data is made here: `k` clusters of 1024-d
//! unit vectors around centres that share a common direction (real embeddings all
//! correlate, at cosines around 0.3–0.5), each cluster named by a ChestX-ray14 finding
//! and its images grouped into studies of one to four images under a `2.25.` UID (the
//! DICOM form derived from a number); a few outliers point nowhere near any centre. Each
//! label also gets a text vector near its centre and the session a scaling factor, so
//! zero-shot has something to score.
//!
//! What is written is read back by the app's own imports, unchanged: `vectors.npy` +
//! `metadata.tsv` (the "Import vectors" pair, read by `formats::session::import_vectors`;
//! its extra columns `study_uid` and `role` are ignored by the app and there for the
//! tests), `labels.json` (a session file with the labels, their vectors and the scaling
//! factor and no images, for "Import session"), optionally `session.json` (everything
//! in one session file) and `images/<label>/<study>/<name>` (64×64 grayscale PNGs whose
//! pattern depends on the cluster). Same flags, same bytes: the random stream is
//! ChaCha8 from `--seed`, consumed in a fixed order, and the PNG encoder is
//! deterministic.

use std::io::Write;
use std::path::{Path, PathBuf};

use image::ImageEncoder as _;
use medinsight_core::formats::npy::npy_f32;
use medinsight_core::formats::projector::projector_metadata;
use medinsight_core::formats::session::{SessionFile, SessionImage, SessionLabel};
use medinsight_core::settings::Settings;
use medinsight_core::EMBEDDING_DIM;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::cli::GenerateArgs;

/// Cluster names: ChestX-ray14's fourteen findings and its "No Finding", in its order;
/// clusters beyond them are "Finding 16", "Finding 17", ….
pub const FINDINGS: [&str; 15] = [
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Pleural_Thickening",
    "Hernia",
    "No Finding",
];

/// The columns of `metadata.tsv`: the app's three (`name`, `label`, `path`), then the
/// study UID and whether the row is a cluster member or an outlier.
pub const COLUMNS: [&str; 5] = ["name", "label", "path", "study_uid", "role"];

/// The endpoint's `scaling_factor` written with the labels: a log-temperature close to
/// what MedImageInsight returns (e^4.5 ≈ 90).
pub const SCALING_FACTOR: f64 = 4.5;

/// Side of the generated PNGs.
pub const IMAGE_SIDE: u32 = 64;

/// Spread of the images around their centre: `normalise(centre + SPREAD·g)` with `g` a
/// Gaussian vector of norm ≈ 1, so an image sits at cosine ≈ 1/√(1 + SPREAD²) ≈ 0.8 from
/// its centre and two images of one cluster at ≈ 0.64.
const SPREAD: f64 = 0.75;
/// Spread of a label's text vector around its cluster's centre (cosine ≈ 0.7).
const TEXT_SPREAD: f64 = 1.0;
/// How much of every centre is the shared direction: centres are
/// `normalise(SHARED·m + r_j)`, at cosine ≈ SHARED² / (1 + SHARED²) = 0.5 from each other.
const SHARED: f64 = 1.0;

/// What to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    pub n: usize,
    pub seed: u64,
    pub clusters: usize,
    pub outliers: usize,
}

impl Spec {
    /// `n` images in `clusters` clusters, one in a hundred of them an outlier.
    pub fn new(n: usize, seed: u64, clusters: usize) -> Self {
        Self {
            n,
            seed,
            clusters,
            outliers: n / 100,
        }
    }
}

/// One generated image.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticImage {
    pub name: String,
    pub label: String,
    /// `<label>/<study UID>/<name>`: the folder is the study, as in a DICOM export.
    pub path: String,
    pub study_uid: String,
    /// The cluster it was drawn around, or `None` for an outlier (which still carries a
    /// cluster's label, as a mislabelled or odd image would).
    pub cluster: Option<usize>,
    /// Unit length, [`EMBEDDING_DIM`] values.
    pub vector: Vec<f32>,
}

/// A whole synthetic session.
#[derive(Clone, Debug, PartialEq)]
pub struct Synthetic {
    pub spec: Spec,
    /// One name per cluster.
    pub label_names: Vec<String>,
    pub images: Vec<SyntheticImage>,
    /// One prompt per cluster (`x-ray chest <label>`), with its text vector.
    pub labels: Vec<SessionLabel>,
    pub scaling_factor: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("--n must be at least 1")]
    NoImages,
    #[error("--clusters must be at least 1")]
    NoClusters,
    #[error("--outliers {outliers} is more than the {n} images")]
    TooManyOutliers { outliers: usize, n: usize },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the PNG of {name}: {message}")]
    Png { name: String, message: String },
}

/// The name of cluster `j`.
pub fn label_name(j: usize) -> String {
    FINDINGS
        .get(j)
        .map_or_else(|| format!("Finding {}", j + 1), |f| f.to_string())
}

/// A Gaussian vector scaled to norm ≈ 1 (each value N(0, 1/1024)).
fn gaussian(rng: &mut ChaCha8Rng) -> Vec<f64> {
    let scale = 1.0 / (EMBEDDING_DIM as f64).sqrt();
    (0..EMBEDDING_DIM)
        .map(|_| rng.sample::<f64, _>(StandardNormal) * scale)
        .collect()
}

/// `v` scaled to unit length. In f64, rounded once to f32 at the end, so the vectors
/// written are unit length to f32 precision.
fn unit(v: Vec<f64>) -> Vec<f64> {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

/// `a + t·b`, normalised.
fn unit_sum(a: &[f64], t: f64, b: &[f64]) -> Vec<f64> {
    unit(a.iter().zip(b).map(|(x, y)| x + t * y).collect())
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// A `2.25.<decimal>` UID (DICOM PS3.5 B.2: a UUID as one integer), at most 44 characters.
fn study_uid(rng: &mut ChaCha8Rng) -> String {
    format!("2.25.{}", rng.random::<u128>())
}

/// Makes the session `spec` describes. Pure and deterministic: the same spec gives the
/// same session, value for value.
pub fn synthesize(spec: Spec) -> Result<Synthetic, GenerateError> {
    if spec.n == 0 {
        return Err(GenerateError::NoImages);
    }
    if spec.clusters == 0 {
        return Err(GenerateError::NoClusters);
    }
    if spec.outliers > spec.n {
        return Err(GenerateError::TooManyOutliers {
            outliers: spec.outliers,
            n: spec.n,
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let k = spec.clusters;
    let shared = gaussian(&mut rng);
    let centres: Vec<Vec<f64>> = (0..k)
        .map(|_| unit_sum(&gaussian(&mut rng), SHARED, &shared))
        .collect();
    // Unequal cluster sizes, so that filtering by label gives different counts.
    let weights: Vec<f64> = (0..k).map(|_| rng.random_range(0.5..1.5)).collect();
    let total: f64 = weights.iter().sum();
    let outliers: std::collections::HashSet<usize> =
        rand::seq::index::sample(&mut rng, spec.n, spec.outliers)
            .into_iter()
            .collect();
    let label_names: Vec<String> = (0..k).map(label_name).collect();
    // Each cluster's open study and how many more images it takes.
    let mut open: Vec<Option<(String, u32)>> = vec![None; k];
    let images = (0..spec.n)
        .map(|i| {
            let name = format!("syn-{i:06}.png");
            let (cluster, label_of, vector, study) = if outliers.contains(&i) {
                let label_of = rng.random_range(0..k);
                let v = unit(gaussian(&mut rng));
                (None, label_of, v, study_uid(&mut rng))
            } else {
                let mut pick = rng.random_range(0.0..total);
                let j = weights
                    .iter()
                    .position(|&w| {
                        pick -= w;
                        pick < 0.0
                    })
                    .unwrap_or(k - 1);
                let v = unit_sum(&centres[j], SPREAD, &gaussian(&mut rng));
                let study = match open[j].take() {
                    Some((uid, left)) if left > 0 => {
                        open[j] = Some((uid.clone(), left - 1));
                        uid
                    }
                    _ => {
                        let uid = study_uid(&mut rng);
                        open[j] = Some((uid.clone(), rng.random_range(0..4)));
                        uid
                    }
                };
                (Some(j), j, v, study)
            };
            let label = label_names[label_of].clone();
            SyntheticImage {
                path: format!("{label}/{study}/{name}"),
                name,
                label,
                study_uid: study,
                cluster,
                vector: to_f32(&vector),
            }
        })
        .collect();
    let labels = centres
        .iter()
        .zip(&label_names)
        .map(|(c, l)| SessionLabel {
            text: format!("x-ray chest {l}"),
            vector: Some(to_f32(&unit_sum(c, TEXT_SPREAD, &gaussian(&mut rng)))),
        })
        .collect();
    Ok(Synthetic {
        spec,
        label_names,
        images,
        labels,
        scaling_factor: SCALING_FACTOR,
    })
}

impl Synthetic {
    /// The vectors as the app's `.npy` export writes them (float32, N × 1024).
    pub fn npy(&self) -> Vec<u8> {
        let rows: Vec<&[f32]> = self.images.iter().map(|i| i.vector.as_slice()).collect();
        npy_f32(&rows)
    }

    /// The metadata TSV in [`COLUMNS`] order.
    pub fn metadata_tsv(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .images
            .iter()
            .map(|i| {
                let role = if i.cluster.is_some() {
                    "cluster"
                } else {
                    "outlier"
                };
                vec![
                    i.name.clone(),
                    i.label.clone(),
                    i.path.clone(),
                    i.study_uid.clone(),
                    role.to_string(),
                ]
            })
            .collect();
        projector_metadata(&COLUMNS, &rows)
    }

    /// A session file with the labels, their vectors and the scaling factor, no images.
    pub fn labels_session(&self) -> SessionFile {
        SessionFile::new(
            Settings::default(),
            Some(self.scaling_factor),
            vec![],
            self.labels.clone(),
        )
    }

    /// The whole session in one file: images with their vectors, labels, scaling factor.
    pub fn session(&self) -> SessionFile {
        let images = self
            .images
            .iter()
            .map(|i| SessionImage {
                name: i.name.clone(),
                path: i.path.clone(),
                label: i.label.clone(),
                vector: Some(i.vector.clone()),
                ..Default::default()
            })
            .collect();
        SessionFile {
            images,
            ..self.labels_session()
        }
    }

    /// Image `i` as a 64×64 grayscale PNG: stripes whose angle and frequency depend on the
    /// cluster (a checkerboard for an outlier), with a phase, brightness and noise of its
    /// own, drawn from a stream of its own so that images can be made in any order.
    pub fn png(&self, i: usize) -> Result<Vec<u8>, GenerateError> {
        let image = &self.images[i];
        let mut rng = ChaCha8Rng::seed_from_u64(self.spec.seed);
        rng.set_stream(i as u64 + 1);
        let phase: f64 = rng.random_range(0.0..std::f64::consts::TAU);
        let brightness: f64 = rng.random_range(90.0..160.0);
        let side = f64::from(IMAGE_SIDE);
        let pixels: Vec<u8> = (0..IMAGE_SIDE * IMAGE_SIDE)
            .map(|p| {
                let (col, row) = (p % IMAGE_SIDE, p / IMAGE_SIDE);
                let (x, y) = (f64::from(col), f64::from(row));
                let base = match image.cluster {
                    Some(j) => {
                        let angle = std::f64::consts::PI * j as f64 / self.spec.clusters as f64;
                        let cycles = 2.0 + (j % 4) as f64;
                        let along = x * angle.cos() + y * angle.sin();
                        brightness
                            + 70.0 * (std::f64::consts::TAU * cycles * along / side + phase).sin()
                    }
                    None if (col / 8 + row / 8).is_multiple_of(2) => 230.0,
                    None => 25.0,
                };
                let noise = 12.0 * rng.sample::<f64, _>(StandardNormal);
                (base + noise).round().clamp(0.0, 255.0) as u8
            })
            .collect();
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(
                &pixels,
                IMAGE_SIDE,
                IMAGE_SIDE,
                image::ExtendedColorType::L8,
            )
            .map_err(|e| GenerateError::Png {
                name: image.name.clone(),
                message: e.to_string(),
            })?;
        Ok(png)
    }

    /// How many images carry each label, in label order.
    pub fn label_counts(&self) -> Vec<(String, usize)> {
        self.label_names
            .iter()
            .map(|l| {
                (
                    l.clone(),
                    self.images.iter().filter(|i| &i.label == l).count(),
                )
            })
            .collect()
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), GenerateError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| GenerateError::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, bytes).map_err(|source| GenerateError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The files of `synthetic` under `out` (see the module's documentation); returns the
/// paths written, images excluded.
pub fn write_files(
    synthetic: &Synthetic,
    out: &Path,
    session: bool,
    images: bool,
) -> Result<Vec<PathBuf>, GenerateError> {
    let mut files = vec![
        (out.join("vectors.npy"), synthetic.npy()),
        (
            out.join("metadata.tsv"),
            synthetic.metadata_tsv().into_bytes(),
        ),
        (
            out.join("labels.json"),
            synthetic.labels_session().to_json().into_bytes(),
        ),
    ];
    if session {
        files.push((
            out.join("session.json"),
            synthetic.session().to_json().into_bytes(),
        ));
    }
    for (path, bytes) in &files {
        write(path, bytes)?;
    }
    if images {
        for (i, image) in synthetic.images.iter().enumerate() {
            write(&out.join("images").join(&image.path), &synthetic.png(i)?)?;
        }
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

/// `medinsight generate`: makes the session, writes it, and prints what was written and
/// how many images each label has.
pub fn run(args: &GenerateArgs, mut report: impl Write) -> Result<(), GenerateError> {
    let spec = Spec {
        outliers: args.outliers.unwrap_or(args.n / 100),
        ..Spec::new(args.n, args.seed, args.clusters)
    };
    let synthetic = synthesize(spec)?;
    let written = write_files(&synthetic, &args.out, args.session, args.images)?;
    let stdout = |e| GenerateError::Write {
        path: "standard output".into(),
        source: e,
    };
    for path in written {
        writeln!(report, "wrote {}", path.display()).map_err(stdout)?;
    }
    if args.images {
        writeln!(
            report,
            "wrote {} PNGs ({IMAGE_SIDE}×{IMAGE_SIDE}) under {}",
            spec.n,
            args.out.join("images").display()
        )
        .map_err(stdout)?;
    }
    writeln!(report, "label\timages").map_err(stdout)?;
    for (label, count) in synthetic.label_counts() {
        writeln!(report, "{label}\t{count}").map_err(stdout)?;
    }
    writeln!(report, "(of which outliers)\t{}", spec.outliers).map_err(stdout)?;
    Ok(())
}
