//! Fault injection: the emulator fails, on demand, the ways the real service and the
//! network between fail, so that the app's retries and error messages are tested
//! against every one of them.
//!
//! Draws come from one ChaCha stream seeded by `--seed`: the n-th request always gets
//! the n-th draw, so a run with the same flags and the same request order fails the
//! same way every time.

use std::sync::Mutex;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use clap::ValueEnum;
use medinsight_core::endpoint::wire::{ResponseShape, ScoreResponse};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{error, model_error};

/// A failure the emulator can inject (`--faults`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum)]
pub enum Fault {
    /// 408: the request outlived `request_timeout_ms`.
    #[value(name = "408")]
    Timeout,
    /// 424: the model failed, with `ms-azureml-model-error-*` headers.
    #[value(name = "424")]
    ModelError,
    /// 500: the service failed.
    #[value(name = "500")]
    Internal,
    /// 503: the deployment is scaling or unavailable (with `Retry-After`).
    #[value(name = "503")]
    Unavailable,
    /// 200 with a body that is not JSON.
    MalformedJson,
    /// 200 with one vector fewer than the rows asked for.
    FewerVectors,
    /// 200 with a NaN in the first vector (written as Python writes it).
    Nan,
    /// The connection drops halfway through the response body.
    Reset,
}

impl Fault {
    /// Faults that answer before the model runs; `None` for those that spoil an answer.
    pub(crate) fn before_model(self) -> Option<Response> {
        Some(match self {
            Fault::Timeout => error(
                StatusCode::REQUEST_TIMEOUT,
                "injected fault: request timeout",
            ),
            Fault::ModelError => model_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "injected fault: model error",
            ),
            Fault::Internal => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "injected fault: internal server error",
            ),
            Fault::Unavailable => {
                let mut res = error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "injected fault: the deployment is scaling",
                );
                res.headers_mut()
                    .insert("retry-after", HeaderValue::from_static("1"));
                res
            }
            Fault::MalformedJson | Fault::FewerVectors | Fault::Nan | Fault::Reset => return None,
        })
    }

    /// Spoils a valid answer.
    pub(crate) fn after_model(self, mut response: ScoreResponse, shape: ResponseShape) -> Response {
        let body = match self {
            Fault::MalformedJson => {
                let mut text = response.to_body(shape);
                text.truncate(text.len() / 2);
                Body::from(text)
            }
            Fault::FewerVectors => {
                match shape {
                    // Rows: the last row's object is missing; columns: its vector is.
                    ResponseShape::Rows => {
                        response.images.pop();
                        response.texts.pop();
                    }
                    ResponseShape::Columns => {
                        let last = response.images.iter_mut().rev().find(|v| v.is_some());
                        let last =
                            last.or_else(|| response.texts.iter_mut().rev().find(|v| v.is_some()));
                        if let Some(v) = last {
                            *v = None;
                        }
                    }
                }
                Body::from(response.to_body(shape))
            }
            Fault::Nan => {
                if let Some(v) = response
                    .images
                    .iter_mut()
                    .chain(response.texts.iter_mut())
                    .flatten()
                    .next()
                {
                    v[0] = NAN_MARKER;
                }
                // Written as Python's json writes a NaN.
                Body::from(
                    response
                        .to_body(shape)
                        .replacen(&NAN_MARKER.to_string(), "NaN", 1),
                )
            }
            Fault::Reset => {
                let text = response.to_body(shape);
                let half = Bytes::from(text[..text.len() / 2].to_string());
                let reset = std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected fault: connection reset",
                );
                Body::from_stream(futures_util::stream::iter([Ok(half), Err(reset)]))
            }
            Fault::Timeout | Fault::ModelError | Fault::Internal | Fault::Unavailable => {
                return self
                    .before_model()
                    .unwrap_or_else(|| error(StatusCode::INTERNAL_SERVER_ERROR, "fault"));
            }
        };
        ([("content-type", "application/json")], body).into_response()
    }
}

/// A value no unit vector holds, printed the same as f32 and f64, replaced by `NaN`.
const NAN_MARKER: f32 = 12345.5;

/// One request's luck: its extra latency and its fault, if any.
pub struct Draw {
    pub jitter_ms: u64,
    pub fault: Option<Fault>,
}

pub struct FaultPlan {
    rng: Mutex<ChaCha8Rng>,
    rate: f64,
    faults: Vec<Fault>,
}

impl FaultPlan {
    pub fn new(seed: u64, rate: f64, faults: &[Fault]) -> Self {
        Self {
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            rate: rate.clamp(0.0, 1.0),
            faults: faults.to_vec(),
        }
    }

    pub fn draw(&self, jitter_max_ms: u64) -> Draw {
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let jitter_ms = if jitter_max_ms > 0 {
            rng.random_range(0..=jitter_max_ms)
        } else {
            0
        };
        let roll: f64 = rng.random();
        let pick = rng.random_range(0..self.faults.len().max(1));
        let fault = (roll < self.rate)
            .then(|| self.faults.get(pick).copied())
            .flatten();
        Draw { jitter_ms, fault }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults() {
        let all = Fault::value_variants();
        let a = FaultPlan::new(7, 0.5, all);
        let b = FaultPlan::new(7, 0.5, all);
        let seq = |p: &FaultPlan| {
            (0..200)
                .map(|_| p.draw(30))
                .map(|d| (d.jitter_ms, d.fault))
                .collect::<Vec<_>>()
        };
        let first = seq(&a);
        assert_eq!(first, seq(&b));
        let faulted = first.iter().filter(|(_, f)| f.is_some()).count();
        assert!(
            (60..140).contains(&faulted),
            "about half of 200 should fault, got {faulted}"
        );
        assert!(first.iter().all(|(j, _)| *j <= 30));
        let kinds: std::collections::HashSet<_> = first.iter().filter_map(|(_, f)| *f).collect();
        assert_eq!(kinds.len(), all.len(), "every fault kind is drawn");
    }

    #[test]
    fn rate_zero_never_faults_and_one_always_does() {
        let never = FaultPlan::new(1, 0.0, &[Fault::Internal]);
        assert!((0..100).all(|_| never.draw(0).fault.is_none()));
        let always = FaultPlan::new(1, 1.0, &[Fault::Internal]);
        assert!((0..100).all(|_| always.draw(0).fault == Some(Fault::Internal)));
        let none_listed = FaultPlan::new(1, 1.0, &[]);
        assert!(none_listed.draw(0).fault.is_none());
    }
}
