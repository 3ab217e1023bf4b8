//! The files to embed: each input folder walked in name order, each file with the path
//! the app would give it (the folder's own name first: `Chest/Atelectasis/img1.png`) and
//! its ground truth, the folder it sits in — the app's rule, from the core.
//!
//! Hidden files and folders (a leading `.`: `.DS_Store`, `.git`) are skipped, symbolic
//! links are not followed (a link loop cannot make the walk endless).

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use walkdir::WalkDir;

/// One file found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub file: PathBuf,
    /// `/`-separated, starting with the input folder's name.
    pub path: String,
    pub label: String,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (0 when unknown).
    pub mtime_ns: u64,
}

impl Found {
    /// What a finished part remembers of the file, to skip it on `--resume`: its path,
    /// size and modification time (no need to read a file to know it is done; a file
    /// changed since is embedded again, and the merge keeps the newer row).
    pub fn identity(&self) -> String {
        identity(&self.path, self.size, self.mtime_ns)
    }
}

/// The path as a part's TSV keeps it (tabs and line breaks made spaces), so a file
/// read back from a finished part is known again on `--resume`, whatever its name.
pub fn identity(path: &str, size: u64, mtime_ns: u64) -> String {
    let path = medinsight_core::formats::projector::tsv_field(path);
    format!("{path}\t{size}\t{mtime_ns}")
}

#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{0} has no name to start the files' paths with; name the folder itself (e.g. ../{{name}})"
    )]
    Unnamed(PathBuf),
    #[error("two inputs are both named {0:?}: their files' paths (and labels) would clash; give each a distinct folder name")]
    SameName(String),
}

/// Every file under `inputs`, sorted by path.
pub fn walk(inputs: &[PathBuf]) -> Result<Vec<Found>, WalkError> {
    let mut found = Vec::new();
    let mut roots: Vec<String> = Vec::new();
    for input in inputs {
        let absolute = std::path::absolute(input).map_err(|source| WalkError::Io {
            path: input.clone(),
            source,
        })?;
        let canonical = absolute.canonicalize().unwrap_or(absolute);
        let root = canonical
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| WalkError::Unnamed(input.clone()))?;
        if roots.contains(&root) {
            return Err(WalkError::SameName(root));
        }
        roots.push(root.clone());
        let walker = WalkDir::new(&canonical)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker {
            let entry = entry.map_err(|e| WalkError::Io {
                path: e.path().map_or_else(|| input.clone(), Path::to_path_buf),
                source: e.into(),
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let relative = entry
                .path()
                .strip_prefix(&canonical)
                .unwrap_or(entry.path());
            let mut path = root.clone();
            for part in relative.components() {
                path.push('/');
                path.push_str(&part.as_os_str().to_string_lossy());
            }
            let meta = entry.metadata().map_err(|e| WalkError::Io {
                path: entry.path().to_path_buf(),
                source: e.into(),
            })?;
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as u64);
            found.push(Found {
                file: entry.path().to_path_buf(),
                label: medinsight_core::ground_truth_of(&path),
                path,
                size: meta.len(),
                mtime_ns,
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_a_tab_or_line_break_is_known_again_from_its_part() {
        for name in ["scan\t2.png", "scan\n2.png", "scan\r\n2.png"] {
            let kept = medinsight_core::formats::projector::tsv_field(name);
            assert_eq!(identity(name, 10, 20), identity(&kept, 10, 20), "{name:?}");
        }
    }

    #[test]
    fn paths_start_with_the_folder_and_labels_are_the_parent_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("Chest");
        std::fs::create_dir_all(root.join("Atelectasis")).unwrap();
        std::fs::create_dir_all(root.join(".cache")).unwrap();
        std::fs::write(root.join("Atelectasis/b.png"), b"b").unwrap();
        std::fs::write(root.join("Atelectasis/.DS_Store"), b"x").unwrap();
        std::fs::write(root.join(".cache/c.png"), b"c").unwrap();
        std::fs::write(root.join("top.png"), b"t").unwrap();
        let found = walk(std::slice::from_ref(&root)).unwrap();
        let got: Vec<(&str, &str, u64)> = found
            .iter()
            .map(|f| (f.path.as_str(), f.label.as_str(), f.size))
            .collect();
        assert_eq!(
            got,
            [
                ("Chest/Atelectasis/b.png", "Atelectasis", 1),
                ("Chest/top.png", "Chest", 1)
            ]
        );
        let twice = walk(&[root.clone(), root]).unwrap_err();
        assert!(
            twice.to_string().contains("both named \"Chest\""),
            "{twice}"
        );
    }
}
