//! A run's progress as the page shows it: counts, the window of requests in flight,
//! retries, times, what stopped it, and the two rates of the pipeline — images prepared
//! per second (the workers) and rows embedded per second (the endpoint) — which overlap:
//! a run sends each batch as soon as its images are prepared.

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
    /// Images this run waited for that left preparation since it started (prepared, or
    /// failed to be).
    pub prepared: usize,
    /// Images still being prepared, which this run sends once they are.
    pub preparing: usize,
    /// When the last image this run waited for left preparation.
    pub prepared_ms: Option<f64>,
}

impl Progress {
    /// Images prepared per second while the run waited for them (`None` before the
    /// first, or when it waited for none).
    pub fn prepared_per_s(&self, now_ms: f64) -> Option<f64> {
        let end = self.prepared_ms.unwrap_or(now_ms);
        rate(self.prepared, end - self.started_ms)
    }

    /// Rows (images and labels) embedded per second since the run started.
    pub fn embedded_per_s(&self, now_ms: f64) -> Option<f64> {
        let end = self.finished_ms.unwrap_or(now_ms);
        rate(self.embedded, end - self.started_ms)
    }
}

fn rate(count: usize, ms: f64) -> Option<f64> {
    (count > 0 && ms > 0.0).then(|| count as f64 * 1000.0 / ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_count_per_second_until_the_stage_ends() {
        let p = Progress {
            started_ms: 1000.0,
            prepared: 50,
            prepared_ms: Some(3500.0),
            embedded: 40,
            finished_ms: Some(5000.0),
            ..Progress::default()
        };
        // Preparation ended at 3.5 s: 50 in 2.5 s; embedding at 5 s: 40 in 4 s.
        assert_eq!(p.prepared_per_s(9999.0), Some(20.0));
        assert_eq!(p.embedded_per_s(9999.0), Some(10.0));
        let running = Progress {
            started_ms: 1000.0,
            embedded: 3,
            ..Progress::default()
        };
        assert_eq!(running.embedded_per_s(2500.0), Some(2.0));
        assert_eq!(running.prepared_per_s(2500.0), None, "nothing prepared");
        assert_eq!(Progress::default().embedded_per_s(0.0), None);
    }
}
