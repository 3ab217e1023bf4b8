//! The pure-Rust heart of MedImageInsight Explorer: the wire format spoken with the
//! endpoint, the image pipeline and the maths on embeddings.
//!
//! Its folders are its architecture: [`endpoint`] (the wire contract, batching, retries,
//! the window of requests in flight), [`pipeline`] (any image or DICOM → the PNG the
//! model wants), [`analysis`] (similarity, zero-shot, neighbours, PCA, classifier,
//! pooling, on one normalised buffer), [`formats`] (files in and out: session, CSV,
//! `.npy`, projector TSV), [`text`] (prompts and CLIP tokens), [`view`] (the bookkeeping of long lists: the visible slice, the
//! selection, the gallery's filter and order), plus [`lifecycle`] (an
//! image's stages and what a reload makes of them), [`settings`] and [`colormap`].
//!
//! It compiles both natively (for the `medinsight` command line and fast `cargo test`)
//! and for `wasm32-unknown-unknown` (for the browser app), and so it must never depend
//! on web-sys, wasm-bindgen or leptos: everything here is testable without a browser.

pub mod analysis;
pub mod colormap;
pub mod endpoint;
pub mod formats;
pub mod lifecycle;
pub mod pipeline;
pub mod settings;
pub mod text;
pub mod view;

/// Width of every MedImageInsight embedding, image or text.
pub const EMBEDDING_DIM: usize = 1024;

/// An error and its causes in one line ("decoding failed: frame 2: short read"), each
/// cause added only when it says something the line does not already: libraries such as
/// dicom-rs and reqwest nest the useful part several sources deep.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// A 64-bit FNV-1a fingerprint of bytes: tells the app whether what it would send now
/// (an image's base64, a prompt) is what it sent before, so a re-run skips it. Not for
/// security: a collision would only skip one re-embedding.
pub fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The ground-truth label of a file loaded under `path` (`/`-separated, folders
/// included): the folder it sits in, "" at the top level. One rule for the app's
/// folder drop and picker and for `medinsight embed`'s walk.
pub fn ground_truth_of(path: &str) -> String {
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    parts.pop();
    parts.pop().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_ground_truth_is_the_parent_folder() {
        assert_eq!(
            super::ground_truth_of("Chest/Atelectasis/img1.png"),
            "Atelectasis"
        );
        assert_eq!(super::ground_truth_of("/Effusion//a.png"), "Effusion");
        assert_eq!(super::ground_truth_of("a.png"), "");
    }

    #[test]
    fn fingerprint_is_fnv1a() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(super::fingerprint(b""), 0xcbf29ce484222325);
        assert_eq!(super::fingerprint(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(super::fingerprint(b"foobar"), 0x85944171f73967e8);
    }
}
