//! Small values kept in `localStorage` (the settings, the theme, the session's pseudonym
//! key), as one reactive hook:
//! [`use_persisted`] reads the stored text once, before the first paint, and hands back
//! a signal whose every change is written back by one effect — leptos-use's
//! `use_local_storage` is the model. What a value looks like stored is its [`Stored`]
//! impl, so an old or hand-edited entry is mended when read, never trusted.

use leptos::prelude::*;
use medinsight_core::formats::pseudonym::PseudonymKey;

use crate::platform::{random, storage};

/// Where the session's pseudonym key is kept (64 hex digits). "Clear session" replaces
/// it; no export writes it.
pub const PSEUDONYM_KEY: &str = "medinsight.pseudonym-key";

/// How a value is written to and read from its `localStorage` entry.
pub trait Stored: Sized {
    /// The value from the stored text (`None`: nothing stored, or storage disabled).
    fn from_stored(text: Option<&str>) -> Self;
    fn to_stored(&self) -> String;
}

/// A remembered value and, should writing it fail (storage full or disabled), why.
pub struct Persisted<T: 'static + Send + Sync> {
    pub value: RwSignal<T>,
    pub error: ReadSignal<Option<String>>,
}

/// The value stored under `key`, as a signal that remembers every change.
pub fn use_persisted<T>(key: &'static str) -> Persisted<T>
where
    T: Stored + Clone + Send + Sync + 'static,
{
    let value = RwSignal::new(T::from_stored(storage::load(key).as_deref()));
    let (error, set_error) = signal(None::<String>);
    Effect::new(move |_| {
        let text = value.with(T::to_stored);
        set_error.set(storage::store(key, &text).err().map(|e| e.to_string()));
    });
    Persisted { value, error }
}

impl Stored for medinsight_core::settings::Settings {
    fn from_stored(text: Option<&str>) -> Self {
        Self::from_json(text.unwrap_or_default())
    }
    fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The session's pseudonym key: the one kept, or a fresh one when none is (or the entry
/// is damaged). `None` only when the browser gives no random numbers; exports then
/// cannot be pseudonymised, and the export panel says so.
impl Stored for Option<PseudonymKey> {
    fn from_stored(text: Option<&str>) -> Self {
        text.and_then(PseudonymKey::from_hex)
            .or_else(fresh_pseudonym_key)
    }
    fn to_stored(&self) -> String {
        self.map(|k| k.to_hex()).unwrap_or_default()
    }
}

/// A new key of 32 random bytes (`None` if the browser has no random source).
pub fn fresh_pseudonym_key() -> Option<PseudonymKey> {
    random::bytes().ok().map(PseudonymKey::from_bytes)
}
