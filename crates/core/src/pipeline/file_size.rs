//! The largest file the app reads, checked from the size the browser (or the file
//! system) reports before a byte is read.
//!
//! Why a limit: a file is read whole into a worker's wasm heap, whose 32-bit address
//! space ends at 4 GiB and which also holds the decoded frame; a file over 1 GiB is
//! not an image this tool can prepare anyway (the pixel budget of [`super::decode`]
//! caps a frame at 256 MiB of samples), and reading it could only end in an
//! out-of-memory crash. Refusing it by its size costs nothing and says why.

use serde::{Deserialize, Serialize};

/// Files larger than this are not read: 1 GiB.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// A file refused for its size, before it was read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{name} is {}; files over {} are not read", decimal(*.bytes), binary(*.limit))]
pub struct FileTooLarge {
    pub name: String,
    pub bytes: u64,
    pub limit: u64,
}

/// `Ok` when a file of `bytes` named `name` may be read under `limit`.
pub fn check_file_size(name: &str, bytes: u64, limit: u64) -> Result<(), FileTooLarge> {
    if bytes > limit {
        return Err(FileTooLarge {
            name: name.to_string(),
            bytes,
            limit,
        });
    }
    Ok(())
}

/// A file's size as file managers show it: decimal units, one decimal under 100.
fn decimal(bytes: u64) -> String {
    const UNITS: [(&str, f64); 4] = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    let b = bytes as f64;
    for (unit, size) in UNITS {
        if b >= size {
            let v = b / size;
            return if v < 100.0 {
                format!("{v:.1} {unit}")
            } else {
                format!("{v:.0} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

/// A limit in the binary unit it is a whole number of ("1 GiB"), else in bytes.
fn binary(bytes: u64) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_refused_by_name_with_both_sizes() {
        let bytes = 1_300_000_000;
        let err = check_file_size("scan.dcm", bytes, MAX_FILE_BYTES).unwrap_err();
        assert_eq!(
            err.to_string(),
            "scan.dcm is 1.3 GB; files over 1 GiB are not read"
        );
        assert_eq!(
            check_file_size("huge.tif", 250_000_000_000, MAX_FILE_BYTES)
                .unwrap_err()
                .to_string(),
            "huge.tif is 250 GB; files over 1 GiB are not read"
        );
        assert_eq!(
            check_file_size("a.png", 1500, 1000)
                .unwrap_err()
                .to_string(),
            "a.png is 1.5 kB; files over 1000 bytes are not read"
        );
        assert_eq!(
            check_file_size("a.png", 3 << 20, 2 << 20)
                .unwrap_err()
                .to_string(),
            "a.png is 3.1 MB; files over 2 MiB are not read"
        );
    }

    #[test]
    fn a_file_at_or_under_the_limit_is_read() {
        assert_eq!(
            check_file_size("x.dcm", MAX_FILE_BYTES, MAX_FILE_BYTES),
            Ok(())
        );
        assert_eq!(check_file_size("x.dcm", 0, MAX_FILE_BYTES), Ok(()));
        assert!(check_file_size("x.dcm", MAX_FILE_BYTES + 1, MAX_FILE_BYTES).is_err());
    }
}
