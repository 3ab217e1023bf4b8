//! How many scoring requests to keep in flight: start where the user said, probe upward
//! while the endpoint keeps up, back off when it says it is full.
//!
//! An Azure ML deployment answers 429 once more than 2 × `max_concurrent_requests_per_
//! instance` × instances requests are in flight (2 on a default one-instance deployment),
//! and nothing in its answers says what that number is. So the window is learned,
//! additive-increase / multiplicative-decrease as TCP does: one more request after a
//! window's worth of successes in a row, half as many on a 429 (or a 503, what a
//! deployment that is scaling answers). Never above the user's cap.
//!
//! Halving alone wastes a good part of a small deployment: at capacity K the window saws
//! between K/2 and K+1 (in the cli's `throughput` benchmark it keeps the emulator busy
//! only 0.7–0.8 of the time at K = 6 and 12). But a 429 also proves that the requests still
//! out were *accepted*: the endpoint holds that many. So the window never drops below the
//! number of requests in flight when the 429 came back — it settles at the capacity and
//! probes one above it now and then, costing one refused (and retried) request per probe.
//!
//! Probing after every window of successes refuses one request in K+1, and a refused
//! batch waits out `Retry-After` (longer if refused again): the endpoint stays busy
//! meanwhile, but the batches still waiting when the queue runs dry make the run's tail
//! (1–3 s more on a 13 s run in the benchmark). So each probe refused in a row doubles the
//! windows of successes the next one waits for, up to [`MAX_PATIENCE`]; a burst of
//! refusals counts once, and a probe that holds for a whole window (the deployment scaled
//! out) brings back one more per window.
//!
//! Until the endpoint first refuses, the window grows by one per answer (TCP's slow
//! start: it doubles each round trip) rather than per window: starting at 2 against a
//! deployment that holds 12, one more per window loses about one and a half round trips
//! of the whole endpoint (11 % of a 13 s run in the benchmark); doubling reaches it in
//! three. The first 429 ends it: from then on, one more per window as above.
//!
//! The controller is pure and synchronous: the app's run drives it from the browser's
//! event loop, the benchmark from tokio.

/// How an attempt ended, as far as the window is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An answer the endpoint produced (200, or a 4xx about this request).
    Answered,
    /// 429 or 503: the endpoint is full.
    Throttled,
    /// Anything else (timeout, network error, 5xx): says nothing about capacity.
    Failed,
}

impl Outcome {
    /// The outcome of an HTTP status (0 for a network error).
    pub fn of_status(status: u16) -> Self {
        match status {
            429 | 503 => Outcome::Throttled,
            0 | 408 | 500..=599 => Outcome::Failed,
            _ => Outcome::Answered,
        }
    }
}

/// The window of requests in flight and its bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Concurrency {
    limit: usize,
    cap: usize,
    adaptive: bool,
    in_flight: usize,
    /// Answers in a row since the window last changed.
    streak: usize,
    /// Windows of answers in a row the next `+1` waits for: 1, doubled by each probe
    /// refused in a row, up to [`MAX_PATIENCE`].
    patience: usize,
    /// Whether the window grew since the last 429/503, i.e. whether a 429 now refuses a
    /// probe (rather than a request in the same burst of refusals).
    grown: bool,
    /// No 429/503 yet: grow by one per answer.
    slow_start: bool,
    throttled: u64,
}

/// Most windows of answers the window waits for before probing one request above the
/// capacity it found: at capacity K, one refused request per 16 × K answers at most.
pub const MAX_PATIENCE: usize = 16;

impl Concurrency {
    /// Starts at `start` requests, never above `cap` (both at least 1). Without
    /// `adaptive` the window stays at `start`.
    pub fn new(start: usize, cap: usize, adaptive: bool) -> Self {
        let cap = cap.max(1);
        Self {
            limit: start.clamp(1, cap),
            cap,
            adaptive,
            in_flight: 0,
            streak: 0,
            patience: 1,
            grown: false,
            slow_start: true,
            throttled: 0,
        }
    }

    /// Requests allowed in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// 429s and 503s seen so far.
    pub fn throttled(&self) -> u64 {
        self.throttled
    }

    /// Takes a place for one request, if the window has one.
    pub fn try_start(&mut self) -> bool {
        let free = self.in_flight < self.limit;
        self.in_flight += usize::from(free);
        free
    }

    /// Gives back the place of a request that ended with `outcome`, and adapts the window.
    pub fn finish(&mut self, outcome: Outcome) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if outcome == Outcome::Throttled {
            self.throttled += 1;
        }
        if !self.adaptive {
            return;
        }
        match outcome {
            Outcome::Answered if self.slow_start => {
                self.limit = (self.limit + 1).min(self.cap);
                self.streak = 0;
                self.grown = true;
            }
            Outcome::Answered => {
                self.streak += 1;
                // A probe that held for a whole window: the endpoint grew (a deployment
                // scaled out), so back to one more per window.
                if self.grown && self.streak >= self.limit {
                    self.patience = 1;
                }
                if self.streak >= self.limit * self.patience && self.limit < self.cap {
                    self.limit += 1;
                    self.streak = 0;
                    self.grown = true;
                }
            }
            Outcome::Throttled => {
                // Half, but never below what the endpoint is demonstrably holding.
                self.limit = (self.limit / 2).max(self.in_flight).clamp(1, self.cap);
                self.streak = 0;
                // The window grew since the last refusal, so this one refused a probe:
                // probe half as often. More refusals in the same burst count once, and
                // the refusal that ends slow start found the capacity, not a probe.
                let probe_refused = self.grown && !self.slow_start;
                self.slow_start = false;
                if probe_refused {
                    self.patience = (self.patience * 2).min(MAX_PATIENCE);
                }
                self.grown = false;
            }
            Outcome::Failed => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives the window against an endpoint that holds `capacity` requests at once,
    /// in rounds: fill the window, the endpoint accepts up to capacity and refuses the
    /// rest at once, then the accepted ones answer. Returns the limits seen per round.
    fn simulate(c: &mut Concurrency, capacity: usize, rounds: usize) -> Vec<usize> {
        let mut limits = Vec::new();
        for _ in 0..rounds {
            let mut started: usize = 0;
            while c.try_start() {
                started += 1;
            }
            let refused = started.saturating_sub(capacity);
            for _ in 0..refused {
                c.finish(Outcome::Throttled);
            }
            for _ in 0..started - refused {
                c.finish(Outcome::Answered);
            }
            limits.push(c.limit());
        }
        limits
    }

    #[test]
    fn fixed_window_never_moves() {
        let mut c = Concurrency::new(3, 16, false);
        assert_eq!(simulate(&mut c, 1, 10), vec![3; 10]);
        assert_eq!(c.throttled(), 20);
    }

    #[test]
    fn doubles_each_round_until_the_cap_while_nothing_is_refused() {
        let mut c = Concurrency::new(2, 40, true);
        assert_eq!(simulate(&mut c, 100, 6), vec![4, 8, 16, 32, 40, 40]);
        assert_eq!(c.throttled(), 0);
    }

    #[test]
    fn after_the_first_refusal_grows_by_one_per_window_of_successes() {
        let mut c = Concurrency::new(2, 40, true);
        // 2 → 4 → 8: the endpoint holds 5, so 3 are refused in one burst; the window
        // keeps the 5 it holds, and that round's 5 answers (one window) add one.
        assert_eq!(simulate(&mut c, 5, 3), vec![4, 8, 6]);
        // The refusal that ended slow start was no refused probe: one more per window.
        assert_eq!(simulate(&mut c, 100, 2), vec![7, 8]);
        let mut c = Concurrency::new(6, 40, true);
        assert!(c.try_start());
        c.finish(Outcome::Throttled);
        assert_eq!(c.limit(), 3);
        // Now one more per window of 3, then of 4, …
        assert_eq!(simulate(&mut c, 100, 3), vec![4, 5, 6]);
    }

    #[test]
    fn settles_at_the_capacity_instead_of_sawing_below_it() {
        for capacity in [1, 2, 6, 12] {
            let mut c = Concurrency::new(2, 16, true);
            let limits = simulate(&mut c, capacity, 200);
            let tail = &limits[100..];
            assert!(
                tail.iter().all(|&l| l == capacity || l == capacity + 1),
                "capacity {capacity}: {tail:?}"
            );
        }
    }

    #[test]
    fn probes_above_the_capacity_back_off_and_resume_when_it_grows() {
        let mut c = Concurrency::new(2, 16, true);
        let limits = simulate(&mut c, 6, 300);
        assert!(limits[10..].iter().all(|&l| l == 6 || l == 7), "{limits:?}");
        // One probe per window of answers would be refused every other round (~150
        // times); backing off, about once per MAX_PATIENCE rounds.
        assert!(c.throttled() <= 30, "{} refused", c.throttled());
        // The deployment scales out: the next probe holds, and the window climbs again
        // at one more per window.
        let limits = simulate(&mut c, 10, MAX_PATIENCE + 20);
        let settled = &limits[MAX_PATIENCE + 6..];
        assert!(settled.iter().all(|&l| l == 10 || l == 11), "{limits:?}");
    }

    #[test]
    fn a_burst_of_refusals_is_one_refused_probe() {
        let answer = |c: &mut Concurrency| {
            assert!(c.try_start());
            c.finish(Outcome::Answered);
            c.limit()
        };
        // Out of slow start: a first refusal leaves a window of 2.
        let mut c = Concurrency::new(4, 16, true);
        assert!(c.try_start());
        c.finish(Outcome::Throttled);
        assert_eq!([answer(&mut c), answer(&mut c)], [2, 3]);
        // The probe at 3 and both others refused at once (a deployment going down).
        for _ in 0..3 {
            assert!(c.try_start());
        }
        for _ in 0..3 {
            c.finish(Outcome::Throttled);
        }
        assert_eq!((c.limit(), c.throttled()), (1, 4));
        // Patience 2 (not 8): two windows of answers before a probe; the probe holds for
        // a window, so back to one window per step.
        let limits: Vec<usize> = (0..6).map(|_| answer(&mut c)).collect();
        assert_eq!(limits, [1, 2, 2, 3, 3, 3]);
        assert_eq!(answer(&mut c), 4);
    }

    #[test]
    fn a_throttle_halves_when_nothing_else_is_out() {
        let mut c = Concurrency::new(8, 16, true);
        assert!(c.try_start());
        c.finish(Outcome::Throttled);
        assert_eq!(c.limit(), 4);
        // With 5 others still out (accepted), the window keeps 5.
        let mut c = Concurrency::new(8, 16, true);
        for _ in 0..6 {
            assert!(c.try_start());
        }
        c.finish(Outcome::Throttled);
        assert_eq!((c.limit(), c.in_flight()), (5, 5));
        // Timeouts and 5xx say nothing about capacity.
        c.finish(Outcome::Failed);
        assert_eq!(c.limit(), 5);
    }

    #[test]
    fn the_window_is_respected_and_never_zero() {
        let mut c = Concurrency::new(0, 0, true);
        assert_eq!(c.limit(), 1);
        assert!(c.try_start());
        assert!(!c.try_start(), "one place only");
        c.finish(Outcome::Throttled);
        assert_eq!(c.limit(), 1);
        assert_eq!(Outcome::of_status(429), Outcome::Throttled);
        assert_eq!(Outcome::of_status(503), Outcome::Throttled);
        assert_eq!(Outcome::of_status(0), Outcome::Failed);
        assert_eq!(Outcome::of_status(200), Outcome::Answered);
        assert_eq!(Outcome::of_status(424), Outcome::Answered);
    }
}
