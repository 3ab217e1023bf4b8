//! Writes the seed inputs of the `wire_response` and `import` targets with the core's
//! own serializers — the very bodies the emulator answers with, the very files the app
//! exports — so the fuzzer starts from inputs that reach deep into each parser instead
//! of guessing JSON. The `decode` seeds are files (see `scripts/fuzz`).
//!
//! Usage: `seeds OUT_DIR` writes `OUT_DIR/wire_response/*` and `OUT_DIR/import/*`.

use std::fs;
use std::path::Path;

use medinsight_core::endpoint::wire::{ResponseShape, ScalingFactor, ScoreResponse};
use medinsight_core::formats::npy::npy_f32;
use medinsight_core::formats::projector::projector_metadata;
use medinsight_core::formats::session::{SessionFile, SessionImage, SessionLabel};
use medinsight_core::settings::Settings;
use medinsight_core::EMBEDDING_DIM;
use medinsight_fuzz::{vectors_input, wire_request, wire_selector};

/// A vector of `dim` varied, finite values (seeded by `seed`).
fn vector(seed: usize, dim: usize) -> Vec<f32> {
    (0..dim)
        .map(|i| ((seed * 131 + i * 17) as f32 * 0.37).sin() * 0.05)
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    fs::write(dir.join(name), bytes)
}

fn wire_seeds(dir: &Path) -> std::io::Result<usize> {
    fs::create_dir_all(dir)?;
    let mut written = 0;
    for n in 1..=4 {
        for carries in 0..4 {
            // Dimensions 4, 8 and "any" for every request; 1024 (the model's) for a few,
            // since each such body is ~20 KB.
            for dimension in [0u8, 1, 2, 3] {
                if dimension == 3 && n > 1 {
                    continue;
                }
                // One request of each kind that asks for no scaling factor (bit 6).
                let no_scaling = if n == 2 && dimension == 0 { 0x40 } else { 0 };
                let selector = wire_selector(n, carries, dimension) | no_scaling;
                let (request, options) = wire_request(selector);
                let dim = options.dimension.unwrap_or(6);
                let mut k = 0;
                let mut next = || {
                    k += 1;
                    Some(vector(k + usize::from(selector), dim))
                };
                let response = ScoreResponse {
                    images: request
                        .rows
                        .iter()
                        .map(|r| r.image.as_ref().and_then(|_| next()))
                        .collect(),
                    texts: request
                        .rows
                        .iter()
                        .map(|r| r.text.as_ref().and_then(|_| next()))
                        .collect(),
                    scaling_factor: request
                        .wants_scaling_factor()
                        .then_some(ScalingFactor(4.516357898712158)),
                };
                for (shape, tag) in [
                    (ResponseShape::Rows, "rows"),
                    (ResponseShape::Columns, "columns"),
                ] {
                    let mut input = vec![selector];
                    input.extend_from_slice(response.to_body(shape).as_bytes());
                    write(dir, &format!("{tag}-{selector:02x}"), &input)?;
                    written += 1;
                }
            }
        }
    }
    // What the service says when it fails, and Python's non-finite words.
    let odd: [(&str, &str); 6] = [
        (
            "error-message",
            r#"{"message":"An unexpected error occurred in scoring script."}"#,
        ),
        (
            "error-object",
            r#"{"error":{"code":"UserError","message":"image column mixed"}}"#,
        ),
        ("error-string", r#""upstream request timeout""#),
        (
            "python-nan",
            r#"[{"image_features":[[0.1, NaN, -Infinity, Infinity]],"scaling_factor":4.5}]"#,
        ),
        (
            "positional",
            r#"{"image_features":[[0.1,0.2,0.3,0.4],null],"text_features":[null,[0.5,0.6,0.7,0.8]]}"#,
        ),
        (
            "escaped",
            r#"[{"image_features":[[1e-3,-2E+1,0,5]],"note":"NaN \"Infinity\" \u00e9"}]"#,
        ),
    ];
    for (name, body) in odd {
        let selector = if name == "positional" {
            wire_selector(2, 3, 0)
        } else {
            wire_selector(1, 0, 0)
        };
        let mut input = vec![selector];
        input.extend_from_slice(body.as_bytes());
        write(dir, name, &input)?;
        written += 1;
    }
    Ok(written)
}

fn import_seeds(dir: &Path) -> std::io::Result<usize> {
    fs::create_dir_all(dir)?;
    let images: Vec<SessionImage> = (0..3)
        .map(|i| SessionImage {
            name: format!("img{i}.png"),
            path: format!("Atelectasis/img{i}.png"),
            label: ["Atelectasis", "Normal", ""][i].into(),
            // One image not embedded yet: sessions hold those too.
            vector: (i < 2).then(|| vector(i, EMBEDDING_DIM)),
            source: None,
            window: None,
        })
        .collect();
    let labels = vec![
        SessionLabel {
            text: "a chest X-ray with atelectasis".into(),
            vector: Some(vector(7, EMBEDDING_DIM)),
        },
        SessionLabel {
            text: "a normal chest X-ray".into(),
            vector: None,
        },
    ];
    let session = SessionFile::new(Settings::default(), Some(4.5), images, labels);
    let empty = SessionFile::new(Settings::default(), None, vec![], vec![]);
    let mut written = 0;
    for (name, file) in [("session", &session), ("session-empty", &empty)] {
        let mut input = vec![0];
        input.extend_from_slice(file.to_json().as_bytes());
        write(dir, name, &input)?;
        written += 1;
    }
    // The `.npy` + TSV export of the same session, and the same with a `file_name`
    // header as Microsoft's notebooks write it.
    let (vectors, rows) = session.embedded_rows();
    let npy = npy_f32(&vectors);
    let tsv = projector_metadata(&["name", "label", "path"], &rows);
    write(dir, "vectors", &vectors_input(&npy, &tsv))?;
    let tsv = projector_metadata(&["file_name", "label"], &rows);
    write(dir, "vectors-file-name", &vectors_input(&npy, &tsv))?;
    // A small array of the wrong width: the width check, and a short file for the
    // fuzzer to grow.
    let narrow = npy_f32(&[vector(1, 4), vector(2, 4)]);
    write(
        dir,
        "vectors-narrow",
        &vectors_input(&narrow, "path\na/b.png\nc\\d.png\n"),
    )?;
    Ok(written + 3)
}

fn main() -> std::io::Result<()> {
    let Some(out) = std::env::args_os().nth(1) else {
        eprintln!("usage: seeds OUT_DIR");
        std::process::exit(2);
    };
    let out = Path::new(&out);
    let wire = wire_seeds(&out.join("wire_response"))?;
    let import = import_seeds(&out.join("import"))?;
    println!(
        "seeds: {wire} wire_response, {import} import inputs in {}",
        out.display()
    );
    Ok(())
}
