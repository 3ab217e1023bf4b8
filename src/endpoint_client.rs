//! Browser calls to the app's own origin about the endpoint: today, what sits behind
//! `/score` (see `medinsight_core::endpoint::info`).

use gloo_net::http::Request;
use medinsight_core::endpoint::info::{EndpointInfo, ENDPOINT_INFO_PATH};

/// Why the app could not learn what sits behind `/score`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EndpointInfoError {
    #[error("the server did not answer {ENDPOINT_INFO_PATH} ({0}); start the app with `medinsight emulate` or `medinsight proxy`")]
    Unreachable(String),
    #[error("the server answered {ENDPOINT_INFO_PATH} with HTTP {0}; is this page served by `medinsight emulate` or `medinsight proxy`?")]
    Status(u16),
    #[error("the server's {ENDPOINT_INFO_PATH} answer is not understood: {0}")]
    Invalid(String),
}

/// Asks the page's own origin what `/score` talks to.
pub async fn fetch_endpoint_info() -> Result<EndpointInfo, EndpointInfoError> {
    let res = Request::get(ENDPOINT_INFO_PATH)
        .send()
        .await
        .map_err(|e| EndpointInfoError::Unreachable(e.to_string()))?;
    if !res.ok() {
        return Err(EndpointInfoError::Status(res.status()));
    }
    res.json::<EndpointInfo>()
        .await
        .map_err(|e| EndpointInfoError::Invalid(e.to_string()))
}
