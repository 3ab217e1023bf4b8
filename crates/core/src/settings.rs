//! What the user sets once and expects to find again after a reload: where `/score` is,
//! which deployment, and how hard to push the endpoint.
//!
//! The defaults follow the endpoint's documented limits: a few images per request (an
//! Azure ML request must finish within `request_timeout_ms`), under 4 MB a body (the
//! endpoint reads about 5 MB/s), two requests in flight to start (a default one-instance
//! deployment answers 429 past two) and a window that adapts from there up to 16
//! ([`crate::endpoint::concurrency`]), and a retry budget the size of Microsoft's client's
//! ([`crate::endpoint::retry`]). The app stores them as JSON in the browser;
//! [`Settings::sanitised`] keeps a hand-edited or old stored copy within the ranges the
//! controls offer.

use serde::{Deserialize, Serialize};

use crate::endpoint::batching::BatchLimits;
use crate::endpoint::info::SCORE_PATH;
use crate::endpoint::retry::RetryPolicy;

/// How requests are sent. `Copy + Default`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOptions {
    /// Images (rows) per request. Default 8.
    pub images_per_request: usize,
    /// Bytes per request body. Default 4 000 000.
    pub max_request_bytes: usize,
    /// Requests in flight to start with. Default 2: what a default deployment takes.
    pub in_flight: usize,
    /// Most requests in flight the adaptive window may reach. Default 16.
    pub max_in_flight: usize,
    /// Learn the endpoint's capacity: one more request in flight after a run of
    /// successes, half as many on 429/503. Default on.
    pub adaptive: bool,
    /// Seconds to wait for one answer before giving the attempt up (and retrying).
    /// Default 90: the endpoint's own limit is at most 180 s, and a 4 MB body takes about
    /// a second to upload.
    pub timeout_secs: u32,
    /// Retries of a request after a 408, 429, 5xx, network error or unreadable answer.
    /// Default 12 (waits up to 120 s each).
    pub retries: u32,
}

impl Default for RunOptions {
    fn default() -> Self {
        let limits = BatchLimits::default();
        Self {
            images_per_request: limits.max_rows,
            max_request_bytes: limits.max_bytes,
            in_flight: 2,
            max_in_flight: 16,
            adaptive: true,
            timeout_secs: 90,
            retries: RetryPolicy::default().max_retries,
        }
    }
}

impl RunOptions {
    pub fn batch_limits(self) -> BatchLimits {
        BatchLimits {
            max_rows: self.images_per_request,
            max_bytes: self.max_request_bytes,
        }
    }

    /// The window of requests in flight a run starts with.
    pub fn concurrency(self) -> crate::endpoint::concurrency::Concurrency {
        crate::endpoint::concurrency::Concurrency::new(
            self.in_flight,
            self.max_in_flight,
            self.adaptive,
        )
    }

    pub fn retry_policy(self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.retries,
            ..RetryPolicy::default()
        }
    }
}

/// Every setting the app remembers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Same-origin path that forwards to the endpoint. Default `/score`.
    pub endpoint_path: String,
    /// Sent as `azureml-model-deployment` when not empty. Default empty: the endpoint's
    /// traffic split decides.
    pub deployment: String,
    pub run: RunOptions,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            endpoint_path: SCORE_PATH.to_string(),
            deployment: String::new(),
            run: RunOptions::default(),
        }
    }
}

/// A path on this origin: one leading `/`, and nothing a browser would turn into
/// another host — no `//` or `/\` start (browsers read `\` as `/`), no whitespace or
/// control characters (browsers strip tabs and line breaks from URLs), no backslash.
fn same_origin_path(path: &str) -> bool {
    let mut chars = path.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !path
            .chars()
            .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
}

impl Settings {
    /// The same settings, each number clamped to what the controls offer and the path
    /// kept on this origin (it must start with one `/`: pixels never leave the origin).
    pub fn sanitised(mut self) -> Self {
        self.endpoint_path = if same_origin_path(self.endpoint_path.trim()) {
            self.endpoint_path.trim().to_string()
        } else {
            SCORE_PATH.to_string()
        };
        self.deployment = self.deployment.trim().to_string();
        let r = &mut self.run;
        r.images_per_request = r
            .images_per_request
            .clamp(1, crate::endpoint::wire::MAX_ROWS);
        r.max_request_bytes = r.max_request_bytes.clamp(100_000, 100_000_000);
        r.max_in_flight = r.max_in_flight.clamp(1, 64);
        r.in_flight = r.in_flight.clamp(1, r.max_in_flight);
        r.timeout_secs = r.timeout_secs.clamp(1, 600);
        r.retries = r.retries.min(30);
        self
    }

    /// Reads stored settings; anything unreadable gives the defaults (and a stored copy
    /// from an older version keeps what it has, new fields take their defaults).
    pub fn from_json(text: &str) -> Self {
        serde_json::from_str::<Settings>(text)
            .unwrap_or_default()
            .sanitised()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let s = Settings::default();
        assert_eq!(s.endpoint_path, "/score");
        assert_eq!(s.deployment, "");
        assert_eq!(s.run.images_per_request, 8);
        assert_eq!(s.run.max_request_bytes, 4_000_000);
        assert_eq!(s.run.in_flight, 2);
        assert_eq!(s.run.max_in_flight, 16);
        assert!(s.run.adaptive);
        assert_eq!(s.run.retries, 12);
        assert_eq!(s.run.concurrency().limit(), 2);
    }

    #[test]
    fn round_trips_and_fills_missing_fields() {
        let s = Settings {
            deployment: "mii-v1".into(),
            run: RunOptions {
                in_flight: 5,
                ..RunOptions::default()
            },
            ..Settings::default()
        };
        assert_eq!(Settings::from_json(&serde_json::to_string(&s).unwrap()), s);
        let old = Settings::from_json(r#"{"deployment":"blue","run":{"in_flight":2}}"#);
        assert_eq!(old.deployment, "blue");
        assert_eq!(old.run.in_flight, 2);
        assert_eq!(old.run.images_per_request, 8);
        assert_eq!(old.endpoint_path, "/score");
    }

    #[test]
    fn unreadable_or_out_of_range_values_are_mended() {
        assert_eq!(Settings::from_json("not json"), Settings::default());
        let s = Settings::from_json(
            r#"{"endpoint_path":"https://elsewhere.example/score","run":{"images_per_request":0,"in_flight":999,"retries":99}}"#,
        );
        assert_eq!(s.endpoint_path, "/score", "pixels must stay on this origin");
        assert_eq!(s.run.images_per_request, 1);
        assert_eq!(s.run.in_flight, 16, "the start never exceeds the cap");
        assert_eq!(s.run.retries, 30);
        for sneaky in [
            "//evil.example/x",
            "/\\\\evil.example/x",
            "/\\t/evil.example",
            "/\\n/evil.example",
            "/a\\\\b",
        ] {
            let s = Settings::from_json(&format!("{{\"endpoint_path\":\"{sneaky}\"}}"));
            assert_eq!(s.endpoint_path, "/score", "{sneaky:?} must not be kept");
        }
        let s = Settings::from_json(r#"{"endpoint_path":"/proxy/score"}"#);
        assert_eq!(s.endpoint_path, "/proxy/score");
    }
}
