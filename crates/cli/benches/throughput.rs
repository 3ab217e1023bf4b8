//! How well the app's request scheduling uses an endpoint: a native replica of a run
//! (`src/work/run.rs`: lanes pull batches from a queue, take a place at a gate driven by
//! `core::concurrency` before each attempt, give it back with the attempt's outcome, sleep
//! outside the gate on a retry as `core::retry` says) drives the emulator, started in
//! this process on 127.0.0.1:0 with `--max-in-flight K --latency-ms 300`, for K = 2, 6
//! and 12 and three windows: the old fixed 2, the app's default adaptive window, and plain
//! halving AIMD for comparison. Prints one table — rows embedded per second against the
//! capacity K / 0.3 s × 8 rows and against K requests always in flight at the measured
//! answer time (the emulator's own overhead set apart), requests, 429s, retries, rows lost
//! and duplicated, the window at the end, how long the window took to first reach K and
//! the tail after the queue ran dry — and panics if any row is lost or embedded twice: the figures are the
//! point, but a scheduler that drops or repeats work must not pass quietly. Run:
//! `cargo bench -p medinsight --bench throughput` (a few minutes). Without `--bench`
//! (`cargo test --benches`) it makes one quick pass at K = 2 and 6 with few batches.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use medinsight::cli::{Cli, Command, EmulateArgs};
use medinsight_core::endpoint::concurrency::{Concurrency, Outcome};
use medinsight_core::endpoint::retry::{decide, Attempt, Decision, RetryPolicy};
use medinsight_core::endpoint::wire::{
    failure_message, parse_response, ParseOptions, Row, ScoreRequest,
};
use medinsight_core::pipeline::encode::{self, PngCompression};
use medinsight_core::settings::RunOptions;
use tokio::sync::Notify;

/// The emulator's latency per request, and so the capacity's time unit.
const LATENCY_MS: u64 = 300;
/// Rows per request: the app's default.
const ROWS: usize = 8;
/// Batches per unit of K: a run at capacity lasts 40 × 0.3 s = 12 s at any K.
const ROUNDS: usize = 40;
const IMAGE_SIDE: u32 = 64;
const GOAL: f64 = 0.90;

/// The window a gate is driven by: the core's controller, or the local halving one.
trait Window: Send {
    fn try_start(&mut self) -> bool;
    fn finish(&mut self, outcome: Outcome);
    fn limit(&self) -> usize;
}

impl Window for Concurrency {
    fn try_start(&mut self) -> bool {
        Concurrency::try_start(self)
    }
    fn finish(&mut self, outcome: Outcome) {
        Concurrency::finish(self, outcome)
    }
    fn limit(&self) -> usize {
        Concurrency::limit(self)
    }
}

/// Textbook AIMD for comparison: one more after a window's worth of successes in a row,
/// half as many on a 429/503 (at least 1), with no floor at the requests still out.
struct Halving {
    limit: usize,
    cap: usize,
    in_flight: usize,
    streak: usize,
}

impl Window for Halving {
    fn try_start(&mut self) -> bool {
        let free = self.in_flight < self.limit;
        self.in_flight += usize::from(free);
        free
    }
    fn finish(&mut self, outcome: Outcome) {
        self.in_flight = self.in_flight.saturating_sub(1);
        match outcome {
            Outcome::Answered => {
                self.streak += 1;
                if self.streak >= self.limit && self.limit < self.cap {
                    self.limit += 1;
                    self.streak = 0;
                }
            }
            Outcome::Throttled => {
                self.limit = (self.limit / 2).max(1);
                self.streak = 0;
            }
            Outcome::Failed => {}
        }
    }
    fn limit(&self) -> usize {
        self.limit
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Policy {
    Fixed2,
    Adaptive,
    HalvingOnly,
}

impl Policy {
    const ALL: [Policy; 3] = [Policy::Fixed2, Policy::Adaptive, Policy::HalvingOnly];

    fn name(self) -> &'static str {
        match self {
            Policy::Fixed2 => "fixed 2",
            Policy::Adaptive => "adaptive",
            Policy::HalvingOnly => "halving only",
        }
    }

    /// The window, and the number of lanes the app would run with it.
    fn window(self) -> (Box<dyn Window>, usize) {
        let defaults = RunOptions::default();
        match self {
            Policy::Fixed2 => (Box::new(Concurrency::new(2, 2, false)), 2),
            Policy::Adaptive => (Box::new(defaults.concurrency()), defaults.max_in_flight),
            Policy::HalvingOnly => (
                Box::new(Halving {
                    limit: defaults.in_flight,
                    cap: defaults.max_in_flight,
                    in_flight: 0,
                    streak: 0,
                }),
                defaults.max_in_flight,
            ),
        }
    }
}

/// The app's gate (`run.rs`'s `Gate`): wait for a place, give it back with the outcome;
/// a leave wakes every waiter and they race for the free places. Also notes when the
/// window first reached `k`.
struct Gate {
    window: Mutex<Box<dyn Window>>,
    notify: Notify,
    k: usize,
    start: Instant,
    reached_k: Mutex<Option<Duration>>,
}

impl Gate {
    async fn enter(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.window.lock().unwrap().try_start() {
                return;
            }
            notified.await;
        }
    }

    fn leave(&self, outcome: Outcome) {
        let limit = {
            let mut w = self.window.lock().unwrap();
            w.finish(outcome);
            w.limit()
        };
        if limit >= self.k {
            let mut reached = self.reached_k.lock().unwrap();
            reached.get_or_insert_with(|| self.start.elapsed());
        }
        self.notify.notify_waiters();
    }
}

struct Batch {
    first_row: usize,
    request: ScoreRequest,
    body: String,
}

/// What one run counted on the client side.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
    retries: AtomicU64,
    /// Batches given up (retries exhausted or refused for good): their rows are lost.
    failed: AtomicU64,
    /// Sum of the durations of answered (200) attempts, in microseconds.
    answered_us: AtomicU64,
    answered: AtomicU64,
}

/// One line of the table.
struct Measured {
    k: usize,
    policy: Policy,
    rows_per_s: f64,
    capacity: f64,
    requests: u64,
    throttled: u64,
    retries: u64,
    lost: usize,
    duplicated: u64,
    final_window: usize,
    reached_k_s: Option<f64>,
    tail_s: f64,
    elapsed_s: f64,
    answered_ms: f64,
}

impl Measured {
    fn ratio(&self) -> f64 {
        self.rows_per_s / self.capacity
    }

    /// Rows per second against what K requests always in flight would give at the
    /// measured duration of an answered request: the scheduler's own share of the loss.
    fn busy(&self) -> f64 {
        self.rows_per_s / (self.k as f64 * ROWS as f64 / (self.answered_ms / 1000.0))
    }
}

fn emulate_args(k: usize) -> EmulateArgs {
    let argv = [
        "medinsight",
        "emulate",
        "--max-in-flight",
        &k.to_string(),
        "--latency-ms",
        &LATENCY_MS.to_string(),
    ];
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Emulate(a) => a,
        _ => unreachable!("parsed an emulate command"),
    }
}

/// A 64×64 gray PNG, base64, distinct for every `row`: a gradient with the row number
/// written into its first pixels.
fn image(row: usize) -> String {
    let mut pixels: Vec<u8> = (0..IMAGE_SIDE * IMAGE_SIDE)
        .map(|i| ((i % IMAGE_SIDE) * 3 + (i / IMAGE_SIDE) * 5 + row as u32 * 7) as u8)
        .collect();
    pixels[..8].copy_from_slice(&(row as u64).to_le_bytes());
    let png = encode::png(
        &pixels,
        IMAGE_SIDE,
        IMAGE_SIDE,
        1,
        PngCompression::default(),
    )
    .unwrap();
    encode::base64(&png)
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Sends one batch as `run.rs`'s `send` does: called holding a place at the gate,
/// returns having given it back; `Some` with the answer, `None` if given up.
async fn send(
    client: &reqwest::Client,
    url: &str,
    gate: &Gate,
    batch: &Batch,
    counters: &Counters,
) -> Option<medinsight_core::endpoint::wire::ScoreResponse> {
    let policy = RetryPolicy::default();
    let mut attempt = 0;
    loop {
        attempt += 1;
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let sent_at = Instant::now();
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .body(batch.body.clone())
            .send()
            .await;
        let (status, message, retry_after) = match sent {
            Ok(res) => {
                let status = res.status().as_u16();
                let header = |name: &str| {
                    res.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let retry_after = header("retry-after");
                let model_error = header("ms-azureml-model-error-reason");
                match res.text().await {
                    Ok(body) if status == 200 => {
                        match parse_response(&body, &batch.request, ParseOptions::default()) {
                            Ok(response) => {
                                counters.answered.fetch_add(1, Ordering::Relaxed);
                                counters.answered_us.fetch_add(
                                    sent_at.elapsed().as_micros() as u64,
                                    Ordering::Relaxed,
                                );
                                gate.leave(Outcome::Answered);
                                return Some(response);
                            }
                            Err(e) => (500, format!("an unusable answer: {e}"), None),
                        }
                    }
                    Ok(body) => (
                        status,
                        failure_message(model_error.as_deref(), &body),
                        retry_after,
                    ),
                    Err(e) => (0, e.to_string(), None),
                }
            }
            Err(e) => (0, e.to_string(), None),
        };
        if status == 429 {
            counters.throttled.fetch_add(1, Ordering::Relaxed);
        }
        gate.leave(Outcome::of_status(status));
        let attempted = Attempt {
            number: attempt,
            status,
            message: &message,
            retry_after: retry_after.as_deref(),
            now_unix_ms: unix_ms(),
        };
        match decide(policy, attempted, rand::random::<f64>()) {
            Decision::RetryAfterMs(ms) => {
                counters.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                gate.enter().await;
            }
            Decision::Stop(failure) => {
                eprintln!("batch at row {} given up: {failure}", batch.first_row);
                counters.failed.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        }
    }
}

async fn measure(k: usize, policy: Policy, batches: usize) -> Measured {
    let router = medinsight::emulate::app(&emulate_args(k)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    // Requests are built before the clock starts (the app builds each as it goes: a
    // base64 of 64×64 pixels is microseconds).
    let rows = batches * ROWS;
    let queue: VecDeque<Batch> = (0..batches)
        .map(|b| {
            let first_row = b * ROWS;
            let request = ScoreRequest {
                rows: (first_row..first_row + ROWS)
                    .map(|r| Row::image(image(r)))
                    .collect(),
                get_scaling_factor: Some(true),
            };
            let body = request.to_body();
            Batch {
                first_row,
                request,
                body,
            }
        })
        .collect();
    let queue = Arc::new(Mutex::new(queue));
    let embedded: Arc<Vec<AtomicU32>> = Arc::new((0..rows).map(|_| AtomicU32::new(0)).collect());
    let counters = Arc::new(Counters::default());
    let drained_at: Arc<Mutex<Option<Duration>>> = Arc::default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(u64::from(
            RunOptions::default().timeout_secs,
        )))
        .build()
        .unwrap();
    let url = format!("{base}/score");
    let (window, lanes) = policy.window();
    let start = Instant::now();
    let gate = Arc::new(Gate {
        window: Mutex::new(window),
        notify: Notify::new(),
        k,
        start,
        reached_k: Mutex::new(None),
    });

    let tasks: Vec<_> = (0..lanes)
        .map(|_| {
            let (queue, embedded, counters, drained_at, client, url, gate) = (
                queue.clone(),
                embedded.clone(),
                counters.clone(),
                drained_at.clone(),
                client.clone(),
                url.clone(),
                gate.clone(),
            );
            tokio::spawn(async move {
                loop {
                    gate.enter().await;
                    let batch = {
                        let mut q = queue.lock().unwrap();
                        let batch = q.pop_front();
                        if batch.is_some() && q.is_empty() {
                            *drained_at.lock().unwrap() = Some(start.elapsed());
                        }
                        batch
                    };
                    let Some(batch) = batch else {
                        gate.leave(Outcome::Failed);
                        return;
                    };
                    let Some(response) = send(&client, &url, &gate, &batch, &counters).await else {
                        continue;
                    };
                    for (i, vector) in response.images.iter().enumerate() {
                        if vector.is_some() {
                            embedded[batch.first_row + i].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();

    let stats = reqwest::get(format!("{base}{}", medinsight::emulate::STATS_PATH))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    server.abort();
    let stat = |name: &str| stats[name].as_u64().unwrap_or(0);

    let counts: Vec<u32> = embedded.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let distinct = counts.iter().filter(|&&c| c > 0).count();
    let lost = rows - distinct;
    let client_dups: u64 = counts.iter().map(|&c| u64::from(c.saturating_sub(1))).sum();
    let server_dups = stat("rows_embedded").saturating_sub(distinct as u64);
    let requests = counters.requests.load(Ordering::Relaxed);
    let throttled = counters.throttled.load(Ordering::Relaxed);
    assert_eq!(
        (stat("requests"), stat("throttled")),
        (requests, throttled),
        "K={k} {}: the emulator's count of requests and 429s differs from the client's",
        policy.name()
    );
    let answered = counters.answered.load(Ordering::Relaxed).max(1);
    let final_window = gate.window.lock().unwrap().limit();
    let reached_k_s = gate.reached_k.lock().unwrap().map(|d| d.as_secs_f64());
    let drained = drained_at
        .lock()
        .unwrap()
        .map_or(elapsed, |d| d.as_secs_f64());
    Measured {
        k,
        policy,
        rows_per_s: distinct as f64 / elapsed,
        capacity: k as f64 / (LATENCY_MS as f64 / 1000.0) * ROWS as f64,
        requests,
        throttled,
        retries: counters.retries.load(Ordering::Relaxed),
        lost,
        duplicated: client_dups.max(server_dups),
        final_window,
        reached_k_s,
        tail_s: elapsed - drained,
        elapsed_s: elapsed,
        answered_ms: counters.answered_us.load(Ordering::Relaxed) as f64 / answered as f64 / 1e3,
    }
}

fn print_row(m: &Measured) {
    let reached = m
        .reached_k_s
        .map_or_else(|| "never".to_string(), |s| format!("{s:.2}"));
    println!(
        "{:>3} {:<13} {:>8.1} {:>8.1} {:>6.3} {:>6.3} {:>6} {:>5} {:>7} {:>5} {:>5} {:>6} {:>8} {:>6.2} {:>8.2} {:>9.1}",
        m.k,
        m.policy.name(),
        m.rows_per_s,
        m.capacity,
        m.ratio(),
        m.busy(),
        m.requests,
        m.throttled,
        m.retries,
        m.lost,
        m.duplicated,
        m.final_window,
        reached,
        m.tail_s,
        m.elapsed_s,
        m.answered_ms,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: one quick pass.
    let full = std::env::args().any(|a| a == "--bench");
    let (ks, rounds): (&[usize], usize) = if full {
        (&[2, 6, 12], ROUNDS)
    } else {
        (&[2, 6], 4)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "\n== throughput against the emulator (--max-in-flight K --latency-ms {LATENCY_MS}, \
         Retry-After {} s), {ROWS} rows a request, K × {rounds} requests ==",
        emulate_args(1).retry_after_secs
    );
    println!(
        "{:>3} {:<13} {:>8} {:>8} {:>6} {:>6} {:>6} {:>5} {:>7} {:>5} {:>5} {:>6} {:>8} {:>6} {:>8} {:>9}",
        "K",
        "policy",
        "rows/s",
        "capacity",
        "ratio",
        "busy",
        "reqs",
        "429s",
        "retries",
        "lost",
        "dup",
        "window",
        "at K (s)",
        "tail s",
        "elapsed",
        "200 in ms"
    );
    let mut all = Vec::new();
    for &k in ks {
        for policy in Policy::ALL {
            let m = runtime.block_on(measure(k, policy, k * rounds));
            print_row(&m);
            all.push(m);
        }
    }
    println!(
        "(capacity = K / {:.1} s × {ROWS} rows; busy = rows/s ÷ (K × {ROWS} rows per mean answered \
         request's duration); window = the limit at the end; at K = when the window first reached K; tail = from the last batch taken off the queue to the last \
         answer; 200 in ms = mean duration of an answered request)",
        LATENCY_MS as f64 / 1000.0
    );
    let defaults: Vec<&Measured> = all
        .iter()
        .filter(|m| m.policy == Policy::Adaptive)
        .collect();
    let ks_where = |met: bool| {
        let ks: Vec<String> = defaults
            .iter()
            .filter(|m| (m.ratio() >= GOAL) == met)
            .map(|m| m.k.to_string())
            .collect();
        if ks.is_empty() {
            "none".to_string()
        } else {
            ks.join(", ")
        }
    };
    println!(
        "goal ≥ {GOAL:.2} of capacity with the defaults: met at K={} / not met at K={}",
        ks_where(true),
        ks_where(false)
    );
    let broken: Vec<String> = all
        .iter()
        .filter(|m| m.lost > 0 || m.duplicated > 0)
        .map(|m| {
            format!(
                "K={} {}: {} lost, {} duplicated",
                m.k,
                m.policy.name(),
                m.lost,
                m.duplicated
            )
        })
        .collect();
    assert!(broken.is_empty(), "rows lost or duplicated: {broken:?}");
}
