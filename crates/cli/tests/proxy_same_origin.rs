//! The proxy spends the key only for its own page: the cross-site and DNS-rebinding
//! requests a hostile page can make are refused with 403 and never reach the endpoint,
//! while what the app itself sends (same origin, JSON), and a script that sends no
//! browser headers, go through.

mod common;

use common::{parse, spawn};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::routing::post;
use axum::Router;
use http_body_util::BodyExt;
use medinsight::cli::Command;
use medinsight::proxy::ApiKey;
use tower::ServiceExt;

const BODY: &str = r#"{"input_data":{"columns":["image","text"],"index":[0],"data":[["","x-ray chest"]]},"params":{"get_scaling_factor":true}}"#;

/// An upstream that counts what reaches it.
async fn counting_upstream() -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let router = Router::new().route(
        "/score",
        post(move || async move {
            seen.fetch_add(1, Ordering::SeqCst);
            axum::Json(serde_json::json!([{"text_features": vec![0.03125f32; 1024]}]))
        }),
    );
    (spawn(router).await, count)
}

/// The proxy's router, listening (as far as it knows) on 127.0.0.1:8080.
fn proxy(upstream: &str, extra: &[&str]) -> Router {
    let argv = [&["proxy", "--upstream", upstream][..], extra].concat();
    let Command::Proxy(args) = parse(&argv) else {
        unreachable!()
    };
    medinsight::proxy::app(&args, ApiKey::new("k").unwrap()).unwrap()
}

/// `headers` on a request for `path` (POSTs carry a scoring body).
fn request(method: Method, path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method.clone()).uri(path);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let body = if method == Method::POST {
        Body::from(BODY)
    } else {
        Body::empty()
    };
    builder.body(body).unwrap()
}

async fn status_and_message(router: &Router, req: Request<Body>) -> (StatusCode, String) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// What the app sends from its page at http://127.0.0.1:8080 (src/platform/fetch.rs:
/// a same-origin fetch with `content-type: application/json`).
const APP: [(&str, &str); 4] = [
    ("host", "127.0.0.1:8080"),
    ("origin", "http://127.0.0.1:8080"),
    ("sec-fetch-site", "same-origin"),
    ("content-type", "application/json"),
];

type Headers = Vec<(&'static str, &'static str)>;

fn app_but(changes: &[(&'static str, Option<&'static str>)]) -> Headers {
    let mut headers: Vec<_> = APP.to_vec();
    for (name, value) in changes {
        headers.retain(|(k, _)| k != name);
        if let Some(v) = value {
            headers.push((name, v));
        }
    }
    headers
}

#[tokio::test]
async fn pages_of_other_sites_cannot_spend_the_key() {
    let (up, reached) = counting_upstream().await;
    let router = proxy(
        &format!("{up}/score"),
        &["--public-host", "explorer.lab.org"],
    );
    let refused: Vec<(&str, Headers, &str)> = vec![
        (
            "the audit's cross-site simple POST",
            app_but(&[
                ("content-type", Some("text/plain")),
                ("origin", Some("http://evil.example")),
                ("sec-fetch-site", Some("cross-site")),
            ]),
            "Sec-Fetch-Site",
        ),
        (
            "a foreign Origin (older browser, no Sec-Fetch-Site)",
            app_but(&[
                ("origin", Some("http://evil.example")),
                ("sec-fetch-site", None),
            ]),
            "evil.example",
        ),
        (
            "another server on this machine (same-site, not same-origin)",
            app_but(&[
                ("origin", Some("http://localhost:3000")),
                ("sec-fetch-site", Some("same-site")),
            ]),
            "same-site",
        ),
        (
            "another port of this machine, no Sec-Fetch-Site",
            app_but(&[
                ("origin", Some("http://127.0.0.1:3000")),
                ("sec-fetch-site", None),
            ]),
            "127.0.0.1:3000",
        ),
        (
            "an opaque origin (sandboxed frame, file://)",
            app_but(&[("origin", Some("null")), ("sec-fetch-site", None)]),
            "null",
        ),
        (
            "DNS rebinding: same-origin to the browser, a foreign Host",
            app_but(&[
                ("host", Some("evil.example:8080")),
                ("origin", Some("http://evil.example:8080")),
            ]),
            "--public-host evil.example:8080",
        ),
        (
            "this machine at another port",
            app_but(&[("host", Some("localhost:9999")), ("origin", None)]),
            "localhost:9999",
        ),
        ("no Host at all", app_but(&[("host", None)]), "no host"),
        (
            "a form's type",
            app_but(&[("content-type", Some("application/x-www-form-urlencoded"))]),
            "application/json",
        ),
        (
            "no Content-Type",
            app_but(&[("content-type", None)]),
            "none",
        ),
        (
            "a type that only starts like JSON",
            app_but(&[("content-type", Some("application/jsonx"))]),
            "application/json",
        ),
    ];
    for (what, headers, says) in &refused {
        let (status, message) =
            status_and_message(&router, request(Method::POST, "/score", headers)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {message}");
        assert!(
            message.contains("refused") && message.contains(says),
            "{what}: {message}"
        );
    }
    // /endpoint-info: the same rule, but a GET has no type to check.
    for headers in [
        vec![("host", "evil.example:8080")],
        vec![("host", "127.0.0.1:8080"), ("sec-fetch-site", "cross-site")],
        vec![
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example"),
        ],
    ] {
        let (status, message) =
            status_and_message(&router, request(Method::GET, "/endpoint-info", &headers)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}: {message}");
    }
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "a refused request reached the endpoint"
    );
}

#[tokio::test]
async fn the_app_and_scripts_on_this_machine_are_served() {
    let (up, reached) = counting_upstream().await;
    let router = proxy(
        &format!("{up}/score"),
        &["--public-host", "Explorer.Lab.org"],
    );
    let accepted: Vec<(&str, Headers)> = vec![
        ("the app at 127.0.0.1", APP.to_vec()),
        (
            "the app at localhost",
            app_but(&[
                ("host", Some("localhost:8080")),
                ("origin", Some("http://localhost:8080")),
            ]),
        ),
        (
            "the app at [::1]",
            app_but(&[
                ("host", Some("[::1]:8080")),
                ("origin", Some("http://[::1]:8080")),
            ]),
        ),
        (
            "JSON with a charset",
            app_but(&[("content-type", Some("Application/JSON; charset=utf-8"))]),
        ),
        (
            "behind a TLS reverse proxy at the public host",
            app_but(&[
                ("host", Some("explorer.lab.org")),
                ("origin", Some("https://explorer.lab.org")),
            ]),
        ),
        (
            "curl or a script: no Origin, no Sec-Fetch-Site",
            app_but(&[("origin", None), ("sec-fetch-site", None)]),
        ),
    ];
    for (what, headers) in &accepted {
        let (status, message) =
            status_and_message(&router, request(Method::POST, "/score", headers)).await;
        assert_eq!(status, StatusCode::OK, "{what}: {message}");
    }
    assert_eq!(reached.load(Ordering::SeqCst), accepted.len());
    // The user typing the info address: a navigation, Sec-Fetch-Site: none.
    let typed = [("host", "localhost:8080"), ("sec-fetch-site", "none")];
    let (status, message) =
        status_and_message(&router, request(Method::GET, "/endpoint-info", &typed)).await;
    assert_eq!(status, StatusCode::OK, "{message}");
    assert!(message.contains("\"kind\":\"proxy\""), "{message}");
}

#[tokio::test]
async fn on_a_port_chosen_at_start_the_page_at_that_port_is_served() {
    let (up, _) = counting_upstream().await;
    let router = proxy(&format!("{up}/score"), &["--listen", "127.0.0.1:0"]);
    let px = spawn(router).await;
    let port = px.rsplit(':').next().unwrap();
    let client = reqwest::Client::new();
    let send = |host: String| {
        client
            .post(format!("{px}/score"))
            .header("content-type", "application/json")
            .header("origin", format!("http://{host}"))
            .header("host", host)
            .header("sec-fetch-site", "same-origin")
            .body(BODY)
            .send()
    };
    assert_eq!(
        send(format!("localhost:{port}")).await.unwrap().status(),
        200
    );
    assert_eq!(send("localhost:0".to_string()).await.unwrap().status(), 403);
}
