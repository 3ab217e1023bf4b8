//! The analyses' own worker: outlier scores, the PCA map and the classifier run there
//! (seconds at 2 000 images), never on the page's thread. One worker, started on first
//! use; a job replaces nothing: each view awaits its own answer.

use std::rc::Rc;

use leptos::prelude::*;

use crate::worker::pool::WorkerPool;
use crate::worker::protocol::{Analysis, Found, Job, Outcome};

#[derive(Clone, Copy)]
pub struct Analyst {
    pool: StoredValue<Option<Rc<WorkerPool>>, LocalStorage>,
}

impl Default for Analyst {
    fn default() -> Self {
        Self::new()
    }
}

impl Analyst {
    pub fn new() -> Self {
        Self {
            pool: StoredValue::new_local(None),
        }
    }

    fn pool(&self) -> Rc<WorkerPool> {
        if let Some(p) = self.pool.get_value() {
            return p;
        }
        let p = Rc::new(WorkerPool::new(1));
        self.pool.set_value(Some(p.clone()));
        p
    }

    /// Runs `analysis` on `vectors`; the answer and the milliseconds it took in the worker.
    pub async fn run(
        &self,
        vectors: Vec<Vec<f32>>,
        analysis: Analysis,
    ) -> Result<(Found, f64), String> {
        match self
            .pool()
            .run(0, Job::Analyse { vectors, analysis })
            .await?
        {
            Outcome::Analysed { found, millis } => Ok((found, millis)),
            Outcome::Prepared(_) => Err("the worker answered another question".into()),
        }
    }
}
