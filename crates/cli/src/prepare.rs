//! `medinsight prepare`: the browser's image pipeline on files, natively.
//!
//! Users run it to check what the model will see and to batch-prepare data; tests and
//! benchmarks run it too. For each input it writes `OUT/<file name>.png`, the exact PNG
//! the app would send, and prints one line: the output path with the source's metadata
//! and the window applied, or the error. Every file is attempted; the caller learns how
//! many failed (the exit status is 1 if any did).

use std::io::Write;
use std::path::{Path, PathBuf};

use medinsight_core::pipeline::{
    check_file_size, prepare, FileTooLarge, Fit, FrameChoice, Prepared, Windowing, MAX_FILE_BYTES,
};

use crate::cli::PrepareArgs;

#[derive(Debug, thiserror::Error)]
pub enum PrepareCliError {
    #[error("cannot create the output folder {path}: {source}")]
    OutDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Why a file's bytes were not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    TooLarge(#[from] FileTooLarge),
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
}

/// A file's bytes, refused before reading when it is over the app's limit
/// ([`MAX_FILE_BYTES`]): the command line and the browser read the same files.
pub fn read_file(path: &Path) -> Result<Vec<u8>, ReadError> {
    let size = std::fs::metadata(path)?.len();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    check_file_size(&name, size, MAX_FILE_BYTES)?;
    Ok(std::fs::read(path)?)
}

/// `--window`: `file`, `percentile:LOW,HIGH`, `minmax` or `manual:CENTER,WIDTH`.
pub fn parse_window(s: &str) -> Result<Windowing, String> {
    let pair = |rest: &str, what: &str| -> Result<(f64, f64), String> {
        let (a, b) = rest
            .split_once(',')
            .ok_or_else(|| format!("expected {what} as two numbers separated by a comma"))?;
        let num = |x: &str| {
            x.trim()
                .parse::<f64>()
                .map_err(|_| format!("{x:?} is not a number"))
        };
        Ok((num(a)?, num(b)?))
    };
    match s.split_once(':') {
        None if s == "microsoft" => Ok(Windowing::Microsoft),
        None if s == "file" => Ok(Windowing::FromFile),
        None if s == "minmax" => Ok(Windowing::MinMax),
        None if s == "percentile" => Ok(Windowing::MICROSOFT_PERCENTILES),
        Some(("percentile", rest)) => {
            let (low, high) = pair(rest, "LOW,HIGH")?;
            if !(0.0..=100.0).contains(&low) || !(0.0..=100.0).contains(&high) || low >= high {
                return Err("percentiles must satisfy 0 <= LOW < HIGH <= 100".into());
            }
            Ok(Windowing::Percentile {
                low: low as f32,
                high: high as f32,
            })
        }
        Some(("manual", rest)) => {
            let (center, width) = pair(rest, "CENTER,WIDTH")?;
            if width <= 0.0 {
                return Err("the window width must be positive".into());
            }
            Ok(Windowing::Manual { center, width })
        }
        _ => Err(format!(
            "{s:?}: expected microsoft, file, percentile:LOW,HIGH, minmax or manual:CENTER,WIDTH"
        )),
    }
}

/// `--frame`: `first`, `middle` or a 0-based index.
pub fn parse_frame(s: &str) -> Result<FrameChoice, String> {
    match s {
        "first" => Ok(FrameChoice::First),
        "middle" => Ok(FrameChoice::Middle),
        n => n
            .parse()
            .map(FrameChoice::Index)
            .map_err(|_| format!("{n:?}: expected first, middle or a frame number from 0")),
    }
}

/// `--fit`: `stretch` or `letterbox`.
pub fn parse_fit(s: &str) -> Result<Fit, String> {
    match s {
        "stretch" => Ok(Fit::Stretch),
        "letterbox" => Ok(Fit::Letterbox),
        _ => Err(format!("{s:?}: expected stretch or letterbox")),
    }
}

/// One line describing a prepared file.
pub fn describe(out: &Path, p: &Prepared) -> String {
    let s = &p.source;
    let mut parts = vec![format!("{} {}×{}", s.format, s.width, s.height)];
    if let Some(m) = &s.modality {
        parts.push(m.clone());
    }
    if let Some(b) = &s.body_part {
        parts.push(b.clone());
    }
    parts.push(format!("{}-bit", s.bits));
    if let Some(ph) = &s.photometric {
        parts.push(ph.clone());
    }
    if s.frames > 1 {
        parts.push(format!("frame {} of {}", s.frame, s.frames));
    }
    parts.push(p.window.to_string());
    parts.push(format!("{} channel(s), {} bytes", p.channels, p.png.len()));
    format!("{}  {}", out.display(), parts.join(", "))
}

/// Prepares every file, printing a line each; returns how many failed.
pub fn run(args: &PrepareArgs, mut lines: impl Write) -> Result<usize, PrepareCliError> {
    std::fs::create_dir_all(&args.out).map_err(|source| PrepareCliError::OutDir {
        path: args.out.clone(),
        source,
    })?;
    let options = args.preparation.options();
    let mut failed = 0;
    for file in &args.files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let out = args.out.join(format!("{name}.png"));
        let result = read_file(file)
            .map_err(|e| e.to_string())
            .and_then(|bytes| prepare(&bytes, options).map_err(|e| e.to_string()))
            .and_then(|p| {
                std::fs::write(&out, &p.png)
                    .map(|_| p)
                    .map_err(|e| format!("cannot write {}: {e}", out.display()))
            });
        let line = match result {
            Ok(p) => describe(&out, &p),
            Err(e) => {
                failed += 1;
                format!("error: {}: {e}", file.display())
            }
        };
        let _ = writeln!(lines, "{line}");
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_refused_unread_with_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("scan.dcm");
        // Sparse: the length is claimed, no byte is written.
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        drop(f);
        let e = read_file(&big).unwrap_err();
        assert!(matches!(e, ReadError::TooLarge(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "scan.dcm is 1.1 GB; files over 1 GiB are not read"
        );
        let small = dir.path().join("small.png");
        std::fs::write(&small, b"abc").unwrap();
        assert_eq!(read_file(&small).unwrap(), b"abc");
        let missing = read_file(&dir.path().join("gone.png")).unwrap_err();
        assert!(
            missing.to_string().starts_with("cannot read it: "),
            "{missing}"
        );
    }

    #[test]
    fn window_flags_parse() {
        assert_eq!(parse_window("file"), Ok(Windowing::FromFile));
        assert_eq!(parse_window("microsoft"), Ok(Windowing::Microsoft));
        assert_eq!(parse_window("minmax"), Ok(Windowing::MinMax));
        assert_eq!(
            parse_window("percentile:0.5,99.5"),
            Ok(Windowing::Percentile {
                low: 0.5,
                high: 99.5
            })
        );
        assert_eq!(
            parse_window("manual:-600,1500"),
            Ok(Windowing::Manual {
                center: -600.0,
                width: 1500.0
            })
        );
        assert!(parse_window("percentile:99,1")
            .unwrap_err()
            .contains("LOW < HIGH"));
        assert!(parse_window("manual:40")
            .unwrap_err()
            .contains("CENTER,WIDTH"));
        assert!(parse_window("hu")
            .unwrap_err()
            .contains("expected microsoft, file"));
    }

    #[test]
    fn frame_and_fit_flags_parse() {
        assert_eq!(parse_frame("middle"), Ok(FrameChoice::Middle));
        assert_eq!(parse_frame("7"), Ok(FrameChoice::Index(7)));
        assert!(parse_frame("-1").is_err());
        assert_eq!(parse_fit("letterbox"), Ok(Fit::Letterbox));
        assert!(parse_fit("crop").is_err());
    }
}
