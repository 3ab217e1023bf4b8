//! Who sends next: the line of requests waiting for a place in the window of requests
//! in flight ([`crate::endpoint::concurrency`]), kept in order.
//!
//! Both clients — the app's run (single-threaded, in the browser) and `medinsight embed`
//! (tokio) — wait at a gate before each attempt and give the place back with how the
//! attempt ended. The order of who gets a freed place matters: a request that finds
//! others waiting queues behind them, and a request coming back from a retry wait goes
//! to the front. Otherwise the request that just answered would take its own place back
//! at once, and a retried one could wait for the end of the run (or run out of retries
//! as the probe above capacity). That bookkeeping lives here, pure and synchronous, so
//! both clients share it; each wraps it in its own cell (`RefCell`, `Mutex`) and wakes
//! its own kind of waiter `W` (a oneshot sender of its runtime).

use std::collections::VecDeque;

use crate::endpoint::concurrency::{Concurrency, Outcome};

/// The window and the waiters in line for it.
#[derive(Debug)]
pub struct Admission<W> {
    window: Concurrency,
    waiting: VecDeque<W>,
}

impl<W> Admission<W> {
    pub fn new(window: Concurrency) -> Self {
        Self {
            window,
            waiting: VecDeque::new(),
        }
    }

    /// The window, to show (limit, in flight, throttled).
    pub fn window(&self) -> &Concurrency {
        &self.window
    }

    /// Asks for a place: `true` if one was free and nobody was waiting (taken: go).
    /// Otherwise the waiter is queued (at the front when `retrying`) and `false` is
    /// returned: it will be among what a later [`Admission::leave`] hands over, its
    /// place already taken.
    pub fn arrive(&mut self, waiter: impl FnOnce() -> W, retrying: bool) -> bool {
        if self.waiting.is_empty() && self.window.try_start() {
            return true;
        }
        if retrying {
            self.waiting.push_front(waiter());
        } else {
            self.waiting.push_back(waiter());
        }
        false
    }

    /// Gives back a place with how its attempt ended (which moves the window), and
    /// returns the waiters now admitted, first in line first, a place taken for each.
    /// A caller that finds an admitted waiter gone (nobody listens) gives its place
    /// back with `leave(Outcome::Failed)`, which hands it to the next in line.
    pub fn leave(&mut self, outcome: Outcome) -> Vec<W> {
        self.window.finish(outcome);
        let mut admitted = Vec::new();
        while !self.waiting.is_empty() && self.window.try_start() {
            admitted.extend(self.waiting.pop_front());
        }
        admitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_go_first_come_first_served_and_retries_jump_the_line() {
        let mut a: Admission<&str> = Admission::new(Concurrency::new(1, 1, false));
        assert!(
            a.arrive(|| "first", false),
            "an empty window admits at once"
        );
        assert!(!a.arrive(|| "second", false));
        assert!(!a.arrive(|| "third", false));
        // A batch back from its retry wait goes before those that never tried.
        assert!(!a.arrive(|| "retry", true));
        assert_eq!(a.leave(Outcome::Answered), ["retry"]);
        assert_eq!(a.window().in_flight(), 1, "the place was taken for it");
        assert_eq!(a.leave(Outcome::Answered), ["second"]);
        // Someone new does not overtake the line even when a place is free.
        let mut b: Admission<u32> = Admission::new(Concurrency::new(2, 2, false));
        assert!(b.arrive(|| 1, false));
        assert!(b.arrive(|| 2, false));
        assert!(!b.arrive(|| 3, false));
        assert_eq!(b.leave(Outcome::Failed), [3]);
        assert!(!b.arrive(|| 4, false), "window full again");
    }

    #[test]
    fn a_growing_window_admits_several_and_a_gone_waiter_passes_its_place_on() {
        let mut a: Admission<u32> = Admission::new(Concurrency::new(1, 8, true));
        assert!(a.arrive(|| 0, false));
        for w in 1..=4 {
            assert!(!a.arrive(|| w, false));
        }
        // Slow start: an answer makes the window 2, and the freed place plus the new
        // one admit two.
        assert_eq!(a.leave(Outcome::Answered), [1, 2]);
        // Waiter 1 left; its place goes to the next in line, none is lost.
        assert_eq!(a.leave(Outcome::Failed), [3]);
        assert_eq!(a.window().in_flight(), 2);
    }
}
