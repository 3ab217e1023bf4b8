//! Pseudonyms for what identifies a patient in an export: file names and folder paths
//! (which often hold a patient's name or ID) and DICOM Study/Series Instance UIDs
//! (quasi-identifiers a hospital can look up). Every export the app writes goes through
//! [`Pseudonymiser::session`] (and [`Pseudonymiser::zero_shot`]) when the user keeps the
//! export panel's option on, its default.
//!
//! A pseudonym is a keyed hash, HMAC-SHA-256 (RFC 2104, RustCrypto's `hmac` and `sha2`,
//! pure Rust and built for wasm32 as for the host), of the UTF-8 text under a
//! [`PseudonymKey`] of 32 random bytes the app makes once per session and never exports:
//! - a file name becomes `img-` and the first 16 hex digits (64 bits) of the MAC of the
//!   whole name, then the name's extension when it is a known image extension
//!   (`.dcm`, `.png`…, lower-cased), because it says how to read the file and nothing
//!   about whom; any other "extension" (`Doe.John`) is dropped with the name;
//! - a path keeps its separators, each folder becomes `dir-…` and the last part the
//!   file name's pseudonym, so grouping by folder still works and a path still ends with
//!   its name;
//! - a UID becomes `uid-…`.
//!
//! Same key, same pseudonym: the rows of the session JSON, the TSVs and the CSVs of one
//! session match, and so do two exports of it. Another key (after "Clear session") gives
//! other pseudonyms, so two sessions cannot be joined on them. 64 bits make a collision
//! among a million names about one in 40 million. Anyone holding the key could test
//! guesses, which is why it stays in the browser; without it the pseudonyms say nothing.
//! HMAC rather than `blake3::keyed_hash`: both are well kept and build for wasm32, but
//! HMAC-SHA-256 is what every language's standard library computes (Python's `hmac`,
//! `openssl dgst -hmac`), so a user holding the key can recompute a pseudonym by hand,
//! and `sha2` is already in the workspace's tree.
//!
//! A text that already is a pseudonym of its kind passes unchanged: a pseudonymised
//! session imported back keeps its pseudonyms as its names, and exporting it again gives
//! the same rows rather than pseudonyms of pseudonyms.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::session::{SessionFile, SessionImage};
use super::zero_shot::ZeroShotRow;

/// Bytes of a key.
pub const KEY_BYTES: usize = 32;
/// Hex digits of a pseudonym's hash part (64 bits).
pub const DIGITS: usize = 16;

/// Extensions kept on a file's pseudonym: the image formats the app reads.
const KEPT_EXTENSIONS: [&str; 12] = [
    "png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff", "webp", "dcm", "dicom", "dic", "ima",
];

/// The session's secret: 32 random bytes. Its `Debug` does not show them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PseudonymKey([u8; KEY_BYTES]);

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(…)")
    }
}

impl PseudonymKey {
    /// A key from random bytes (the caller draws them: the core has no random source).
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        Self(bytes)
    }

    /// The key as 64 lower-case hex digits, to keep in the browser.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A key kept by [`to_hex`](Self::to_hex); `None` for anything else (an edited or
    /// damaged entry is replaced, never half-used).
    pub fn from_hex(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() != 2 * KEY_BYTES || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; KEY_BYTES];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(bytes))
    }
}

/// Turns names, paths and UIDs into pseudonyms under one key.
#[derive(Clone)]
pub struct Pseudonymiser {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymiser(…)")
    }
}

impl Pseudonymiser {
    pub fn new(key: &PseudonymKey) -> Self {
        Self {
            // HMAC takes a key of any length; 32 bytes is never refused.
            mac: Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC accepts any key length"),
        }
    }

    /// `prefix` and the first [`DIGITS`] hex digits of the MAC of `text`.
    fn hashed(&self, prefix: &str, text: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(text.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(prefix.len() + DIGITS);
        out.push_str(prefix);
        for b in &digest[..DIGITS / 2] {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// A file name's pseudonym: `img-<16 hex>` and, if it is an image format's, the
    /// extension. "" stays "" (there is nothing to hide).
    pub fn file_name(&self, name: &str) -> String {
        if name.is_empty() || is_pseudonym(name, "img-", true) {
            return name.to_string();
        }
        let mut out = self.hashed("img-", name);
        if let Some(ext) = kept_extension(name) {
            out.push('.');
            out.push_str(&ext);
        }
        out
    }

    /// A folder name's pseudonym: `dir-<16 hex>`.
    pub fn folder(&self, folder: &str) -> String {
        if folder.is_empty() || is_pseudonym(folder, "dir-", false) {
            return folder.to_string();
        }
        self.hashed("dir-", folder)
    }

    /// A path's pseudonym: separators (`/` or `\`) kept, every folder through
    /// [`folder`](Self::folder), the last part through [`file_name`](Self::file_name).
    pub fn path(&self, path: &str) -> String {
        let parts: Vec<&str> = path.split(['/', '\\']).collect();
        let last = parts.len() - 1;
        let mut out = String::with_capacity(path.len() + 24);
        let mut rest = path;
        for (i, part) in parts.iter().enumerate() {
            out.push_str(&if i == last {
                self.file_name(part)
            } else {
                self.folder(part)
            });
            rest = &rest[part.len()..];
            // The separator that followed this part, as it was.
            if let Some(sep) = rest.chars().next() {
                out.push(sep);
                rest = &rest[sep.len_utf8()..];
            }
        }
        out
    }

    /// A DICOM UID's pseudonym: `uid-<16 hex>`.
    pub fn uid(&self, uid: &str) -> String {
        if uid.is_empty() || is_pseudonym(uid, "uid-", false) {
            return uid.to_string();
        }
        self.hashed("uid-", uid)
    }

    /// One image with its name, path and UIDs pseudonymised; its label, vector and
    /// everything else as they are.
    pub fn image(&self, mut image: SessionImage) -> SessionImage {
        image.name = self.file_name(&image.name);
        image.path = self.path(&image.path);
        if let Some(s) = image.source.as_mut() {
            s.study_uid = s.study_uid.as_deref().map(|u| self.uid(u));
            s.series_uid = s.series_uid.as_deref().map(|u| self.uid(u));
        }
        image
    }

    /// The session with every image through [`image`](Self::image) (taken by value: its
    /// vectors are moved, not copied). Labels (ground truth) and prompts stay as they
    /// are: they are the classes the analyses compare, and a zero-shot table whose ground
    /// truth no longer matched its prompts would be useless.
    pub fn session(&self, mut session: SessionFile) -> SessionFile {
        session.images = std::mem::take(&mut session.images)
            .into_iter()
            .map(|i| self.image(i))
            .collect();
        session
    }

    /// Zero-shot rows with their file names pseudonymised (as in the session's images).
    pub fn zero_shot(&self, rows: Vec<ZeroShotRow>) -> Vec<ZeroShotRow> {
        rows.into_iter()
            .map(|r| ZeroShotRow {
                file_name: self.file_name(&r.file_name),
                ..r
            })
            .collect()
    }
}

/// The extension of `name`, lower-cased, if it is one of [`KEPT_EXTENSIONS`].
fn kept_extension(name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    (!stem.is_empty() && KEPT_EXTENSIONS.contains(&ext.as_str())).then_some(ext)
}

/// Whether `text` is `prefix`, [`DIGITS`] lower-case hex digits and (for file names) a
/// kept extension: what this module writes.
fn is_pseudonym(text: &str, prefix: &str, extension: bool) -> bool {
    let Some(rest) = text.strip_prefix(prefix) else {
        return false;
    };
    let (digits, ext) = match rest.split_once('.') {
        Some((d, e)) if extension => (d, Some(e)),
        Some(_) => return false,
        None => (rest, None),
    };
    digits.len() == DIGITS
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && ext.is_none_or(|e| KEPT_EXTENSIONS.contains(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn key(seed: u8) -> PseudonymKey {
        PseudonymKey::from_bytes(std::array::from_fn(|i| seed.wrapping_mul(31) ^ i as u8))
    }

    #[test]
    fn same_key_same_pseudonym_other_key_other_pseudonym() {
        let (a, b) = (Pseudonymiser::new(&key(1)), Pseudonymiser::new(&key(2)));
        let name = "Doe_Jane_PID998877.dcm";
        assert_eq!(a.file_name(name), a.file_name(name));
        assert_eq!(
            Pseudonymiser::new(&key(1)).file_name(name),
            a.file_name(name)
        );
        assert_ne!(a.file_name(name), b.file_name(name));
        assert_ne!(a.uid("1.2.3.4"), b.uid("1.2.3.4"));
        assert_ne!(a.folder("Doe Jane"), b.folder("Doe Jane"));
        assert_ne!(a.file_name("a.png"), a.file_name("b.png"));
    }

    #[test]
    fn pseudonyms_have_their_prefix_64_bits_and_only_a_known_extension() {
        let p = Pseudonymiser::new(&key(7));
        let n = p.file_name("Doe_Jane.DCM");
        assert!(n.starts_with("img-") && n.ends_with(".dcm"), "{n}");
        assert_eq!(n.len(), 4 + DIGITS + 4);
        // A dot in a name is not an extension to keep.
        let dotted = p.file_name("Doe.John");
        assert!(
            !dotted.contains("John") && !dotted.contains('.'),
            "{dotted}"
        );
        assert_eq!(p.file_name(".png").len(), 4 + DIGITS);
        assert!(p.folder("Ward 3").starts_with("dir-"));
        let u = p.uid("1.2.826.0.1.3680043.8.498.1");
        assert!(u.starts_with("uid-") && u.len() == 4 + DIGITS, "{u}");
        assert_eq!(p.file_name(""), "");
        assert_eq!(p.uid(""), "");
    }

    #[test]
    fn the_hash_is_hmac_sha256_as_any_tool_computes_it() {
        // Python: hmac.new(bytes(range(32)), b"Doe_Jane.dcm", "sha256").hexdigest()[:16]
        let p = Pseudonymiser::new(&PseudonymKey::from_bytes(std::array::from_fn(|i| i as u8)));
        assert_eq!(p.file_name("Doe_Jane.dcm"), "img-a041c4cd00a42442.dcm");
    }

    #[test]
    fn no_collisions_among_100_000_names() {
        let p = Pseudonymiser::new(&key(3));
        let names: HashSet<String> = (0..100_000)
            .map(|i| p.file_name(&format!("patient{i:06}.png")))
            .collect();
        assert_eq!(names.len(), 100_000);
    }

    #[test]
    fn a_path_keeps_its_shape_and_ends_with_its_names_pseudonym() {
        let p = Pseudonymiser::new(&key(4));
        let path = p.path("Doe Jane/Study 2024/Effusion/img1.png");
        let parts: Vec<&str> = path.split('/').collect();
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[3], p.file_name("img1.png"));
        assert_eq!(parts[0], p.folder("Doe Jane"));
        assert!(!path.contains("Doe") && !path.contains("2024") && !path.contains("img1"));
        // Same folder, same pseudonym: grouping by folder still works.
        let other = p.path("Doe Jane/Study 2024/Effusion/img2.png");
        assert_eq!(
            path.rsplit_once('/').unwrap().0,
            other.rsplit_once('/').unwrap().0
        );
        // Separators as they were, empty parts kept.
        let windows = p.path("c:\\Doe\\x.png");
        assert_eq!(
            windows,
            format!(
                "{}\\{}\\{}",
                p.folder("c:"),
                p.folder("Doe"),
                p.file_name("x.png")
            )
        );
        assert_eq!(p.path("/a/"), format!("/{}/", p.folder("a")));
        assert_eq!(p.path(""), "");
        assert_eq!(p.path("x.png"), p.file_name("x.png"));
    }

    #[test]
    fn pseudonymising_twice_changes_nothing_even_under_another_key() {
        let (a, b) = (Pseudonymiser::new(&key(5)), Pseudonymiser::new(&key(6)));
        for name in ["Doe.dcm", "Doe", "x.PNG"] {
            let once = a.file_name(name);
            assert_eq!(a.file_name(&once), once);
            assert_eq!(b.file_name(&once), once);
        }
        let path = a.path("Doe/Effusion/x.png");
        assert_eq!(b.path(&path), path);
        let uid = a.uid("1.2.3");
        assert_eq!(b.uid(&uid), uid);
        // Only the exact shape passes: a look-alike is hashed.
        assert_ne!(a.file_name("img-0123"), "img-0123");
        assert_ne!(a.uid("uid-0123456789abcdeF"), "uid-0123456789abcdeF");
        assert_ne!(
            a.folder("dir-0123456789abcdef.png"),
            "dir-0123456789abcdef.png"
        );
    }

    #[test]
    fn keys_round_trip_through_hex_and_damaged_ones_are_refused() {
        let k = key(9);
        assert_eq!(PseudonymKey::from_hex(&k.to_hex()), Some(k));
        assert_eq!(k.to_hex().len(), 64);
        assert_eq!(PseudonymKey::from_hex(""), None);
        assert_eq!(PseudonymKey::from_hex(&k.to_hex()[..62]), None);
        assert_eq!(PseudonymKey::from_hex(&"zz".repeat(32)), None);
        assert_eq!(PseudonymKey::from_hex(&"é".repeat(32)), None);
        assert!(!format!("{k:?}").contains(&k.to_hex()[..8]));
    }
}
