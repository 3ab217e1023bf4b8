//! Keeps the preparation workers busy: whenever images are queued, one loop per worker
//! takes the next queued image, sends its `File` to be read and prepared in the worker
//! (over `core::pipeline::MAX_FILE_BYTES` refused unread), and stores the result
//! (or the reason it failed) on the image: the PNG and its thumbnail as `Blob`s
//! ([`ImageItem::set_prepared`]), so no prepared pixels stay in the page's heap. Queued
//! images are taken in gallery order, so thumbnails fill in from the top; the search
//! resumes where the last one was found (wrapping around), so 10 000 images cost one
//! pass over the gallery, not one per image.
//!
//! [`ImageItem::set_prepared`]: crate::state::ImageItem::set_prepared

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::{Session, Stage};
use crate::worker::pool::WorkerPool;

#[derive(Clone, Copy)]
pub struct Preparer {
    session: Session,
    pool: StoredValue<Option<Rc<WorkerPool>>, LocalStorage>,
    loops: StoredValue<usize>,
    /// Where the last queued image was found.
    cursor: StoredValue<usize>,
}

impl Preparer {
    pub fn new(session: Session) -> Self {
        Self {
            session,
            pool: StoredValue::new_local(None),
            loops: StoredValue::new(0),
            cursor: StoredValue::new(0),
        }
    }

    fn pool(&self) -> Rc<WorkerPool> {
        if let Some(pool) = self.pool.get_value() {
            return pool;
        }
        let pool = Rc::new(WorkerPool::new(crate::platform::document::worker_count()));
        self.pool.set_value(Some(pool.clone()));
        pool
    }

    /// Starts loops (up to one per worker) if images are queued.
    pub fn kick(&self) {
        let pool = self.pool();
        while self.loops.get_value() < pool.len() {
            let worker = self.loops.get_value();
            self.loops.set_value(worker + 1);
            let this = *self;
            let pool = pool.clone();
            spawn_local(async move {
                this.work(worker, pool).await;
                this.loops.update_value(|n| *n -= 1);
            });
        }
    }

    async fn work(&self, worker: usize, pool: Rc<WorkerPool>) {
        loop {
            let from = self.cursor.get_value();
            let next = self.session.images.with_untracked(|v| {
                let from = from.min(v.len());
                let queued = |at: &usize| v[*at].stage.with_untracked(|s| *s == Stage::Queued);
                (from..v.len())
                    .chain(0..from)
                    .find(queued)
                    .map(|at| (at, v[at]))
            });
            let Some((at, item)) = next else { return };
            self.cursor.set_value(at);
            item.stage.set(Stage::Preparing);
            let Some(file) = self.session.file(item.id) else {
                item.stage.set(Stage::Failed(
                    "the file is no longer available; load it again".into(),
                ));
                continue;
            };
            let options = item.options.get_untracked();
            // The worker reads the file itself (a file over the limit is refused
            // unread): the page never holds its bytes.
            let result = pool
                .run_prepare(worker, &file, options)
                .await
                .map_err(|e| e.to_string());
            // The image may have been removed, or its options changed, meanwhile.
            if self.session.image(item.id).is_none() {
                continue;
            }
            // Options changed meanwhile: `set_options` queued it again already.
            if item.options.get_untracked() != options {
                continue;
            }
            match result {
                Ok(prepared) => item.set_prepared(prepared),
                Err(message) => {
                    item.prepared.set(None);
                    item.stage.set(Stage::Failed(message));
                }
            }
        }
    }
}
