//! A run's progress as the page shows it: counts, the window of requests in flight,
//! retries, times, and what stopped it.

/// The run's figures, for the progress bar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    pub running: bool,
    pub cancelling: bool,
    /// Images and labels this run sends.
    pub total: usize,
    pub embedded: usize,
    pub failed: usize,
    pub in_flight: usize,
    /// Requests the adaptive window allows in flight now.
    pub window: usize,
    /// Answers 429/503 so far (each retried).
    pub throttled: u64,
    pub requests: usize,
    pub retries: usize,
    pub started_ms: f64,
    pub finished_ms: Option<f64>,
    /// What the user should know now: waiting for preparation, a stop and its reason…
    pub note: Option<String>,
    /// A failure that stopped the whole run (bad key, no deployment).
    pub fatal: Option<String>,
}
