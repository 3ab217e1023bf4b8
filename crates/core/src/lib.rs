//! The pure-Rust heart of MedImageInsight Explorer: the wire format spoken with the
//! endpoint, the image pipeline and the maths on embeddings.
//!
//! It compiles both natively (for the `medinsight` command line and fast `cargo test`)
//! and for `wasm32-unknown-unknown` (for the browser app), and so it must never depend
//! on web-sys, wasm-bindgen or leptos: everything here is testable without a browser.

pub mod batching;
#[cfg(feature = "clip")]
pub mod clip_text;
pub mod endpoint_info;
pub mod pipeline;
pub mod retry;
pub mod similarity;
pub mod wire;

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
