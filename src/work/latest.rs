//! Jobs whose newest request is the only one worth answering: the similarity view's
//! matrices. While a job runs, newer requests replace each other instead of queueing
//! (during a run that embeds 10 000 images the vectors change with every batch, and a
//! queue of 40 MB jobs would only answer questions nobody asks any more); when the job
//! ends, its answer is kept, and the newest request runs next.
//!
//! Answers are kept by key (the last `keep` of them), so going back to something
//! already computed — the order as loaded after the clustered one — costs nothing. A
//! key must say everything the job depends on (the vectors by identity, the order…),
//! because the job is run from the key alone.

use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;

/// A slot for one kind of job. `Copy`: arena handles, disposed with their owner (a
/// job still running then ends quietly).
pub struct Latest<K, V, E>
where
    K: Clone + PartialEq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    wanted: StoredValue<Option<K>>,
    running: RwSignal<bool>,
    answers: RwSignal<Vec<(K, Result<V, E>)>>,
    keep: usize,
}

impl<K, V, E> Clone for Latest<K, V, E>
where
    K: Clone + PartialEq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V, E> Copy for Latest<K, V, E>
where
    K: Clone + PartialEq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
}

impl<K, V, E> Latest<K, V, E>
where
    K: Clone + PartialEq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    /// A slot keeping the last `keep` answers (at least one).
    pub fn new(keep: usize) -> Self {
        Self {
            wanted: StoredValue::new(None),
            running: RwSignal::new(false),
            answers: RwSignal::new(Vec::new()),
            keep: keep.max(1),
        }
    }

    /// The answer for `key`, if there is one (tracked).
    pub fn answer(&self, key: &K) -> Option<Result<V, E>> {
        self.answers
            .with(|a| a.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    }

    /// The newest successful answer, whatever its key (tracked): what a view can keep
    /// showing while the answer for its new key is being computed.
    pub fn newest(&self) -> Option<(K, V)> {
        self.answers.with(|a| {
            a.iter()
                .find_map(|(k, v)| v.as_ref().ok().map(|v| (k.clone(), v.clone())))
        })
    }

    /// Whether a job is running (tracked).
    pub fn running(&self) -> bool {
        self.running.get()
    }

    /// Asks for `key`: nothing if it has a successful answer already; otherwise `run`
    /// runs it as soon as the running job (if any) ends, unless a newer request
    /// replaces it first. A failure is answered, and asked again on the next request.
    pub fn want<F, Fut>(&self, key: K, run: F)
    where
        F: Fn(K) -> Fut + 'static,
        Fut: Future<Output = Result<V, E>> + 'static,
    {
        if matches!(self.answer_untracked(&key), Some(Ok(_))) {
            self.wanted.set_value(None);
            return;
        }
        self.wanted.set_value(Some(key));
        if self.running.get_untracked() {
            return;
        }
        self.running.set(true);
        let this = *self;
        spawn_local(async move {
            // Disposed (the view is gone): `try_` reads fail and the loop ends.
            while let Some(Some(key)) = this.wanted.try_get_value() {
                if matches!(this.answer_untracked(&key), Some(Ok(_))) {
                    this.wanted.try_set_value(None);
                    continue;
                }
                let answer = run(key.clone()).await;
                // Kept even if no longer wanted: the user may come back to it.
                if this.wanted.try_get_value() == Some(Some(key.clone())) {
                    this.wanted.try_set_value(None);
                }
                this.answers.try_update(|a| {
                    a.retain(|(k, _)| *k != key);
                    a.insert(0, (key, answer));
                    a.truncate(this.keep);
                });
            }
            this.running.try_set(false);
        });
    }

    fn answer_untracked(&self, key: &K) -> Option<Result<V, E>> {
        self.answers
            .try_with_untracked(|a| a.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
            .flatten()
    }
}
