//! What to do when a scoring request fails: retry (after how long) or stop and explain.
//!
//! Azure ML online endpoints answer 408 when a request outlives `request_timeout_ms`,
//! 429 when more than twice `max_concurrent_requests_per_instance` × instances are in
//! flight, 503 while scaling, and other 5xx on passing faults: all worth retrying with
//! jittered exponential backoff, honouring `Retry-After`. 401 (key), 404 (deployment),
//! 413 (too large), 400 (malformed) and 424 (the model itself failed on this input) will
//! fail again unchanged: they stop and are explained to the user.
//!
//! The budget is sized for a real deployment, not the emulator: Microsoft's client
//! retries 429/5xx 15 times with waits up to 120 s, because a deployment that is scaling
//! out answers 503 for minutes. Ours defaults to 12 retries with full-jitter waits
//! doubling from 0.5 s up to 120 s (about 6 minutes of waiting in the worst case), and a
//! `Retry-After` in either of its forms (seconds, or an HTTP date) is honoured up to the
//! same 120 s.

use std::time::{Duration, UNIX_EPOCH};

/// Retry settings. `Copy + Default`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt. Default 12.
    pub max_retries: u32,
    /// First backoff ceiling; doubles each retry. Default 500 ms.
    pub base_ms: u64,
    /// Largest backoff, `Retry-After` included. Default 120 000 ms.
    pub max_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 12,
            base_ms: 500,
            max_ms: 120_000,
        }
    }
}

/// Why a request failed for good, in terms of what the user should do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("the endpoint refused the key (401): set the right key in MEDINSIGHT_API_KEY and restart `medinsight proxy`")]
    Unauthorized,
    #[error("no such deployment (404): check the deployment name in the settings, or leave it empty to use the endpoint's traffic split")]
    NoDeployment,
    #[error("the request is too large (413): lower “max bytes per request” or “images per request” in the settings")]
    TooLarge,
    #[error("the model failed on this input (424): {0}")]
    ModelError(String),
    #[error("the endpoint rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("gave up after {attempts} attempts; last answer: {last}")]
    Exhausted { attempts: u32, last: String },
    /// The browser knows it has no network: no attempt can succeed until it has, so
    /// the run stops at once instead of spending minutes of retries.
    #[error("the endpoint cannot be reached: this browser is offline. Reconnect, then press Embed again (what is embedded is kept)")]
    Offline,
}

/// The decision after a failed attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    RetryAfterMs(u64),
    Stop(Failure),
}

/// Whether this HTTP status (0 for a network error: reset, refused) is worth retrying.
pub fn retryable(status: u16) -> bool {
    matches!(status, 0 | 408 | 429 | 500..=599)
}

/// The wait a `Retry-After` header asks for, in either form RFC 9110 allows: seconds
/// (`"120"`, leniently also `"1.5"`) or an HTTP date, counted from `now_unix_ms` (a date
/// already past means no wait). `None` when absent or unreadable: backoff applies.
pub fn retry_after_ms(header: Option<&str>, now_unix_ms: u64) -> Option<u64> {
    let header = header?.trim();
    if let Ok(secs) = header.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then_some((secs * 1000.0) as u64);
    }
    let at = httpdate::parse_http_date(header).ok()?;
    let at_ms = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis();
    Some(u64::try_from(at_ms.saturating_sub(u128::from(now_unix_ms))).unwrap_or(u64::MAX))
}

/// What one failed attempt looked like, for [`decide`].
#[derive(Clone, Copy, Debug)]
pub struct Attempt<'a> {
    /// 1 for the first attempt.
    pub number: u32,
    /// HTTP status, 0 for a network error (reset, refused).
    pub status: u16,
    /// What the endpoint said (for 424, the model's reason and the body's message).
    pub message: &'a str,
    /// The `Retry-After` header, as sent.
    pub retry_after: Option<&'a str>,
    /// Milliseconds since the Unix epoch, to read a `Retry-After` date.
    pub now_unix_ms: u64,
}

/// Decides after `attempt` failed. `random` is uniform in [0, 1) and spreads retries
/// ("full jitter") so clients do not stampede.
pub fn decide(policy: RetryPolicy, attempt: Attempt<'_>, random: f64) -> Decision {
    let Attempt {
        number: attempt,
        status,
        message,
        retry_after,
        now_unix_ms,
    } = attempt;
    if !retryable(status) {
        return Decision::Stop(match status {
            401 | 403 => Failure::Unauthorized,
            404 => Failure::NoDeployment,
            413 => Failure::TooLarge,
            424 => Failure::ModelError(message.to_string()),
            _ => Failure::Rejected {
                status,
                message: message.to_string(),
            },
        });
    }
    if attempt > policy.max_retries {
        let last = if status == 0 {
            format!("network error: {message}")
        } else {
            format!("HTTP {status}: {message}")
        };
        return Decision::Stop(Failure::Exhausted {
            attempts: attempt,
            last,
        });
    }
    let ceiling = policy
        .base_ms
        .saturating_mul(1u64 << (attempt - 1).min(20))
        .min(policy.max_ms);
    let jittered = (random.clamp(0.0, 1.0) * ceiling as f64) as u64;
    let wait = retry_after_ms(retry_after, now_unix_ms)
        .map_or(jittered, |ra| ra.max(jittered))
        .min(policy.max_ms);
    Decision::RetryAfterMs(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2015-10-21T07:28:00Z, a date `Retry-After` tests count from.
    const NOW: u64 = 1_445_412_480_000;

    fn attempt<'a>(
        number: u32,
        status: u16,
        message: &'a str,
        retry_after: Option<&'a str>,
    ) -> Attempt<'a> {
        Attempt {
            number,
            status,
            message,
            retry_after,
            now_unix_ms: NOW,
        }
    }

    fn decide_at(
        p: RetryPolicy,
        number: u32,
        status: u16,
        message: &str,
        retry_after: Option<&str>,
        random: f64,
    ) -> Decision {
        decide(p, attempt(number, status, message, retry_after), random)
    }

    #[test]
    fn defaults_survive_a_real_endpoint() {
        let p = RetryPolicy::default();
        assert!(p.max_retries >= 10, "Microsoft's client retries 15 times");
        assert_eq!(p.max_ms, 120_000);
    }

    #[test]
    fn transient_statuses_retry_with_growing_jittered_waits() {
        let p = RetryPolicy::default();
        assert_eq!(
            decide_at(p, 1, 503, "", None, 0.5),
            Decision::RetryAfterMs(250)
        );
        assert_eq!(
            decide_at(p, 3, 500, "", None, 0.5),
            Decision::RetryAfterMs(1000)
        );
        assert_eq!(
            decide_at(p, 5, 0, "reset", None, 0.999_999),
            Decision::RetryAfterMs(7999)
        );
        // The ceiling caps the doubling.
        let long = RetryPolicy {
            max_retries: 30,
            ..p
        };
        assert_eq!(
            decide_at(long, 25, 408, "", None, 1.0),
            Decision::RetryAfterMs(120_000)
        );
    }

    #[test]
    fn retry_after_is_honoured_in_both_forms_but_bounded() {
        let p = RetryPolicy::default();
        assert_eq!(
            decide_at(p, 1, 429, "", Some("2"), 0.1),
            Decision::RetryAfterMs(2000)
        );
        assert_eq!(
            decide_at(p, 1, 429, "", Some("3600"), 0.1),
            Decision::RetryAfterMs(120_000)
        );
        assert_eq!(retry_after_ms(Some(" 1.5 "), NOW), Some(1500));
        // The HTTP-date form, 30 s after now; a date in the past means at once.
        assert_eq!(
            retry_after_ms(Some("Wed, 21 Oct 2015 07:28:30 GMT"), NOW),
            Some(30_000)
        );
        assert_eq!(
            retry_after_ms(Some("Wed, 21 Oct 2015 07:27:00 GMT"), NOW),
            Some(0)
        );
        assert_eq!(
            decide_at(p, 1, 503, "", Some("Wed, 21 Oct 2015 07:28:10 GMT"), 0.0),
            Decision::RetryAfterMs(10_000)
        );
        assert_eq!(retry_after_ms(Some("soon"), NOW), None);
        assert_eq!(retry_after_ms(Some("-3"), NOW), None);
    }

    #[test]
    fn permanent_failures_stop_with_advice() {
        let p = RetryPolicy::default();
        let stop = |status, msg: &str| match decide_at(p, 1, status, msg, None, 0.0) {
            Decision::Stop(f) => f,
            other => panic!("{status} should stop, got {other:?}"),
        };
        assert_eq!(stop(401, ""), Failure::Unauthorized);
        assert!(stop(401, "").to_string().contains("MEDINSIGHT_API_KEY"));
        assert_eq!(stop(404, ""), Failure::NoDeployment);
        assert_eq!(stop(413, ""), Failure::TooLarge);
        assert_eq!(
            stop(424, "row 2: cannot identify image"),
            Failure::ModelError("row 2: cannot identify image".into())
        );
        assert_eq!(
            stop(400, "input_data.data[0][1]"),
            Failure::Rejected {
                status: 400,
                message: "input_data.data[0][1]".into()
            }
        );
    }

    #[test]
    fn retries_run_out() {
        let p = RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        };
        assert!(matches!(
            decide_at(p, 2, 429, "", None, 0.0),
            Decision::RetryAfterMs(_)
        ));
        assert_eq!(
            decide_at(p, 3, 429, "busy", None, 0.0),
            Decision::Stop(Failure::Exhausted {
                attempts: 3,
                last: "HTTP 429: busy".into()
            })
        );
    }
}
