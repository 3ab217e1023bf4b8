//! A few compute workers and the futures that wait for their answers.
//!
//! Preparation gets one worker per spare core (1–4): it is CPU-bound, and more workers
//! than cores only share the same cores. Analyses get a worker of their own, so a
//! two-second cross-validation never holds up thumbnails. Each job gets a future that
//! resolves with the worker's reply; a job that does not come back in time (the worker
//! crashed on a hostile file, or the file is huge) fails with a message and that worker
//! is replaced, so one bad file never stops the others.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::{select, Either};
use gloo_worker::{Spawnable, WorkerBridge};

use crate::worker::handler::ComputeWorker;
use crate::worker::protocol::{Job, Outcome, Reply, Request};

/// Where Trunk puts the worker's loader (`index.html`, `filehash = false`).
pub const WORKER_LOADER: &str = "/compute-worker_loader.js";
/// Longest a single job may take before its worker is presumed dead.
pub const JOB_TIMEOUT_MS: u32 = 120_000;

type Pending = Rc<RefCell<HashMap<u64, oneshot::Sender<Result<Outcome, String>>>>>;

pub struct WorkerPool {
    bridges: RefCell<Vec<WorkerBridge<ComputeWorker>>>,
    pending: Pending,
    next_id: Cell<u64>,
}

fn spawn(pending: &Pending) -> WorkerBridge<ComputeWorker> {
    let pending = pending.clone();
    ComputeWorker::spawner()
        .callback(move |reply: Reply| {
            if let Some(tx) = pending.borrow_mut().remove(&reply.id) {
                let _ = tx.send(reply.result);
            }
        })
        .with_loader(true)
        .as_module(false)
        .spawn(WORKER_LOADER)
}

impl WorkerPool {
    pub fn new(workers: usize) -> Self {
        let pending: Pending = Rc::default();
        let bridges = (0..workers.max(1)).map(|_| spawn(&pending)).collect();
        Self {
            bridges: RefCell::new(bridges),
            pending,
            next_id: Cell::new(1),
        }
    }

    pub fn len(&self) -> usize {
        self.bridges.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `job` on worker `worker` (jobs on one worker run one after another).
    pub async fn run(&self, worker: usize, job: Job) -> Result<Outcome, String> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let (tx, rx) = oneshot::channel();
        self.pending.borrow_mut().insert(id, tx);
        let worker = worker % self.len();
        self.bridges.borrow()[worker].send(Request { id, job });
        let timeout = gloo_timers::future::TimeoutFuture::new(JOB_TIMEOUT_MS);
        match select(rx, timeout).await {
            Either::Left((Ok(result), _)) => result,
            Either::Left((Err(_), _)) => Err("the worker stopped".into()),
            Either::Right(_) => {
                self.pending.borrow_mut().remove(&id);
                self.bridges.borrow_mut()[worker] = spawn(&self.pending);
                Err(format!(
                    "the work took over {} s or crashed the worker; the file may be damaged or too large",
                    JOB_TIMEOUT_MS / 1000
                ))
            }
        }
    }
}
