//! `medinsight emulate`: the app and a local stand-in for a MedImageInsight endpoint.
//!
//! Like Azurite for Azure Storage, it lets the whole product run and be tested offline.
//! The router is built by [`app`] so tests drive it with `oneshot`; [`run`] binds it.

use axum::routing::get;
use axum::{Json, Router};
use medinsight_core::endpoint_info::{EndpointInfo, ENDPOINT_INFO_PATH};

use crate::cli::EmulateArgs;
use crate::serve::{serve, ServeError};
use crate::static_files::{self, StaticFilesError};

#[derive(Debug, thiserror::Error)]
pub enum EmulateError {
    #[error(transparent)]
    StaticFiles(#[from] StaticFilesError),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// The emulator's router: endpoint information, and the app when `dist` is given.
pub fn app(args: &EmulateArgs) -> Result<Router, EmulateError> {
    let api = Router::new().route(
        ENDPOINT_INFO_PATH,
        get(|| async { Json(EndpointInfo::emulator()) }),
    );
    Ok(match &args.dist {
        Some(dist) => api.merge(static_files::router(dist)?),
        None => api,
    })
}

pub async fn run(args: EmulateArgs) -> Result<(), EmulateError> {
    let router = app(&args)?;
    tracing::warn!("emulator: vectors are deterministic stand-ins, not from a medical model");
    serve(args.listen, router).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn args(dist: Option<std::path::PathBuf>) -> EmulateArgs {
        EmulateArgs {
            listen: "127.0.0.1:0".parse().unwrap(),
            dist,
        }
    }

    async fn get_text(app: Router, uri: &str) -> (StatusCode, String) {
        let res = app
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn endpoint_info_says_emulator() {
        let (status, body) = get_text(app(&args(None)).unwrap(), ENDPOINT_INFO_PATH).await;
        assert_eq!(status, StatusCode::OK);
        let info: EndpointInfo = serde_json::from_str(&body).unwrap();
        assert_eq!(info, EndpointInfo::emulator());
    }

    #[tokio::test]
    async fn serves_dist_with_index_fallback() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        std::fs::write(
            dir.join("index.html"),
            "<title>MedImageInsight Explorer</title>",
        )
        .unwrap();
        std::fs::write(dir.join("app.js"), "console.log(1)").unwrap();
        let router = app(&args(Some(dir.clone()))).unwrap();
        assert_eq!(
            get_text(router.clone(), "/app.js").await,
            (StatusCode::OK, "console.log(1)".into())
        );
        let (status, body) = get_text(router, "/some/page").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("MedImageInsight Explorer"));
    }

    #[test]
    fn missing_dist_is_refused_with_a_hint() {
        let err = app(&args(Some("/nonexistent/dist".into()))).unwrap_err();
        assert!(err.to_string().contains("trunk build"), "{err}");
    }
}
