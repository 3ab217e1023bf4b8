//! One scoring request through the page's own origin, as the browser sends it.
//!
//! The answer is returned whatever its status (`core::wire::failure_message` words a
//! failed one), with the headers the retry logic and the user need: `Retry-After`, the model's own error (`ms-azureml-model-error-reason`), and
//! `x-medinsight-emulator` (the emulator's mark, which turns the "not a medical model"
//! banner on). A timeout aborts the fetch and is reported like the endpoint's own 408,
//! so it is retried the same way.

use gloo_net::http::Request;
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
    #[error("the request could not be sent or its answer was cut off: {0}")]
    Network(String),
}

/// Posts `body` to `path`, waiting at most `timeout_secs`.
pub async fn post(
    path: &str,
    deployment: &str,
    body: String,
    timeout_secs: u32,
) -> Result<Answer, SendError> {
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
        other => other,
    }
}
