//! Sending batches as the app's run does (`src/work/run.rs`): a place at the gate
//! before each attempt, given back with how it ended (which moves the adaptive window,
//! `core::endpoint::concurrency`), the order of who goes next from
//! `core::endpoint::admission` (a retried batch first), retries and their waits from
//! `core::endpoint::retry`, answers read by `core::endpoint::wire`. Only the I/O is
//! here: reqwest instead of the browser's fetch, tokio's timers and channels.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use medinsight_core::endpoint::admission::Admission;
use medinsight_core::endpoint::concurrency::{Concurrency, Outcome};
use medinsight_core::endpoint::retry::{decide, Attempt, Decision, Failure, RetryPolicy};
use medinsight_core::endpoint::wire::{
    failure_message, parse_response, ParseOptions, ScoreRequest, ScoreResponse,
};
use tokio::sync::oneshot;

/// The door to the endpoint, shared by every batch of a run.
pub struct Gate {
    line: Mutex<Admission<oneshot::Sender<()>>>,
}

impl Gate {
    pub fn new(window: Concurrency) -> Self {
        Self {
            line: Mutex::new(Admission::new(window)),
        }
    }

    /// Waits for a place; `retrying` goes to the front of the line.
    pub async fn enter(&self, retrying: bool) {
        let mut rx = None;
        let admitted = self.lock().arrive(
            || {
                let (tx, r) = oneshot::channel();
                rx = Some(r);
                tx
            },
            retrying,
        );
        if !admitted {
            // The place is taken for us before we are woken (see `leave`).
            if let Some(rx) = rx {
                let _ = rx.await;
            }
        }
    }

    /// Gives a place back with how its attempt ended, waking those admitted.
    pub fn leave(&self, outcome: Outcome) {
        let mut places = vec![outcome];
        while let Some(outcome) = places.pop() {
            let admitted = self.lock().leave(outcome);
            for waiter in admitted {
                if waiter.send(()).is_err() {
                    // Nobody listens any more: the place goes back, to the next in line.
                    places.push(Outcome::Failed);
                }
            }
        }
    }

    /// (requests in flight, window, 429/503 seen).
    pub fn window(&self) -> (usize, usize, u64) {
        let l = self.lock();
        let w = l.window();
        (w.in_flight(), w.limit(), w.throttled())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Admission<oneshot::Sender<()>>> {
        // A panic elsewhere while holding it leaves plain counters: still usable.
        self.line.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where and how requests go.
pub struct Endpoint {
    pub client: reqwest::Client,
    pub url: reqwest::Url,
    pub key: Option<String>,
    pub deployment: Option<String>,
    pub policy: RetryPolicy,
}

/// What the run counts about its requests.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub bytes_sent: AtomicU64,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Sends one batch, retrying as the policy says. Called holding a place at the gate;
/// returns having given it back.
pub async fn send(
    endpoint: &Endpoint,
    gate: &Gate,
    counters: &Counters,
    request: &ScoreRequest,
) -> Result<ScoreResponse, Failure> {
    if let Err(mixed) = request.kind() {
        gate.leave(Outcome::Failed);
        return Err(Failure::Rejected {
            status: 400,
            message: mixed.to_string(),
        });
    }
    let body = request.to_body();
    let mut attempt = 0;
    loop {
        attempt += 1;
        counters.requests.fetch_add(1, Ordering::Relaxed);
        counters
            .bytes_sent
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        // The one POST `check` makes too: key, deployment, the whole answer read.
        let sent = crate::check::send(
            &endpoint.client,
            &endpoint.url,
            endpoint.key.as_deref(),
            endpoint.deployment.as_deref(),
            body.clone(),
        )
        .await;
        let (status, message, retry_after) = match sent {
            Ok(answer) => {
                let header = |name: &str| {
                    answer
                        .headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                if answer.status == 200 {
                    match parse_response(&answer.body, request, ParseOptions::default()) {
                        Ok(response) => {
                            gate.leave(Outcome::Answered);
                            return Ok(response);
                        }
                        // A garbled answer is a passing fault of the service: retried.
                        Err(e) => (500, format!("an unusable answer: {e}"), None),
                    }
                } else {
                    (
                        answer.status,
                        failure_message(
                            header("ms-azureml-model-error-reason").as_deref(),
                            &answer.body,
                        ),
                        header("retry-after"),
                    )
                }
            }
            // `cause`, not reqwest's own text: that names the whole URL, query included,
            // and would carry a token in it into failed.tsv and the summary. A body cut
            // short by the timeout is a timeout too.
            Err(e) if e.is_timeout() => (408, crate::check::cause(&e), None),
            Err(e) => (0, crate::check::cause(&e), None),
        };
        // Belt and braces: nothing the endpoint echoes can put the key into a report.
        let message = match &endpoint.key {
            Some(k) => message.replace(k.as_str(), "<redacted>"),
            None => message,
        };
        gate.leave(Outcome::of_status(status));
        let attempted = Attempt {
            number: attempt,
            status,
            message: &message,
            retry_after: retry_after.as_deref(),
            now_unix_ms: unix_ms(),
        };
        match decide(endpoint.policy, attempted, rand::random::<f64>()) {
            Decision::RetryAfterMs(ms) => {
                counters.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                gate.enter(true).await;
            }
            Decision::Stop(Failure::Exhausted { attempts, .. }) => {
                return Err(Failure::Exhausted {
                    attempts,
                    last: message,
                })
            }
            Decision::Stop(failure) => return Err(failure),
        }
    }
}
