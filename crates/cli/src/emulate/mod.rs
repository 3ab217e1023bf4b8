//! `medinsight emulate`: the app and a local stand-in for a MedImageInsight endpoint.
//!
//! Like Azurite for Azure Storage, it lets the whole product run and be tested offline:
//! `POST /score` honours the real contract (see `medinsight_core::endpoint::wire`), answers with
//! deterministic stand-in vectors ([`embed`]), and fails the way the real service fails
//! (401, 404, 408, 413, 424, 429, 5xx), on demand and reproducibly ([`faults`]). It is
//! not a medical model, and every response says so in `x-medinsight-emulator: 1`.
//! Each request's work is bounded and stops when nobody waits for it ([`work`]). It
//! holds no key, so the proxy's same-origin rule ([`crate::same_origin`]) is not applied.
//! The router is built by [`app`] so tests drive it with `oneshot`; [`run`] binds it.

pub mod embed;
pub mod faults;
pub mod work;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use medinsight_core::endpoint::info::{EndpointInfo, ENDPOINT_INFO_PATH, SCORE_PATH};
use serde::Serialize;
use tokio::sync::Semaphore;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::cli::EmulateArgs;
use crate::security_headers;
use crate::serve::{json_error as error, read_body, serve, BodyError, ServeError};
use crate::static_files::{self, StaticFilesError};
use embed::Embedder;
use faults::{Fault, FaultPlan};
use work::{Cancel, WorkError};

/// The docs' example value of `scaling_factor`, returned when asked for.
pub const SCALING_FACTOR: f64 = 4.516357;
/// Marks every emulator response: the app shows a "not a medical model" banner on it.
pub const EMULATOR_HEADER: &str = "x-medinsight-emulator";
/// Where tests and benchmarks read what the emulator saw.
pub const STATS_PATH: &str = "/emulator/stats";

#[derive(Debug, thiserror::Error)]
pub enum EmulateError {
    #[error(transparent)]
    StaticFiles(#[from] StaticFilesError),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// What the emulator has seen since it started.
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    /// `POST /score` requests received, whatever their outcome.
    pub requests: AtomicU64,
    /// Rows embedded in successful answers.
    pub rows_embedded: AtomicU64,
    /// Requests refused with 429 because `--max-in-flight` were already running.
    pub throttled: AtomicU64,
    /// Requests answered with an injected fault.
    pub faults: AtomicU64,
    /// Rows whose vectors were computed, answered or not.
    pub rows_computed: AtomicU64,
    /// Requests whose work was stopped because the client left or the time ran out.
    pub cancelled: AtomicU64,
}

struct Emulator {
    args: EmulateArgs,
    embedder: Embedder,
    in_flight: Option<Arc<Semaphore>>,
    faults: FaultPlan,
    stats: Stats,
}

/// The emulator's router: `/score`, `/endpoint-info`, `/emulator/stats`, and the app
/// when `--dist` is given.
pub fn app(args: &EmulateArgs) -> Result<Router, EmulateError> {
    let state = Arc::new(Emulator {
        embedder: Embedder::new(),
        in_flight: args
            .max_in_flight
            .map(|n| Arc::new(Semaphore::new(n.max(1)))),
        faults: FaultPlan::new(args.seed, args.fault_rate, &args.faults),
        stats: Stats::default(),
        args: args.clone(),
    });
    let api = Router::new()
        .route(SCORE_PATH, post(score))
        .route(
            ENDPOINT_INFO_PATH,
            get(|| async { Json(EndpointInfo::emulator()) }),
        )
        .route(
            STATS_PATH,
            get(|State(s): State<Arc<Emulator>>| async move {
                Json(serde_json::to_value(&s.stats).unwrap_or_default())
            }),
        )
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static(EMULATOR_HEADER),
            HeaderValue::from_static("1"),
        ))
        .with_state(state);
    let api = security_headers::api(api);
    Ok(match &args.dist {
        Some(dist) => api.merge(static_files::router(dist)?),
        None => api,
    })
}

pub async fn run(args: EmulateArgs) -> Result<(), EmulateError> {
    let router = app(&args)?;
    tracing::warn!("emulator: vectors are deterministic stand-ins, not from a medical model");
    serve(args.listen, router, &args.limits).await?;
    Ok(())
}

async fn score(State(emu): State<Arc<Emulator>>, request: Request) -> Response {
    let started = Instant::now();
    emu.stats.requests.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = request.into_parts();
    if let Some(response) = check_gateway(&emu.args, &parts.headers) {
        return response;
    }
    // A place first, then the body: a request over --max-in-flight is refused before
    // its bytes are read. The place goes with the work, and comes back when it ends.
    let permit = match &emu.in_flight {
        None => None,
        Some(sem) => match sem.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                emu.stats.throttled.fetch_add(1, Ordering::Relaxed);
                let mut res = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many requests in flight for this deployment; retry later",
                );
                res.headers_mut()
                    .insert("retry-after", HeaderValue::from(emu.args.retry_after_secs));
                return res;
            }
        },
    };
    let body = match read_body(
        &parts.headers,
        body,
        emu.args.max_body_bytes,
        emu.args.limits.body_read_timeout,
    )
    .await
    {
        Ok(body) => body,
        Err(e @ BodyError::TooLarge(_)) => {
            return error(e.status(), format!("{e}; send fewer images per request"))
        }
        Err(e) => return error(e.status(), e.to_string()),
    };
    let draw = emu.faults.draw(emu.args.jitter_ms);
    let delay = Duration::from_millis(emu.args.latency_ms + draw.jitter_ms);
    let timeout = Duration::from_millis(emu.args.request_timeout_ms);
    let timed_out = || {
        error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request took longer than request_timeout_ms ({} ms)",
                timeout.as_millis()
            ),
        )
    };
    if delay > timeout || draw.fault == Some(Fault::Timeout) {
        tokio::time::sleep(delay.min(timeout)).await;
        // Only an injected 408 is a fault; latency over the timeout is the real thing.
        let injected = draw.fault == Some(Fault::Timeout);
        emu.stats
            .faults
            .fetch_add(u64::from(injected), Ordering::Relaxed);
        return timed_out();
    }
    tokio::time::sleep(delay).await;
    if let Some(fault) = draw.fault {
        emu.stats.faults.fetch_add(1, Ordering::Relaxed);
        if let Some(response) = fault.before_model() {
            return response;
        }
    }
    // The work runs on a blocking thread; `cancel` stops it when this future is dropped
    // (the client left) or the time runs out, as request_timeout_ms covers the whole
    // request on the real service, not the latency alone.
    let (cancel, cancelled) = Cancel::new();
    let worker = emu.clone();
    let work = tokio::task::spawn_blocking(move || {
        let _place = permit;
        work::score(&worker.embedder, &worker.stats, &body, &cancelled)
    });
    let left = timeout.saturating_sub(started.elapsed());
    let Ok(done) = tokio::time::timeout(left, work).await else {
        drop(cancel);
        return timed_out();
    };
    // The scoring wrapper inside the model container refuses a malformed body or a
    // mixed one (a column filled in some rows only) with its own 400, and fails on an
    // image it cannot read with a 500; the gateway hands any non-200 of the container
    // to the client as 424 with the container's status and reason in headers. So does
    // this emulator.
    let response = match done {
        Ok(Ok(r)) => r,
        Ok(Err(WorkError::Refused(reason))) => {
            return model_error(StatusCode::BAD_REQUEST, &reason)
        }
        Ok(Err(e)) => return model_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(e) => {
            return model_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the scoring task failed: {e}"),
            )
        }
    };
    drop(cancel);
    let rows = response.images.len() as u64;
    if let Some(fault) = draw.fault {
        return fault.after_model(response, emu.args.response_shape.into());
    }
    emu.stats.rows_embedded.fetch_add(rows, Ordering::Relaxed);
    let mut res = (
        [("content-type", "application/json")],
        response.to_body(emu.args.response_shape.into()),
    )
        .into_response();
    res.headers_mut().insert(
        "azureml-model-deployment",
        header_value(&emu.args.deployment),
    );
    res
}

/// What Azure's gateway checks before the model sees anything: key, then deployment.
fn check_gateway(args: &EmulateArgs, headers: &HeaderMap) -> Option<Response> {
    if let Some(key) = &args.key {
        let expected = format!("Bearer {key}");
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
            return Some(error(
                StatusCode::UNAUTHORIZED,
                "missing or wrong key: send `Authorization: Bearer <endpoint key>`",
            ));
        }
    }
    if let Some(asked) = headers.get("azureml-model-deployment") {
        let asked = asked.to_str().unwrap_or("(not text)");
        if asked != args.deployment {
            return Some(error(
                StatusCode::NOT_FOUND,
                format!(
                    "no deployment named {asked:?} on this endpoint (it has {:?})",
                    args.deployment
                ),
            ));
        }
    }
    None
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// A 424 as the service writes it: the model container's own status (400 for a request
/// it refuses, 500 for a failure while scoring) and reason in headers.
pub(crate) fn model_error(container_status: StatusCode, reason: &str) -> Response {
    let mut res = error(
        StatusCode::FAILED_DEPENDENCY,
        format!("An unexpected error occurred in scoring script: {reason}"),
    );
    res.headers_mut().insert(
        "ms-azureml-model-error-statuscode",
        HeaderValue::from(container_status.as_u16()),
    );
    res.headers_mut().insert(
        "ms-azureml-model-error-reason",
        header_value(&reason.replace(['\r', '\n'], " ")),
    );
    res
}
