//! CLIP token counts for the label editor, with the tokenizer built once per page.
//!
//! Building it parses OpenAI's 1.3 MB BPE vocabulary (tens of milliseconds in wasm), so
//! it is built on first use and kept; counting a prompt then takes microseconds, quick
//! enough to run on every keystroke.

use medinsight_core::text::clip::{ClipText, TokenCount};

thread_local! {
    static CLIP: ClipText = ClipText::new();
}

/// How `text` fares against the model's 77-token limit.
pub fn count(text: &str) -> TokenCount {
    CLIP.with(|c| c.count(text))
}
