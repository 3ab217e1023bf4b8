//! A few preparation workers and the futures that wait for their answers.
//!
//! One worker per spare core (1–4): preparing is CPU-bound, and more workers than cores
//! only share the same cores. Each job gets a future that resolves with the worker's
//! reply; a job that does not come back in time (the worker crashed on a hostile file, or
//! the file is huge) fails with a message and that worker is replaced, so one bad file
//! never stops the others.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::{select, Either};
use gloo_worker::{Spawnable, WorkerBridge};
use medinsight_core::pipeline::PrepareOptions;

use crate::prepare_worker::{PrepareJob, PrepareReply, PrepareWorker, PreparedImage};

/// Where Trunk puts the worker's loader (`index.html`, `filehash = false`).
pub const WORKER_LOADER: &str = "/prepare-worker_loader.js";
/// Longest a single file may take before its worker is presumed dead.
pub const JOB_TIMEOUT_MS: u32 = 120_000;

type Pending = Rc<RefCell<HashMap<u64, oneshot::Sender<Result<PreparedImage, String>>>>>;

pub struct PreparePool {
    bridges: RefCell<Vec<WorkerBridge<PrepareWorker>>>,
    pending: Pending,
}

fn spawn(pending: &Pending) -> WorkerBridge<PrepareWorker> {
    let pending = pending.clone();
    PrepareWorker::spawner()
        .callback(move |reply: PrepareReply| {
            if let Some(tx) = pending.borrow_mut().remove(&reply.id) {
                let _ = tx.send(reply.result);
            }
        })
        .with_loader(true)
        .as_module(false)
        .spawn(WORKER_LOADER)
}

impl PreparePool {
    pub fn new(workers: usize) -> Self {
        let pending: Pending = Rc::default();
        let bridges = (0..workers.max(1)).map(|_| spawn(&pending)).collect();
        Self {
            bridges: RefCell::new(bridges),
            pending,
        }
    }

    pub fn len(&self) -> usize {
        self.bridges.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Prepares `bytes` on worker `worker` (jobs on one worker run one after another).
    pub async fn prepare(
        &self,
        worker: usize,
        id: u64,
        bytes: Vec<u8>,
        options: PrepareOptions,
    ) -> Result<PreparedImage, String> {
        let (tx, rx) = oneshot::channel();
        self.pending.borrow_mut().insert(id, tx);
        let worker = worker % self.len();
        self.bridges.borrow()[worker].send(PrepareJob { id, bytes, options });
        let timeout = gloo_timers::future::TimeoutFuture::new(JOB_TIMEOUT_MS);
        match select(rx, timeout).await {
            Either::Left((Ok(result), _)) => result,
            Either::Left((Err(_), _)) => Err("the preparation worker stopped".into()),
            Either::Right(_) => {
                self.pending.borrow_mut().remove(&id);
                self.bridges.borrow_mut()[worker] = spawn(&self.pending);
                Err(format!(
                    "preparing took over {} s or crashed the worker; the file may be damaged or too large",
                    JOB_TIMEOUT_MS / 1000
                ))
            }
        }
    }
}
