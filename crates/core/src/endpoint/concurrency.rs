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
//! Halving alone wastes a quarter of a small deployment: at capacity K the window saws
//! between K/2 and K+1, so on average a quarter of the endpoint stands idle (measured by
//! the cli's `throughput` benchmark). But a 429 also proves that the requests still out
//! were *accepted*: the endpoint holds that many. So the window never drops below the
//! number of requests in flight when the 429 came back — it settles at the capacity and
//! probes one above it now and then, costing one refused (and retried) request per probe.
//! The controller is pure and synchronous; the app and the command line each drive it
//! from their own async runtime.

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
    throttled: u64,
}

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
            Outcome::Answered => {
                self.streak += 1;
                if self.streak >= self.limit && self.limit < self.cap {
                    self.limit += 1;
                    self.streak = 0;
                }
            }
            Outcome::Throttled => {
                // Half, but never below what the endpoint is demonstrably holding.
                self.limit = (self.limit / 2).max(self.in_flight).clamp(1, self.cap);
                self.streak = 0;
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
    fn grows_by_one_per_window_of_successes_up_to_the_cap() {
        let mut c = Concurrency::new(2, 5, true);
        assert_eq!(simulate(&mut c, 100, 6), vec![3, 4, 5, 5, 5, 5]);
        assert_eq!(c.throttled(), 0);
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
