//! Which requests may make the proxy spend the key: those of the app it serves, and no
//! other page's.
//!
//! A browser lets any page send a "simple" cross-site POST (`Content-Type: text/plain`,
//! no preflight) to `http://127.0.0.1:8080/score`, and a DNS-rebinding page
//! (`evil.example` re-resolved to 127.0.0.1) even reads the answers, as the browser
//! thinks them same-origin. Each would be forwarded with the key. So `/score` and
//! `/endpoint-info` answer only a request that
//! - names a `Host` this proxy answers to: the address the connection came in on, its
//!   port at `localhost`, `127.0.0.1` or `[::1]`, or a `--public-host` the user named
//!   (a rebinding page's requests name its own domain);
//! - if the browser sent `Sec-Fetch-Site` (all current ones do), says `same-origin`, or
//!   `none`: a navigation the user started (the address typed, a bookmark), which no
//!   page can produce; `same-site` is refused, as another server on this machine, on
//!   another port, is same-site;
//! - if it sent `Origin` (browsers do on every POST), names one of those hosts, over
//!   http or https (https: behind a TLS-terminating reverse proxy at a public host);
//! - for `POST`, says `Content-Type: application/json` (parameters allowed), which no
//!   page can send cross-site without a preflight that this server never grants.
//!
//! Anything else is refused with 403 and a sentence saying what to do. Clients that are
//! not browsers (curl, scripts) send neither header and pass with the right Host and
//! type, as they could call the endpoint with the key themselves.
//!
//! The emulator applies none of this: it holds no key, so a foreign page can learn or
//! spend nothing there, and `scripts/run` puts it behind Trunk's development proxy,
//! whose forwarded requests carry the page's origin on another port.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;

use crate::serve::{json_error, LocalAddr};

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "refused: the request names no host; this proxy answers only requests for its own address"
    )]
    NoHost,
    #[error("refused: the request is for host {0:?}, which this proxy does not answer to (another site may be trying to use your key); if you opened the app under that name, start the proxy with --public-host {0}")]
    ForeignHost(String),
    #[error("refused: the browser marks this request {0:?} (Sec-Fetch-Site), not same-origin; only the app served by this proxy may use it")]
    CrossSite(String),
    #[error("refused: the request comes from the page at {0:?}, not from this proxy's own page; only the app served by this proxy may use it")]
    ForeignOrigin(String),
    #[error("refused: {SCORE} takes only Content-Type: application/json (this request: {0})")]
    NotJson(String),
}

const SCORE: &str = medinsight_core::endpoint::info::SCORE_PATH;

/// The origin a proxy serves: where it listens, and the names the user gave it.
#[derive(Clone, Debug)]
pub struct OwnOrigin {
    listen: SocketAddr,
    public_hosts: Vec<String>,
}

impl OwnOrigin {
    /// `public_hosts` as [`parse_public_host`] returns them.
    pub fn new(listen: SocketAddr, public_hosts: &[String]) -> Self {
        Self {
            listen,
            public_hosts: public_hosts.to_vec(),
        }
    }

    /// Whether `authority` (`host[:port]`) is a name of this server, reached at `local`
    /// (the connection's own address; the configured one when unknown, as in tests that
    /// call the router directly).
    pub fn answers_to(&self, authority: &str, local: Option<SocketAddr>) -> bool {
        let authority = authority.to_ascii_lowercase();
        let reached = local.unwrap_or(self.listen);
        let port = reached.port();
        let own = [
            reached.to_string(),
            self.listen.to_string(),
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
        ];
        own.contains(&authority) || self.public_hosts.contains(&authority)
    }

    /// `Ok` if a request with this method, URI and headers, arriving at `local`, comes
    /// from this proxy's own page (or from no browser at all).
    pub fn check(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        local: Option<SocketAddr>,
    ) -> Result<(), Refusal> {
        let text = |name: header::HeaderName| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string())
        };
        let host = text(header::HOST)
            .or_else(|| uri.authority().map(|a| a.to_string()))
            .ok_or(Refusal::NoHost)?;
        if !self.answers_to(&host, local) {
            return Err(Refusal::ForeignHost(shown(&host)));
        }
        if let Some(site) = text(HeaderName::from_static("sec-fetch-site")) {
            if !matches!(site.to_ascii_lowercase().as_str(), "same-origin" | "none") {
                return Err(Refusal::CrossSite(shown(&site)));
            }
        }
        if let Some(origin) = text(header::ORIGIN) {
            let lower = origin.to_ascii_lowercase();
            let authority = lower
                .strip_prefix("http://")
                .or_else(|| lower.strip_prefix("https://"));
            if !authority.is_some_and(|a| self.answers_to(a, local)) {
                return Err(Refusal::ForeignOrigin(shown(&origin)));
            }
        }
        if method == Method::POST {
            let content_type = text(header::CONTENT_TYPE);
            let essence = content_type
                .as_deref()
                .and_then(|t| t.split(';').next())
                .map(str::trim);
            if !essence.is_some_and(|t| t.eq_ignore_ascii_case("application/json")) {
                return Err(Refusal::NotJson(
                    content_type.map_or("none".to_string(), |t| shown(&t)),
                ));
            }
        }
        Ok(())
    }
}

/// A header's value as a message may quote it: at most 100 characters.
fn shown(value: &str) -> String {
    value.chars().take(100).collect()
}

/// The middleware: refuses with 403 what [`OwnOrigin::check`] refuses.
pub async fn guard(State(own): State<Arc<OwnOrigin>>, request: Request, next: Next) -> Response {
    let local = request.extensions().get::<LocalAddr>().map(|l| l.0);
    match own.check(request.method(), request.uri(), request.headers(), local) {
        Ok(()) => next.run(request).await,
        Err(refusal) => json_error(StatusCode::FORBIDDEN, refusal.to_string()),
    }
}

/// `--public-host`: a `host[:port]` the browser may name (as it will send it in `Host`
/// and `Origin`: no scheme, no path, no user-info), lower-cased.
pub fn parse_public_host(raw: &str) -> Result<String, String> {
    let authority: axum::http::uri::Authority = raw
        .parse()
        .map_err(|e| format!("{raw:?} is not host[:port]: {e}"))?;
    let port = &authority.as_str()[authority.host().len()..];
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| p.parse::<u16>().is_ok());
    if authority.as_str().contains('@') || authority.host().is_empty() || !port_ok {
        return Err(format!(
            "{raw:?} is not host[:port] (no user name, no scheme, no path)"
        ));
    }
    Ok(authority.as_str().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_hosts_are_authorities_only() {
        assert_eq!(
            parse_public_host("Explorer.Lab.org").unwrap(),
            "explorer.lab.org"
        );
        assert_eq!(
            parse_public_host("box.local:8443").unwrap(),
            "box.local:8443"
        );
        for bad in [
            "https://x.org",
            "x.org/app",
            "user@x.org",
            "",
            "x.org:port",
            "x.org:",
        ] {
            assert!(parse_public_host(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn own_names_follow_the_port_the_connection_came_in_on() {
        let own = OwnOrigin::new("127.0.0.1:0".parse().unwrap(), &["x.org".to_string()]);
        let local = Some("127.0.0.1:41234".parse().unwrap());
        for ok in ["127.0.0.1:41234", "LOCALHOST:41234", "[::1]:41234", "x.org"] {
            assert!(own.answers_to(ok, local), "{ok}");
        }
        for refused in [
            "127.0.0.1:8080",
            "localhost",
            "evil.example:41234",
            "x.org:41234",
        ] {
            assert!(!own.answers_to(refused, local), "{refused}");
        }
    }
}
