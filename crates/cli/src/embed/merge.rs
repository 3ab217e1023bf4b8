//! `medinsight merge OUT`: the shards of `embed --shard I/N` runs joined into what the
//! app imports and numpy reads — `OUT/embeddings.npy` (float32, N × 1024),
//! `OUT/metadata.tsv` (a header, then one row per vector: `store::COLUMNS`) and
//! `OUT/labels.json` (the prompts' vectors and the scaling factor, a session file).
//!
//! Every shard must be there and finished (its last run attempted all its files): a
//! merge of a corpus with a hole in it would look complete. Rows come in shard then
//! part order; a file embedded twice (changed between a run and its resume) keeps its
//! newest row. Vectors are streamed part by part, so memory holds one part, not the
//! corpus. Each output is written to a temporary name and renamed.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use medinsight_core::formats::projector::{projector_metadata, read_metadata};
use medinsight_core::EMBEDDING_DIM;

use super::store::{self, read_manifest, Manifest, StoreError, COLUMNS, LABELS};

pub const EMBEDDINGS: &str = "embeddings.npy";
pub const METADATA: &str = "metadata.tsv";

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{0} holds no shard folders (shard-I-of-N); run `medinsight embed --out {0}` first")]
    NoShards(PathBuf),
    #[error("{out} holds shards of {a} and of {b} runs; keep one split per --out")]
    MixedCounts { out: PathBuf, a: usize, b: usize },
    #[error("shard(s) {missing:?} of {count} are missing under {out}: run `medinsight embed --shard I/{count}` for each")]
    Missing {
        out: PathBuf,
        missing: Vec<usize>,
        count: usize,
    },
    #[error("{0} is not finished (its run stopped before every file was tried): run it again with --resume")]
    Unfinished(PathBuf),
    #[error("{path} is damaged: {reason}; delete the shard's folder and run it again")]
    Damaged { path: PathBuf, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a merge wrote.
#[derive(Debug)]
pub struct Merged {
    pub out: PathBuf,
    pub rows: usize,
    pub shards: usize,
    pub labels: bool,
}

impl fmt::Display for Merged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "merged {} shard(s): {} rows in {} and {}{}",
            self.shards,
            self.rows,
            self.out.join(EMBEDDINGS).display(),
            self.out.join(METADATA).display(),
            if self.labels {
                format!(", labels in {}", self.out.join(LABELS).display())
            } else {
                String::new()
            }
        )
    }
}

/// `shard-IIII-of-NNNN` → (I, N).
fn shard_of(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix("shard-")?;
    let (i, n) = rest.split_once("-of-")?;
    Some((i.parse().ok()?, n.parse().ok()?))
}

fn damaged(path: &Path, reason: impl Into<String>) -> MergeError {
    MergeError::Damaged {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The finished shards under `out`, in order, checked complete.
fn shards(out: &Path) -> Result<Vec<(PathBuf, Manifest)>, MergeError> {
    let entries = std::fs::read_dir(out).map_err(|source| StoreError::Read {
        path: out.to_path_buf(),
        source,
    })?;
    let mut found: Vec<(usize, usize, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let (i, n) = shard_of(&e.file_name().to_string_lossy())?;
            Some((i, n, e.path()))
        })
        .collect();
    found.sort();
    let count = found
        .first()
        .ok_or(MergeError::NoShards(out.to_path_buf()))?
        .1;
    if let Some(other) = found.iter().find(|s| s.1 != count) {
        return Err(MergeError::MixedCounts {
            out: out.to_path_buf(),
            a: count,
            b: other.1,
        });
    }
    let missing: Vec<usize> = (0..count)
        .filter(|i| !found.iter().any(|s| s.0 == *i))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            out: out.to_path_buf(),
            missing,
            count,
        });
    }
    let mut shards = Vec::new();
    for (_, _, dir) in found {
        let manifest = read_manifest(&dir)?
            .filter(|m| m.complete)
            .ok_or_else(|| MergeError::Unfinished(dir.clone()))?;
        shards.push((dir, manifest));
    }
    Ok(shards)
}

/// Joins the shards under `out` (see the module's documentation).
pub fn merge(out: &Path) -> Result<Merged, MergeError> {
    let shards = shards(out)?;
    // First the metadata (small): which row of which part survives.
    let mut parts: Vec<(PathBuf, Vec<Vec<String>>)> = Vec::new();
    let mut newest: HashMap<String, (usize, usize)> = HashMap::new();
    for (dir, manifest) in &shards {
        for (name, rows) in &manifest.parts {
            let path = dir.join(format!("{name}.tsv"));
            let text = std::fs::read_to_string(&path).map_err(|source| StoreError::Read {
                path: path.clone(),
                source,
            })?;
            let (_, meta) = read_metadata(&text).map_err(|e| damaged(&path, e.to_string()))?;
            if meta.len() != *rows {
                return Err(damaged(
                    &path,
                    format!("{} rows, the manifest says {rows}", meta.len()),
                ));
            }
            for (r, m) in meta.iter().enumerate() {
                newest.insert(m.get(2).cloned().unwrap_or_default(), (parts.len(), r));
            }
            parts.push((dir.join(format!("{name}.npy")), meta));
        }
    }
    let keep = |p: usize, r: usize, meta: &[String]| {
        newest.get(meta.get(2).map_or("", String::as_str)) == Some(&(p, r))
    };
    let total = newest.len();
    // Then the vectors, streamed part by part into one array.
    let npy_path = out.join(EMBEDDINGS);
    let tmp = npy_path.with_extension("tmp");
    let write_err = |source| StoreError::Write {
        path: tmp.clone(),
        source,
    };
    {
        use npyz::WriterBuilder;
        let file = BufWriter::new(File::create(&tmp).map_err(write_err)?);
        let mut writer = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&[total as u64, EMBEDDING_DIM as u64])
            .writer(file)
            .begin_nd()
            .map_err(write_err)?;
        for (p, (npy, meta)) in parts.iter().enumerate() {
            let file = File::open(npy).map_err(|source| StoreError::Read {
                path: npy.clone(),
                source,
            })?;
            let array = npyz::NpyFile::new(BufReader::new(file))
                .map_err(|e| damaged(npy, e.to_string()))?;
            if array.shape() != [meta.len() as u64, EMBEDDING_DIM as u64] {
                return Err(damaged(npy, format!("shape {:?}", array.shape())));
            }
            let mut values = array
                .data::<f32>()
                .map_err(|e| damaged(npy, e.to_string()))?;
            for (r, m) in meta.iter().enumerate() {
                let row: Vec<f32> = values
                    .by_ref()
                    .take(EMBEDDING_DIM)
                    .collect::<Result<_, _>>()
                    .map_err(|e| damaged(npy, e.to_string()))?;
                if keep(p, r, m) {
                    writer.extend(row).map_err(write_err)?;
                }
            }
        }
        writer.finish().map_err(write_err)?;
    }
    std::fs::rename(&tmp, &npy_path).map_err(|source| StoreError::Write {
        path: npy_path.clone(),
        source,
    })?;
    let rows: Vec<Vec<String>> = parts
        .iter()
        .enumerate()
        .flat_map(|(p, (_, meta))| {
            meta.iter()
                .enumerate()
                .filter(move |(r, m)| keep(p, *r, m))
                .map(|(_, m)| m.clone())
        })
        .collect();
    store::write_atomically(
        &out.join(METADATA),
        projector_metadata(&COLUMNS, &rows).as_bytes(),
    )?;
    // Every shard embedded the same prompts; the first one's are taken.
    let labels = shards
        .iter()
        .map(|(dir, _)| dir.join(LABELS))
        .find(|p| p.exists());
    if let Some(labels) = &labels {
        let bytes = std::fs::read(labels).map_err(|source| StoreError::Read {
            path: labels.clone(),
            source,
        })?;
        store::write_atomically(&out.join(LABELS), &bytes)?;
    }
    Ok(Merged {
        out: out.to_path_buf(),
        rows: total,
        shards: shards.len(),
        labels: labels.is_some(),
    })
}
