//! Serving the built app (`dist/`) next to `/score`, so one process runs everything,
//! with the security headers a page that handles medical images should have.
//!
//! The Content-Security-Policy allows only the page's own origin: no script, style,
//! font, image or connection elsewhere, so pixels cannot leave except through `/score`.
//! Trunk's `index.html` starts the wasm with one inline module script; rather than
//! allowing inline scripts, the policy names that script's SHA-256, computed from the
//! file at start-up. Unknown paths fall back to `index.html` (a single-page app owns
//! its routes); a missing `dist/` is refused at start-up with a message that says how to
//! build it, rather than answering every request with 404.
//!
//! Only regular files inside `dist/` are served: a path is resolved with every
//! symbolic link followed, and answered only if the result lies inside the canonical
//! `dist/` (a link to `~/.ssh` or `/etc` gets 404, and so does a device or a pipe).
//! tower-http's `ServeDir` follows links anywhere, so the checked path itself is handed
//! to `ServeFile` (which keeps its content types, ranges and conditional requests).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::security_headers;

#[derive(Debug, thiserror::Error)]
pub enum StaticFilesError {
    #[error("{0} has no index.html: build the app first (`trunk build --release`) or pass the right --dist")]
    NoIndex(PathBuf),
    #[error(
        "{0} leads out of the app's folder (a symbolic link?): only files inside --dist are served"
    )]
    Outside(PathBuf),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A router serving `dist` at `/`, with `index.html` for unknown paths.
pub fn router(dist: &Path) -> Result<Router, StaticFilesError> {
    if !dist.join("index.html").is_file() {
        return Err(StaticFilesError::NoIndex(dist.to_path_buf()));
    }
    let root = dist
        .canonicalize()
        .map_err(|source| StaticFilesError::Read {
            path: dist.to_path_buf(),
            source,
        })?;
    let index = match resolve(&root, "/index.html") {
        Target::File(index) => index,
        Target::Missing | Target::Refused => {
            return Err(StaticFilesError::Outside(dist.join("index.html")))
        }
    };
    let html = std::fs::read_to_string(&index).map_err(|source| StaticFilesError::Read {
        path: index.clone(),
        source,
    })?;
    let csp = content_security_policy(&html);
    let files = Router::new()
        .fallback(serve)
        .with_state(Arc::new(Dist { root, index }));
    Ok(security_headers::common(
        files,
        HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static("default-src 'self'")),
    ))
}

/// The canonical `dist/` and its `index.html`.
struct Dist {
    root: PathBuf,
    index: PathBuf,
}

/// What a request's path leads to.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// A regular file inside the root: its canonical path.
    File(PathBuf),
    /// Nothing there (or not a valid path): the single-page app's route.
    Missing,
    /// Something outside the root, or not a regular file.
    Refused,
}

/// Where `request_path` (percent-encoded, as in the URI) leads inside `root` (canonical),
/// every symbolic link followed. A directory leads to its `index.html`.
fn resolve(root: &Path, request_path: &str) -> Target {
    let Ok(decoded) = percent_encoding::percent_decode_str(request_path).decode_utf8() else {
        return Target::Missing;
    };
    let mut path = root.to_path_buf();
    // As ServeDir: plain names only; `..`, a root or a drive prefix make no file.
    for component in Path::new(decoded.trim_start_matches('/')).components() {
        match component {
            Component::Normal(name) => path.push(name),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Target::Missing
            }
        }
    }
    let Ok(mut real) = path.canonicalize() else {
        return Target::Missing;
    };
    if !real.starts_with(root) {
        return Target::Refused;
    }
    if real.is_dir() {
        match real.join("index.html").canonicalize() {
            Ok(index) => real = index,
            Err(_) => return Target::Missing,
        }
    }
    let regular = std::fs::metadata(&real).is_ok_and(|m| m.is_file());
    if real.starts_with(root) && regular {
        Target::File(real)
    } else {
        Target::Refused
    }
}

async fn serve(State(dist): State<Arc<Dist>>, request: Request) -> Response {
    let lookup = dist.clone();
    let path = request.uri().path().to_string();
    // Resolving touches the disk: off the async threads.
    let target = tokio::task::spawn_blocking(move || resolve(&lookup.root, &path))
        .await
        .unwrap_or(Target::Missing);
    let file = match target {
        Target::File(file) => file,
        Target::Missing => dist.index.clone(),
        Target::Refused => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    match ServeFile::new(file).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}

/// The policy for `index_html`: own origin only, plus the hashes of its inline scripts.
/// `wasm-unsafe-eval` lets the page compile its own wasm; inline styles are allowed
/// because Leptos sets `style` attributes, which carry no script. The service worker
/// (`/sw.js`, which `worker-src` covers) and the manifest come from this origin only;
/// the worker's own answers carry the headers they were cached with.
pub fn content_security_policy(index_html: &str) -> String {
    let hashes: String = inline_scripts(index_html)
        .map(|body| {
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body.as_bytes()))
            )
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; manifest-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// The bodies of `<script>` elements without a `src` attribute.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.match_indices("<script").filter_map(move |(start, _)| {
        let open_end = start + html[start..].find('>')?;
        let tag = &html[start..open_end];
        let body_start = open_end + 1;
        let body_end = body_start + html[body_start..].find("</script>")?;
        (!tag.contains(" src=")).then_some(&html[body_start..body_end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_inline_scripts_only() {
        let html = r#"<script src="/a.js"></script><script type="module">import init from '/x.js';</script>"#;
        let bodies: Vec<_> = inline_scripts(html).collect();
        assert_eq!(bodies, ["import init from '/x.js';"]);
        let csp = content_security_policy(html);
        // Computed independently: printf "import init from '/x.js';" | openssl dgst -sha256 -binary | base64
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-dDeiJ8+z0+Kuw0x0+TpDhzT1pOxaSCEpsCbdBR+E4Kk=';"), "{csp}");
        assert!(csp.contains("connect-src 'self';"), "{csp}");
        assert!(!csp.contains("'unsafe-eval'"), "{csp}");
    }

    #[test]
    fn no_inline_script_no_hash() {
        assert!(!content_security_policy("<html></html>").contains("sha256"));
    }
}
