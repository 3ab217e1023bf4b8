//! The headers every answer carries, page or API, so that a browser never sniffs a
//! type, frames the app, or leaks its address to another site.
//!
//! The page gets a Content-Security-Policy that names its inline script
//! ([`crate::static_files`]); the API (`/score`, `/endpoint-info`, the emulator's
//! stats) gets `Content-Type: application/json` whatever the upstream said (an HTML
//! error page from a gateway is then never rendered as a page of this origin), a policy
//! that allows nothing, and `Cache-Control: no-store` (vectors of patients' images do
//! not belong in a cache). Errors included: the layers wrap whole routers, so a 403,
//! 405, 413 or 502 carries them as a 200 does.

use axum::http::{HeaderName, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// `router` with the headers any answer of this origin carries, and `csp`.
pub fn common(router: Router, csp: HeaderValue) -> Router {
    router
        .layer(overriding("content-security-policy", csp))
        .layer(overriding(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        ))
        .layer(overriding(
            "referrer-policy",
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(overriding(
            "x-frame-options",
            HeaderValue::from_static("DENY"),
        ))
}

/// `router` answering JSON only: every answer labelled `application/json`, uncached,
/// with a policy that allows nothing, and the [`common`] headers.
pub fn api(router: Router) -> Router {
    let router = router
        .layer(overriding(
            "content-type",
            HeaderValue::from_static("application/json"),
        ))
        .layer(overriding(
            "cache-control",
            HeaderValue::from_static("no-store"),
        ));
    common(
        router,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    )
}

fn overriding(name: &'static str, value: HeaderValue) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(HeaderName::from_static(name), value)
}
