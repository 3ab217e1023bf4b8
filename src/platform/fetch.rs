//! Requests to the page's own origin: one scoring request to `/score` ([`post`]), as
//! the browser sends it, and what the server says sits behind it
//! ([`fetch_endpoint_info`], `medinsight_core::endpoint::info`).
//!
//! The answer is returned whatever its status (`core::endpoint::wire::failure_message`
//! words a failed one), with the headers the retry logic and the user need:
//! `Retry-After`, the model's own error (`ms-azureml-model-error-reason`), and
//! `x-medinsight-emulator` (the emulator's mark, which turns the "not a medical model"
//! banner on). A timeout aborts the fetch and is reported like the endpoint's own 408,
//! so it is retried the same way.
//!
//! When the browser knows it is offline (`navigator.onLine` false: no network, or the
//! installed app opened without one), neither request is sent: [`SendError::Offline`]
//! and [`EndpointInfoError::Offline`] say so, where a failed fetch's message would only
//! say "Failed to fetch". `onLine` true proves nothing (a network without the server),
//! so a failed request is still a network error, and retried.

use gloo_net::http::Request;
use medinsight_core::endpoint::info::{EndpointInfo, ENDPOINT_INFO_PATH};
use web_sys::AbortController;

/// What came back from one attempt.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<String>,
    /// The model's error text for a 424.
    pub model_error: Option<String>,
    /// The response carried `x-medinsight-emulator: 1`.
    pub emulator: bool,
}

/// Why no answer came at all.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SendError {
    #[error("no answer within {0} s (the timeout in the settings)")]
    Timeout(u32),
    #[error("the endpoint cannot be reached, or its answer was cut off: {0}")]
    Network(String),
    #[error("the endpoint cannot be reached: this browser is offline")]
    Offline,
}

/// Whether the browser knows it has no network (`navigator.onLine` false).
pub fn offline() -> bool {
    web_sys::window().is_some_and(|w| !w.navigator().on_line())
}

/// Posts `body` to `path`, waiting at most `timeout_secs`.
pub async fn post(
    path: &str,
    deployment: &str,
    body: String,
    timeout_secs: u32,
) -> Result<Answer, SendError> {
    if offline() {
        return Err(SendError::Offline);
    }
    let controller = AbortController::new().map_err(|e| SendError::Network(format!("{e:?}")))?;
    let abort = controller.clone();
    let timer = gloo_timers::callback::Timeout::new(timeout_secs.saturating_mul(1000), move || {
        abort.abort()
    });
    let signal = controller.signal();
    let mut request = Request::post(path)
        .header("content-type", "application/json")
        .abort_signal(Some(&signal));
    if !deployment.is_empty() {
        request = request.header("azureml-model-deployment", deployment);
    }
    let outcome = async {
        let response = request
            .body(body)
            .map_err(|e| SendError::Network(e.to_string()))?
            .send()
            .await
            .map_err(|e| SendError::Network(e.to_string()))?;
        let headers = response.headers();
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| SendError::Network(e.to_string()))?;
        Ok(Answer {
            status,
            body: text,
            retry_after: headers.get("retry-after"),
            model_error: headers.get("ms-azureml-model-error-reason"),
            emulator: headers.get("x-medinsight-emulator").as_deref() == Some("1"),
        })
    }
    .await;
    let timed_out = signal.aborted();
    drop(timer);
    match outcome {
        Err(_) if timed_out => Err(SendError::Timeout(timeout_secs)),
        // The network went away while the request was out.
        Err(SendError::Network(_)) if offline() => Err(SendError::Offline),
        other => other,
    }
}

/// Why the app could not learn what sits behind `/score`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EndpointInfoError {
    #[error("this browser is offline")]
    Offline,
    #[error("the server did not answer {ENDPOINT_INFO_PATH} ({0}); start the app with `medinsight emulate` or `medinsight proxy`")]
    Unreachable(String),
    #[error("the server answered {ENDPOINT_INFO_PATH} with HTTP {0}; is this page served by `medinsight emulate` or `medinsight proxy`?")]
    Status(u16),
    #[error("the server's {ENDPOINT_INFO_PATH} answer is not understood: {0}")]
    Invalid(String),
}

/// Asks the page's own origin what `/score` talks to.
pub async fn fetch_endpoint_info() -> Result<EndpointInfo, EndpointInfoError> {
    if offline() {
        return Err(EndpointInfoError::Offline);
    }
    let res = Request::get(ENDPOINT_INFO_PATH).send().await.map_err(|e| {
        if offline() {
            EndpointInfoError::Offline
        } else {
            EndpointInfoError::Unreachable(e.to_string())
        }
    })?;
    if !res.ok() {
        return Err(EndpointInfoError::Status(res.status()));
    }
    res.json::<EndpointInfo>()
        .await
        .map_err(|e| EndpointInfoError::Invalid(e.to_string()))
}
