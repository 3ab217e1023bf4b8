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

use std::path::{Path, PathBuf};

use axum::http::HeaderValue;
use axum::Router;
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::services::{ServeDir, ServeFile};

use crate::security_headers;

#[derive(Debug, thiserror::Error)]
pub enum StaticFilesError {
    #[error("{0} has no index.html: build the app first (`trunk build --release`) or pass the right --dist")]
    NoIndex(PathBuf),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A router serving `dist` at `/`, with `index.html` for unknown paths.
pub fn router(dist: &Path) -> Result<Router, StaticFilesError> {
    let index = dist.join("index.html");
    if !index.is_file() {
        return Err(StaticFilesError::NoIndex(dist.to_path_buf()));
    }
    let html = std::fs::read_to_string(&index).map_err(|source| StaticFilesError::Read {
        path: index.clone(),
        source,
    })?;
    let csp = content_security_policy(&html);
    let files = ServeDir::new(dist).fallback(ServeFile::new(index));
    Ok(security_headers::common(
        Router::new().fallback_service(files),
        HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static("default-src 'self'")),
    ))
}

/// The policy for `index_html`: own origin only, plus the hashes of its inline scripts.
/// `wasm-unsafe-eval` lets the page compile its own wasm; inline styles are allowed
/// because Leptos sets `style` attributes, which carry no script.
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
         img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; font-src 'self'; \
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
