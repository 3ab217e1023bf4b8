//! Serving the built app (`dist/`) next to the endpoint, so one process runs everything.
//!
//! Unknown paths that look like pages fall back to `index.html` (a single-page app owns
//! its routes); a missing `dist/` is refused at start-up with a message that says how to
//! build it, rather than answering every request with 404.

use std::path::{Path, PathBuf};

use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

#[derive(Debug, thiserror::Error)]
pub enum StaticFilesError {
    #[error("{0} has no index.html: build the app first (`trunk build --release`) or pass the right --dist")]
    NoIndex(PathBuf),
}

/// A router serving `dist` at `/`, with `index.html` for unknown paths.
pub fn router(dist: &Path) -> Result<Router, StaticFilesError> {
    let index = dist.join("index.html");
    if !index.is_file() {
        return Err(StaticFilesError::NoIndex(dist.to_path_buf()));
    }
    let files = ServeDir::new(dist).fallback(ServeFile::new(index));
    Ok(Router::new().fallback_service(files))
}
