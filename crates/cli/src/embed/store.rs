//! A shard's folder on disk, written so that a run killed at any moment loses at most
//! the requests it had in flight:
//!
//! - `journal.jsonl`: every answered batch's rows (metadata and vector), appended and
//!   flushed as the answer arrives; a line cut short by a kill is ignored on reading.
//! - `part-NNNNN.npy` + `part-NNNNN.tsv`: every `--part-rows` rows of the journal
//!   become a part, each file written to a temporary name and renamed, so a part is
//!   whole or absent; then `manifest.json` (also renamed into place) lists it, then the
//!   journal starts over. A part not in the manifest is not one (rewritten next time).
//! - `labels.json`: the prompts with their vectors and the scaling factor, a session
//!   file the app imports.
//! - `failed.tsv`: the files of the last run that failed, with the reason.
//!
//! What is done is known by file identity (path, size, modification time: see
//! `walk::Found::identity`), from the finished parts and the journal, so `--resume`
//! skips it without reading a file.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use medinsight_core::formats::npy::npy_f32;
use medinsight_core::formats::projector::projector_metadata;
use medinsight_core::pipeline::PrepareOptions;
use serde::{Deserialize, Serialize};

/// The metadata columns of every part and of the merged `metadata.tsv`: the app's
/// three (`name`, `label`, `path`) first, then what was prepared and how, and the file's
/// size and modification time (its identity for `--resume`).
pub const COLUMNS: [&str; 10] = [
    "name",
    "label",
    "path",
    "study_uid",
    "series_uid",
    "modality",
    "window",
    "fingerprint",
    "size",
    "mtime_ns",
];
/// Where in [`COLUMNS`] the path, size and modification time are.
const PATH: usize = 2;
const SIZE: usize = 8;
const MTIME: usize = 9;

pub const MANIFEST: &str = "manifest.json";
pub const LABELS: &str = "labels.json";
const JOURNAL: &str = "journal.jsonl";
pub const FAILED: &str = "failed.tsv";

/// One embedded file: its metadata row in [`COLUMNS`] order, and its vector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub meta: Vec<String>,
    pub vector: Vec<f32>,
}

impl Row {
    pub fn identity(&self) -> String {
        identity_of(&self.meta)
    }
}

fn identity_of(meta: &[String]) -> String {
    let get = |i: usize| meta.get(i).map_or("", String::as_str);
    format!("{}\t{}\t{}", get(PATH), get(SIZE), get(MTIME))
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// `I/N`.
    pub shard: String,
    /// How images were prepared: a resumed run must prepare them the same way.
    pub options: PrepareOptions,
    /// Finished parts, in order: (name without extension, rows).
    pub parts: Vec<(String, usize)>,
    /// Whether the last run attempted every file of the shard (failures included).
    pub complete: bool,
}

pub const MANIFEST_FORMAT: &str = "medinsight-embed-shard";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not a manifest of `medinsight embed` (or a damaged one): {1}")]
    Manifest(PathBuf, String),
    #[error("{0} already holds a run; pass --resume to continue it, or choose another --out")]
    Exists(PathBuf),
    #[error("{path} was written with other preparation options ({theirs}); resume with the same --window, --frame and --fit, or choose another --out")]
    OtherOptions { path: PathBuf, theirs: String },
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` whole or not at all: a temporary file, then a rename.
/// The journal started over with `rows`, open for appending. Written whole and renamed
/// into place, so a kill at any moment leaves either the old journal or the new one,
/// never an empty one in between (the answered rows not yet in a part live only there).
fn fresh_journal(path: &Path, rows: &[Row]) -> Result<BufWriter<File>, StoreError> {
    let mut text = String::new();
    for row in rows {
        text.push_str(&serde_json::to_string(row).expect("a row always serialises"));
        text.push('\n');
    }
    write_atomically(path, text.as_bytes())?;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(write_err(path))?;
    Ok(BufWriter::new(file))
}

pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(write_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(write_err(path))
}

pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>, StoreError> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StoreError::Read { path, source }),
    };
    let m: Manifest = serde_json::from_str(&text)
        .map_err(|e| StoreError::Manifest(path.clone(), e.to_string()))?;
    if m.format != MANIFEST_FORMAT {
        return Err(StoreError::Manifest(path, format!("format {:?}", m.format)));
    }
    Ok(Some(m))
}

/// A shard's folder, open for writing.
pub struct Store {
    dir: PathBuf,
    manifest: Manifest,
    /// Rows answered since the last part, also in the journal.
    pending: Vec<Row>,
    journal: BufWriter<File>,
    part_rows: usize,
    /// Identities of everything embedded (parts and journal).
    done: HashSet<String>,
}

impl Store {
    /// Opens (or creates) the shard folder `dir`. An existing run is continued only
    /// with `resume`, and only with the same options.
    pub fn open(
        dir: &Path,
        shard: &str,
        options: PrepareOptions,
        part_rows: usize,
        resume: bool,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(write_err(dir))?;
        let journal_path = dir.join(JOURNAL);
        let existing = read_manifest(dir)?;
        let has_journal = journal_path.metadata().is_ok_and(|m| m.len() > 0);
        if (existing.is_some() || has_journal) && !resume {
            return Err(StoreError::Exists(dir.to_path_buf()));
        }
        let manifest = match existing {
            Some(m) if m.options != options => {
                return Err(StoreError::OtherOptions {
                    path: dir.to_path_buf(),
                    theirs: format!("{:?}", m.options),
                })
            }
            Some(m) => m,
            None => Manifest {
                format: MANIFEST_FORMAT.into(),
                version: 1,
                shard: shard.into(),
                options,
                parts: vec![],
                complete: false,
            },
        };
        let mut done = HashSet::new();
        for (name, _) in &manifest.parts {
            let tsv = dir.join(format!("{name}.tsv"));
            let text = std::fs::read_to_string(&tsv).map_err(|source| StoreError::Read {
                path: tsv.clone(),
                source,
            })?;
            for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
                let meta: Vec<String> = line.split('\t').map(str::to_string).collect();
                done.insert(identity_of(&meta));
            }
        }
        // The journal's whole lines are answers not yet in a part (unless a kill fell
        // between writing a part and starting the journal over).
        let mut pending = Vec::new();
        if let Ok(file) = File::open(&journal_path) {
            for line in BufReader::new(file).lines() {
                let Ok(line) = line else { break };
                let Ok(row) = serde_json::from_str::<Row>(&line) else {
                    break;
                };
                if done.insert(row.identity()) {
                    pending.push(row);
                }
            }
        }
        let mut store = Self {
            dir: dir.to_path_buf(),
            manifest,
            pending: Vec::new(),
            journal: fresh_journal(&journal_path, &pending)?,
            part_rows: part_rows.max(1),
            done,
        };
        store.pending = pending;
        store.manifest.complete = false;
        store.roll(false)?;
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the file of this identity is embedded already.
    pub fn is_done(&self, identity: &str) -> bool {
        self.done.contains(identity)
    }

    /// Rows embedded in this shard so far.
    pub fn rows(&self) -> usize {
        self.manifest.parts.iter().map(|p| p.1).sum::<usize>() + self.pending.len()
    }

    fn append_journal(&mut self, rows: &[Row]) -> Result<(), StoreError> {
        let path = self.dir.join(JOURNAL);
        for row in rows {
            let line = serde_json::to_string(row).expect("a row always serialises");
            writeln!(self.journal, "{line}").map_err(write_err(&path))?;
        }
        self.journal.flush().map_err(write_err(&path))
    }

    /// Records an answered batch: in the journal at once, in a part when one is full.
    pub fn add(&mut self, rows: Vec<Row>) -> Result<(), StoreError> {
        self.append_journal(&rows)?;
        for r in &rows {
            self.done.insert(r.identity());
        }
        self.pending.extend(rows);
        self.roll(false)
    }

    /// Writes full parts (and with `all`, the last partial one).
    fn roll(&mut self, all: bool) -> Result<(), StoreError> {
        let mut wrote = false;
        while self.pending.len() >= self.part_rows || (all && !self.pending.is_empty()) {
            let take = self.pending.len().min(self.part_rows);
            let rows: Vec<Row> = self.pending.drain(..take).collect();
            let name = format!("part-{:05}", self.manifest.parts.len());
            let vectors: Vec<&[f32]> = rows.iter().map(|r| r.vector.as_slice()).collect();
            let meta: Vec<Vec<String>> = rows.iter().map(|r| r.meta.clone()).collect();
            write_atomically(&self.dir.join(format!("{name}.npy")), &npy_f32(&vectors))?;
            write_atomically(
                &self.dir.join(format!("{name}.tsv")),
                projector_metadata(&COLUMNS, &meta).as_bytes(),
            )?;
            self.manifest.parts.push((name, rows.len()));
            self.write_manifest()?;
            wrote = true;
        }
        if wrote {
            // What is left (less than a part) goes back into a fresh journal.
            self.journal = fresh_journal(&self.dir.join(JOURNAL), &self.pending)?;
        }
        Ok(())
    }

    fn write_manifest(&self) -> Result<(), StoreError> {
        let json = serde_json::to_string_pretty(&self.manifest).expect("a manifest serialises");
        write_atomically(&self.dir.join(MANIFEST), json.as_bytes())
    }

    /// Ends the run: the last rows as a part, the journal emptied, `complete` noted.
    pub fn finish(mut self, complete: bool) -> Result<(), StoreError> {
        self.roll(true)?;
        self.manifest.complete = complete;
        self.write_manifest()?;
        drop(self.journal);
        let path = self.dir.join(JOURNAL);
        std::fs::write(&path, b"").map_err(write_err(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: usize) -> Row {
        let mut meta: Vec<String> = COLUMNS.iter().map(|c| format!("{c}{i}")).collect();
        meta[PATH] = format!("d/{i}.png");
        Row {
            meta,
            vector: vec![i as f32; 4],
        }
    }

    #[test]
    fn a_killed_run_keeps_every_answered_row_and_resumes_only_with_resume() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("shard");
        let options = PrepareOptions::default();
        let mut s = Store::open(&d, "0/1", options, 3, false).unwrap();
        s.add(vec![row(0), row(1)]).unwrap();
        s.add(vec![row(2), row(3)]).unwrap();
        // A kill now: one part of 3 written, row 3 only in the journal, plus a torn line.
        drop(s);
        let mut j = std::fs::OpenOptions::new()
            .append(true)
            .open(d.join(JOURNAL))
            .unwrap();
        j.write_all(b"{\"meta\":[\"torn").unwrap();
        let m = read_manifest(&d).unwrap().unwrap();
        assert_eq!(m.parts, [("part-00000".to_string(), 3)]);
        assert!(matches!(
            Store::open(&d, "0/1", options, 3, false),
            Err(StoreError::Exists(_))
        ));
        let other = PrepareOptions {
            fit: medinsight_core::pipeline::Fit::Letterbox,
            ..options
        };
        assert!(matches!(
            Store::open(&d, "0/1", other, 3, true),
            Err(StoreError::OtherOptions { .. })
        ));
        let s = Store::open(&d, "0/1", options, 3, true).unwrap();
        for i in 0..4 {
            assert!(s.is_done(&row(i).identity()), "{i}");
        }
        assert!(!s.is_done(&row(4).identity()));
        assert_eq!(s.rows(), 4);
        s.finish(true).unwrap();
        let m = read_manifest(&d).unwrap().unwrap();
        assert!(m.complete);
        assert_eq!(m.parts.iter().map(|p| p.1).collect::<Vec<_>>(), [3, 1]);
        let npy = std::fs::read(d.join("part-00001.npy")).unwrap();
        assert_eq!(
            medinsight_core::formats::npy::read_npy(&npy).unwrap(),
            [vec![3.0; 4]]
        );
    }
}
