//! What the fuzz targets and their seed generator (`src/seeds.rs`) must agree on: how a
//! target's input bytes are split into the arguments of the function under test.
//! Kept in one place so that a seed written by the generator reaches the code it was
//! written for.

use medinsight_core::endpoint::wire::{ParseOptions, Row, ScoreRequest};

/// The request and parse options that the `wire_response` target's selector byte
/// stands for. Bits 0–1: 1 to 4 rows. Bits 2–3: what the rows carry (image, text,
/// both; 3 = a different kind per row, which the app never sends but the parser must
/// survive). Bits 4–5: the dimension demanded: 4, 8, none (all must agree), 1024.
/// Bit 6: the request says it wants no scaling factor. Bit 7 is the target's own (the
/// model's reason given to `failure_message`).
pub fn wire_request(selector: u8) -> (ScoreRequest, ParseOptions) {
    let n = usize::from(selector & 3) + 1;
    let carries = (selector >> 2) & 3;
    let rows = (0..n)
        .map(
            |i| match if carries == 3 { i % 3 } else { carries.into() } {
                0 => Row::image("iVBORw0KGgo="),
                1 => Row::text("a chest X-ray"),
                _ => Row {
                    image: Some("iVBORw0KGgo=".into()),
                    text: Some("a chest X-ray".into()),
                },
            },
        )
        .collect();
    let dimension = [Some(4), Some(8), None, Some(1024)][usize::from((selector >> 4) & 3)];
    let request = ScoreRequest {
        rows,
        get_scaling_factor: Some(selector & 0x40 == 0),
    };
    (request, ParseOptions { dimension })
}

/// The selector that stands for `n` rows (1–4) carrying `carries` (0 image, 1 text,
/// 2 both, 3 mixed) checked at dimension index `dimension` (see [`wire_request`]).
pub fn wire_selector(n: usize, carries: u8, dimension: u8) -> u8 {
    (n as u8 - 1) & 3 | (carries & 3) << 2 | (dimension & 3) << 4
}

/// The `import` target's input: a tag byte, then either a session file (even tag) or an
/// `.npy` and its metadata TSV (odd tag), the `.npy`'s length in the two bytes after
/// the tag (little-endian; longer than the rest means all of it).
pub enum ImportInput<'a> {
    Session(&'a [u8]),
    Vectors { npy: &'a [u8], tsv: &'a [u8] },
}

pub fn import_input(data: &[u8]) -> Option<ImportInput<'_>> {
    let (&tag, rest) = data.split_first()?;
    if tag % 2 == 0 {
        return Some(ImportInput::Session(rest));
    }
    let (len, rest) = rest.split_first_chunk::<2>()?;
    let (npy, tsv) = rest.split_at(usize::from(u16::from_le_bytes(*len)).min(rest.len()));
    Some(ImportInput::Vectors { npy, tsv })
}

/// The `import` input of an `.npy` and its TSV (the inverse of [`import_input`]).
pub fn vectors_input(npy: &[u8], tsv: &str) -> Vec<u8> {
    let len = u16::try_from(npy.len()).expect("seed .npy under 64 KiB");
    let mut out = vec![1];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(npy);
    out.extend_from_slice(tsv.as_bytes());
    out
}
