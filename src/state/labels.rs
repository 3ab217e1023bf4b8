//! The labels of a session: text prompts, each with the vector of the text it was
//! embedded from (a changed text needs embedding again).

use std::sync::Arc;

use leptos::prelude::*;

use super::images::Embedded;

/// One text prompt.
#[derive(Clone, Copy)]
pub struct LabelItem {
    pub id: u64,
    pub text: RwSignal<String>,
    pub embedding: RwSignal<Option<Embedded>>,
    pub error: RwSignal<Option<String>>,
}

impl LabelItem {
    /// The one way a label enters the session: typed (no vector yet), imported or
    /// restored (with the vector of the text it was embedded from).
    pub fn new(id: u64, text: String, embedding: Option<Embedded>) -> Self {
        Self {
            id,
            text: RwSignal::new(text),
            embedding: RwSignal::new(embedding),
            error: RwSignal::new(None),
        }
    }

    /// Releases the label's signals when it leaves the session.
    pub(crate) fn dispose(self) {
        self.text.dispose();
        self.embedding.dispose();
        self.error.dispose();
    }

    /// The fingerprint of a prompt as it is sent (trimmed).
    pub fn key(text: &str) -> u64 {
        medinsight_core::fingerprint(text.trim().as_bytes())
    }

    /// The embedding, only if it is of the prompt as written now.
    pub fn current_vector(&self) -> Option<Arc<Vec<f32>>> {
        let e = self.embedding.get()?;
        (e.key == Self::key(&self.text.get())).then_some(e.vector)
    }
}

impl LabelItem {
    /// [`LabelItem::current_vector`], read without tracking (exports, saves).
    pub(crate) fn current_vector_untracked(&self) -> Option<Vec<f32>> {
        untrack(|| self.current_vector()).map(|v| v.to_vec())
    }
}
