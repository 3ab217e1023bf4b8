//! `medinsight proxy`: the app, and `/score` forwarded to a real Azure ML endpoint with
//! the key added on the way.
//!
//! Browsers cannot call the endpoint themselves (it sends no CORS headers) and must not
//! hold its key. This proxy is the only place the key lives: read from the environment
//! (`MEDINSIGHT_API_KEY`), never from a flag (which `ps` would show), never logged, never
//! sent back. Only `POST /score` is forwarded, to the one configured URL, with a fresh
//! set of headers (so nothing the browser sent, cookies or an `Authorization` of its
//! own, reaches the endpoint), and only the response headers a client needs come back.
//! Only the app this proxy serves may use it: requests from other pages are refused
//! before anything is read ([`crate::same_origin`]).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use medinsight_core::endpoint::info::{EndpointInfo, EndpointKind, ENDPOINT_INFO_PATH, SCORE_PATH};
use medinsight_core::error_chain;
use reqwest::Url;

use crate::cli::ProxyArgs;
use crate::same_origin::{self, OwnOrigin};
use crate::security_headers;
use crate::serve::{json_error as error, read_body, serve, BodyError, ServeError};
use crate::static_files::{self, StaticFilesError};

/// The environment variable holding the endpoint's key.
pub const KEY_VARIABLE: &str = "MEDINSIGHT_API_KEY";

/// Response headers passed back to the browser; everything else (hop-by-hop headers,
/// cookies, server details) stays behind.
const PASSED_BACK: [&str; 8] = [
    "content-type",
    "retry-after",
    "ms-azureml-model-error-statuscode",
    "ms-azureml-model-error-reason",
    "x-ms-request-id",
    "x-request-id",
    "azureml-model-deployment",
    "x-medinsight-emulator",
];

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("set {KEY_VARIABLE} to your endpoint's key (Azure ML studio → Endpoints → your endpoint → Consume); it is read from the environment only")]
    NoKey,
    #[error("--upstream {0:?} is not a URL: {1}")]
    BadUpstream(String, String),
    #[error("--upstream {0} uses plain http to a host other than this machine: the key would cross the network unencrypted; use https")]
    PlainHttp(String),
    #[error("cannot build the HTTPS client: {0}")]
    Client(String),
    #[error(transparent)]
    StaticFiles(#[from] StaticFilesError),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// The endpoint key. Its `Debug` never shows it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Result<Self, ProxyError> {
        let key = key.into().trim().to_string();
        if key.is_empty() {
            return Err(ProxyError::NoKey);
        }
        Ok(Self(key))
    }

    pub fn from_env() -> Result<Self, ProxyError> {
        Self::new(std::env::var(KEY_VARIABLE).map_err(|_| ProxyError::NoKey)?)
    }

    /// The key itself, for the one header that carries it upstream.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

struct Proxy {
    upstream: Url,
    deployment: Option<String>,
    key: ApiKey,
    max_body_bytes: usize,
    body_read_timeout: Duration,
    timeout: Duration,
    client: reqwest::Client,
}

/// Checks `--upstream`: http(s) only, and plain http only to this machine.
pub fn parse_upstream(raw: &str) -> Result<Url, ProxyError> {
    let url =
        Url::parse(raw).map_err(|e| ProxyError::BadUpstream(raw.to_string(), e.to_string()))?;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(url),
        "http" if local => Ok(url),
        "http" => Err(ProxyError::PlainHttp(raw.to_string())),
        other => Err(ProxyError::BadUpstream(
            raw.to_string(),
            format!("scheme {other} is not http or https"),
        )),
    }
}

/// `url` as it may be shown (to the page, in a log, in an error): without user-info,
/// query or fragment, where tokens and passwords hide.
pub fn redacted(url: &Url) -> String {
    let mut shown = without_user_info(url);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// `url` as it may be sent with the key: without user-info. reqwest would turn user-info
/// into a second, Basic `Authorization` header next to the key's (and the endpoint
/// reads the first); an Azure ML endpoint takes only the key. The query is kept: it is
/// part of the address.
pub fn without_user_info(url: &Url) -> Url {
    let mut sent = url.clone();
    let _ = sent.set_username("");
    let _ = sent.set_password(None);
    sent
}

/// The proxy's router: `POST /score` forwarded, `/endpoint-info`, and the app.
pub fn app(args: &ProxyArgs, key: ApiKey) -> Result<Router, ProxyError> {
    let upstream = parse_upstream(&args.upstream)?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(args.timeout_secs))
        .build()
        .map_err(|e| ProxyError::Client(e.to_string()))?;
    let info = EndpointInfo {
        kind: EndpointKind::Proxy,
        upstream: Some(redacted(&upstream)),
        deployment: args.deployment.clone(),
    };
    let state = Arc::new(Proxy {
        upstream: without_user_info(&upstream),
        deployment: args.deployment.clone(),
        key,
        max_body_bytes: args.max_body_bytes,
        body_read_timeout: args.limits.body_read_timeout,
        timeout: Duration::from_secs(args.timeout_secs),
        client,
    });
    let own = Arc::new(OwnOrigin::new(args.listen, &args.public_hosts));
    let api = security_headers::api(
        Router::new()
            .route(SCORE_PATH, post(forward))
            .route(ENDPOINT_INFO_PATH, get(move || async move { Json(info) }))
            .with_state(state)
            .layer(middleware::from_fn_with_state(own, same_origin::guard)),
    );
    Ok(match &args.dist {
        Some(dist) => api.merge(static_files::router(dist)?),
        None => api,
    })
}

pub async fn run(args: ProxyArgs) -> Result<(), ProxyError> {
    let key = ApiKey::from_env()?;
    let router = app(&args, key)?;
    // The log shows the address as the page does: no user-info, no query.
    let shown = parse_upstream(&args.upstream).map(|u| redacted(&u))?;
    tracing::info!(upstream = %shown, "forwarding /score");
    serve(args.listen, router, &args.limits).await?;
    Ok(())
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // Refused here, before a byte goes upstream.
    let body = match read_body(
        &parts.headers,
        body,
        proxy.max_body_bytes,
        proxy.body_read_timeout,
    )
    .await
    {
        Ok(body) => body,
        Err(e @ BodyError::TooLarge(_)) => {
            return error(
                e.status(),
                format!("{e}; lower \"max bytes per request\" in the app's settings"),
            )
        }
        Err(e) => return error(e.status(), e.to_string()),
    };
    let deployment = proxy.deployment.clone().or_else(|| {
        parts
            .headers
            .get("azureml-model-deployment")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    let mut upstream = proxy
        .client
        .post(proxy.upstream.clone())
        .bearer_auth(proxy.key.expose())
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(body);
    if let Some(d) = deployment {
        upstream = upstream.header("azureml-model-deployment", d);
    }
    match upstream.send().await {
        Ok(res) => {
            let status =
                StatusCode::from_u16(res.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let headers = passed_back(res.headers());
            let mut out = Response::new(Body::from_stream(res.bytes_stream()));
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            out
        }
        Err(e) if e.is_timeout() => error(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "the endpoint did not answer within {} s; send fewer images per request",
                proxy.timeout.as_secs()
            ),
        ),
        // reqwest's own message names the whole URL, query included: it is dropped, and
        // the address is shown as `/endpoint-info` shows it.
        Err(e) => error(
            StatusCode::BAD_GATEWAY,
            format!(
                "cannot reach the endpoint at {}: {}",
                redacted(&proxy.upstream),
                error_chain(&e.without_url())
            ),
        ),
    }
}

fn passed_back(upstream: &reqwest::header::HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in PASSED_BACK {
        for value in upstream.get_all(name) {
            if let Ok(v) = axum::http::HeaderValue::from_bytes(value.as_bytes()) {
                out.append(HeaderName::from_static(name), v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_required_and_never_printed() {
        assert!(matches!(ApiKey::new("  "), Err(ProxyError::NoKey)));
        let key = ApiKey::new("abc123").unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        assert!(ProxyError::NoKey.to_string().contains(KEY_VARIABLE));
    }

    #[test]
    fn upstream_must_be_https_unless_local() {
        assert!(parse_upstream("https://x.westeurope.inference.ml.azure.com/score").is_ok());
        assert!(parse_upstream("http://127.0.0.1:8081/score").is_ok());
        assert!(matches!(
            parse_upstream("http://x.inference.ml.azure.com/score"),
            Err(ProxyError::PlainHttp(_))
        ));
        assert!(matches!(
            parse_upstream("ftp://x/score"),
            Err(ProxyError::BadUpstream(..))
        ));
        assert!(matches!(
            parse_upstream("not a url"),
            Err(ProxyError::BadUpstream(..))
        ));
    }
}
