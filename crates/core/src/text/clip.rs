//! Text as MedImageInsight reads it: CLIP's byte-pair encoding, cut to 77 tokens.
//!
//! The model's text encoder takes `<start_of_text>`, at most 75 word-piece tokens, and
//! `<end_of_text>`; anything longer is cut silently, so two prompts that differ only
//! after the cut embed identically. [`ClipText::count`] lets the app warn about that
//! (and show what will be cut), and the emulator uses [`ClipText::model_tokens`] to cut
//! exactly where the model does. The BPE is the `instant-clip-tokenizer` crate with
//! OpenAI's original vocabulary; it sits behind the `clip` feature because that crate's
//! hasher needs a random source that, on wasm32, only a web crate provides.

use instant_clip_tokenizer::{Token, Tokenizer};

/// Tokens the text encoder takes, including the start and end markers.
pub const CONTEXT_LENGTH: usize = 77;
/// Word-piece tokens that fit between the markers.
pub const CONTENT_TOKENS: usize = CONTEXT_LENGTH - 2;

/// How a text fares against the 77-token limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenCount {
    /// Word-piece tokens in the whole text (markers not counted).
    pub tokens: usize,
    /// The part the model never sees, as the tokenizer reads it back (lower case,
    /// spaced), or `None` when everything fits.
    pub cut: Option<String>,
}

/// The CLIP tokenizer. Building it parses a 1.3 MB vocabulary (tens of milliseconds):
/// build one and share it.
pub struct ClipText {
    tokenizer: Tokenizer,
}

impl Default for ClipText {
    fn default() -> Self {
        Self::new()
    }
}

impl ClipText {
    pub fn new() -> Self {
        Self {
            tokenizer: Tokenizer::new(),
        }
    }

    fn encode(&self, text: &str) -> Vec<Token> {
        let mut tokens = Vec::new();
        self.tokenizer.encode(text, &mut tokens);
        tokens
    }

    pub fn count(&self, text: &str) -> TokenCount {
        let tokens = self.encode(text);
        let cut = (tokens.len() > CONTENT_TOKENS).then(|| {
            self.tokenizer
                .decode(tokens[CONTENT_TOKENS..].iter().copied())
                .trim_end()
                .to_string()
        });
        TokenCount {
            tokens: tokens.len(),
            cut,
        }
    }

    /// The token ids the model's encoder receives: start marker, at most
    /// [`CONTENT_TOKENS`] tokens, end marker (CLIP's `tokenize(…, truncate=True)`).
    pub fn model_tokens(&self, text: &str) -> Vec<u16> {
        let mut tokens = self.encode(text);
        tokens.truncate(CONTENT_TOKENS);
        std::iter::once(self.tokenizer.start_of_text())
            .chain(tokens)
            .chain(std::iter::once(self.tokenizer.end_of_text()))
            .map(Token::to_u16)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_prompt_tokenizes_like_clip() {
        let clip = ClipText::new();
        // OpenAI's tokenizer gives [49406, 1883, 997, 49407] for "Hi there".
        assert_eq!(clip.model_tokens("Hi there"), [49406, 1883, 997, 49407]);
        let count = clip.count("x-ray chest anteroposterior Atelectasis");
        assert!(count.tokens > 4 && count.tokens < 20, "{count:?}");
        assert_eq!(count.cut, None);
    }

    #[test]
    fn long_text_is_cut_at_75_content_tokens() {
        let clip = ClipText::new();
        let long = "chest ".repeat(80);
        let count = clip.count(&long);
        assert_eq!(count.tokens, 80);
        assert_eq!(count.cut.as_deref(), Some("chest chest chest chest chest"));
        let ids = clip.model_tokens(&long);
        assert_eq!(ids.len(), CONTEXT_LENGTH);
        assert_eq!(ids[76], 49407);
        // Texts that differ only after the cut reach the model identically.
        assert_eq!(clip.model_tokens(&format!("{long} pneumothorax")), ids);
        assert_ne!(
            clip.model_tokens("chest pneumothorax"),
            clip.model_tokens("chest effusion")
        );
    }
}
