//! The app's files are served from `dist/` only: a symbolic link out of it (to a
//! secret, to a folder) is not followed, a link inside it is, unknown paths get the
//! app's `index.html`, and every answer carries the page's security headers.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn get(router: &Router, path: &str) -> (StatusCode, String, axum::http::HeaderMap) {
    let res = router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        String::from_utf8_lossy(&bytes).into_owned(),
        parts.headers,
    )
}

#[cfg(unix)]
#[tokio::test]
async fn symbolic_links_out_of_dist_are_not_followed() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    let outside = tmp.path().join("private");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(dist.join("index.html"), "<title>app</title>").unwrap();
    std::fs::write(dist.join("assets/app.js"), "console.log(1)").unwrap();
    std::fs::write(outside.join("secret.txt"), "PATIENT-SECRET").unwrap();
    symlink(outside.join("secret.txt"), dist.join("leak.txt")).unwrap();
    symlink(&outside, dist.join("private")).unwrap();
    symlink("/dev/zero", dist.join("zero")).unwrap();
    symlink(dist.join("assets/app.js"), dist.join("alias.js")).unwrap();
    let router = medinsight::static_files::router(&dist).unwrap();

    for path in ["/leak.txt", "/private/secret.txt", "/private/", "/zero"] {
        let (status, body, _) = get(&router, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body:.100}");
        assert!(!body.contains("PATIENT-SECRET"), "{path}");
    }
    for path in [
        "/%2e%2e/private/secret.txt",
        "/assets/../../private/secret.txt",
    ] {
        let (_, body, _) = get(&router, path).await;
        assert!(!body.contains("PATIENT-SECRET"), "{path}: {body:.100}");
    }
    // Inside dist/, links are fine, and files keep their types.
    let (status, body, headers) = get(&router, "/alias.js").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "console.log(1)"));
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    let (status, body, _) = get(&router, "/assets/app.js").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "console.log(1)"));
    // The app's own routes, and the folder itself, get index.html.
    for path in ["/", "/gallery", "/assets/"] {
        let (status, body, headers) = get(&router, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body, "<title>app</title>", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'"));
    }
}

#[cfg(unix)]
#[test]
fn an_index_html_linked_from_elsewhere_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(tmp.path().join("elsewhere.html"), "<p>x</p>").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("elsewhere.html"), dist.join("index.html")).unwrap();
    let err = medinsight::static_files::router(&dist).unwrap_err();
    assert!(
        err.to_string().contains("only files inside --dist"),
        "{err}"
    );
}

/// The installable app's files: the service worker at the root (its scope is the whole
/// app with no `Service-Worker-Allowed` header) as JavaScript, the manifest as a
/// manifest, the icons as PNG; and the page's policy lets the worker and the manifest
/// come from this origin only.
#[tokio::test]
async fn service_worker_and_manifest_are_served_with_their_types() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<title>app</title>").unwrap();
    std::fs::write(dist.join("sw.js"), "const VERSION = \"1\";").unwrap();
    std::fs::write(dist.join("manifest.webmanifest"), "{}").unwrap();
    std::fs::write(dist.join("icon-192.png"), b"\x89PNG").unwrap();
    let router = medinsight::static_files::router(&dist).unwrap();

    for (path, body, content_type) in [
        ("/sw.js", "const VERSION = \"1\";", "text/javascript"),
        ("/manifest.webmanifest", "{}", "application/manifest+json"),
        ("/icon-192.png", "\u{FFFD}PNG", "image/png"),
    ] {
        let (status, got, headers) = get(&router, path).await;
        assert_eq!((status, got.as_str()), (StatusCode::OK, body), "{path}");
        assert_eq!(headers["content-type"], content_type, "{path}");
        assert!(
            !headers.contains_key("service-worker-allowed"),
            "{path}: no wider scope is ever granted"
        );
    }
    let (_, _, headers) = get(&router, "/").await;
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("worker-src 'self' blob:;"), "{csp}");
    assert!(csp.contains("manifest-src 'self';"), "{csp}");
}
