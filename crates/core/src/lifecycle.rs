//! An image's life in a session — queued, preparing, ready, sending, embedded or failed
//! — and what a reload makes of a saved one.
//!
//! The browser keeps the prepared PNG, the state word and the vector with the
//! fingerprint it came from, never the original file. So after a reload an image with
//! a vector of its current pixels is embedded; one with pixels but no matching vector
//! is ready (the next run sends it, nothing more); one that failed to prepare stays
//! failed with its reason; and one that was never prepared cannot be, and says so.
//! These rules are pure, so they are tested here rather than in a browser.

/// Where an image is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    Queued,
    Preparing,
    Ready,
    Sending,
    Embedded,
    Failed(String),
}

impl Stage {
    /// The word shown on the thumbnail (and in `data-stage`), and saved.
    pub fn word(&self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::Preparing => "preparing",
            Stage::Ready => "ready",
            Stage::Sending => "sending",
            Stage::Embedded => "embedded",
            Stage::Failed(_) => "failed",
        }
    }

    /// Waiting for, or in, a preparation worker.
    pub fn is_pending_preparation(&self) -> bool {
        matches!(self, Stage::Queued | Stage::Preparing)
    }

    /// The reason of a failure.
    pub fn failure(&self) -> Option<&str> {
        match self {
            Stage::Failed(reason) => Some(reason),
            _ => None,
        }
    }
}

/// What was saved of an image, as far as its stage after a reload depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SavedState<'a> {
    /// [`Stage::word`] when it was saved.
    pub word: &'a str,
    /// The reason, if it had failed.
    pub failure: Option<&'a str>,
    /// The fingerprint of the saved prepared PNG, when there is one.
    pub pixels: Option<u64>,
    /// The fingerprint the saved vector was made from, when there is one.
    pub vector: Option<u64>,
}

/// Told when an image was never prepared before the reload: originals are not kept.
pub const NOT_PREPARED: &str =
    "the original file is not kept across a reload and was not prepared yet: load it again";

impl SavedState<'_> {
    /// The stage a saved image comes back in.
    pub fn restored(&self) -> Stage {
        let embedded = match (self.vector, self.pixels) {
            // A vector of the pixels as they are now.
            (Some(v), Some(p)) => v == p,
            // Imported vectors have no pixels: they were embedded when saved.
            (Some(_), None) => self.word == Stage::Embedded.word(),
            (None, _) => false,
        };
        if embedded {
            Stage::Embedded
        } else if self.pixels.is_some() {
            // Ready, sending or a failed send: the next run sends it.
            Stage::Ready
        } else if self.word == "failed" {
            Stage::Failed(
                self.failure
                    .unwrap_or("failed before the reload")
                    .to_string(),
            )
        } else {
            Stage::Failed(NOT_PREPARED.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved<'a>(word: &'a str, pixels: Option<u64>, vector: Option<u64>) -> SavedState<'a> {
        SavedState {
            word,
            failure: None,
            pixels,
            vector,
        }
    }

    #[test]
    fn a_vector_of_the_current_pixels_stays_embedded() {
        assert_eq!(
            saved("embedded", Some(7), Some(7)).restored(),
            Stage::Embedded
        );
        // Whatever word was saved: the vector matches the pixels.
        assert_eq!(
            saved("sending", Some(7), Some(7)).restored(),
            Stage::Embedded
        );
    }

    #[test]
    fn pixels_without_their_vector_are_ready_to_send() {
        for word in ["ready", "sending", "embedded", "failed"] {
            assert_eq!(
                saved(word, Some(7), None).restored(),
                Stage::Ready,
                "{word}"
            );
            // A vector of other pixels (re-windowed since) does not count.
            assert_eq!(
                saved(word, Some(7), Some(3)).restored(),
                Stage::Ready,
                "{word}"
            );
        }
    }

    #[test]
    fn imported_vectors_without_pixels_stay_embedded() {
        assert_eq!(saved("embedded", None, Some(0)).restored(), Stage::Embedded);
    }

    #[test]
    fn failures_keep_their_reason_and_unprepared_images_say_why() {
        let failed = SavedState {
            failure: Some("the file is empty (0 bytes)"),
            ..saved("failed", None, None)
        };
        assert_eq!(
            failed.restored(),
            Stage::Failed("the file is empty (0 bytes)".into())
        );
        assert_eq!(
            saved("failed", None, None).restored(),
            Stage::Failed("failed before the reload".into())
        );
        for word in ["queued", "preparing", "ready"] {
            assert_eq!(
                saved(word, None, None).restored(),
                Stage::Failed(NOT_PREPARED.into()),
                "{word}"
            );
        }
        assert_eq!(Stage::Failed("x".into()).failure(), Some("x"));
        assert!(Stage::Queued.is_pending_preparation() && !Stage::Ready.is_pending_preparation());
    }
}
