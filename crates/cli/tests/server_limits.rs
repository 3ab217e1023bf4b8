//! The server's bounds over raw loopback sockets: a client that sends half its headers
//! is never answered, a connection beyond the limit waits until one closes, a
//! `Content-Length` over the cap is refused before any body arrives, and a body that
//! stops arriving is given up on, in both the proxy and the emulator.

mod common;

use common::{emulate_args, parse, spawn_within};

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use medinsight::cli::Command;
use medinsight::proxy::ApiKey;
use medinsight::serve::ServerLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

fn limits(header_read_ms: u64, max_connections: usize) -> ServerLimits {
    ServerLimits {
        header_read_timeout: Duration::from_millis(header_read_ms),
        max_connections,
        ..ServerLimits::default()
    }
}

async fn hello() -> String {
    let router = Router::new().route("/", get(|| async { "hello" }));
    spawn_within(router, limits(300, 2)).await
}

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Whatever `stream` answers within `wait` (empty if it closed or said nothing).
async fn answer(stream: &mut TcpStream, wait: Duration) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    let _ = tokio::time::timeout(wait, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.ends_with(b"hello") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    String::from_utf8_lossy(&out).into_owned()
}

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

#[tokio::test]
async fn headers_held_past_the_timeout_are_never_answered() {
    let base = hello().await;
    let mut slow = connect(&base).await;
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // The rest arrives after the timeout (the write may fail: the server has closed).
    let _ = slow.write_all(b"\r\n").await;
    let late = answer(&mut slow, Duration::from_secs(2)).await;
    assert!(
        !late.contains("200"),
        "answered after the timeout: {late:?}"
    );
    // A prompt client on the same server is answered.
    let mut prompt = connect(&base).await;
    prompt.write_all(REQUEST).await.unwrap();
    let ok = answer(&mut prompt, Duration::from_secs(2)).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok:?}");
}

#[tokio::test]
async fn connections_over_the_limit_wait_until_one_closes() {
    let router = Router::new().route("/", get(|| async { "hello" }));
    let base = spawn_within(router, limits(10_000, 2)).await;
    // Two idle connections take the two places.
    let first = connect(&base).await;
    let _second = connect(&base).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = connect(&base).await;
    third.write_all(REQUEST).await.unwrap();
    let early = answer(&mut third, Duration::from_millis(600)).await;
    assert_eq!(early, "", "a third connection was served beyond the limit");
    drop(first);
    let later = answer(&mut third, Duration::from_secs(3)).await;
    assert!(later.starts_with("HTTP/1.1 200"), "{later:?}");
}

/// A request that announces `length` bytes and sends `sent` of them, then nothing.
fn stalled(uri: &str, length: u64, sent: &'static [u8]) -> Request<Body> {
    let chunks =
        futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(sent))])
            .chain(futures_util::stream::pending());
    Request::post(uri)
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/json")
        .header("content-length", length.to_string())
        .body(Body::from_stream(chunks))
        .unwrap()
}

use futures_util::StreamExt;

fn proxy_router(extra: &[&str], limits: ServerLimits) -> Router {
    let mut args = match parse(
        &[
            &["proxy", "--upstream", "http://127.0.0.1:9/score"][..],
            extra,
        ]
        .concat(),
    ) {
        Command::Proxy(a) => a,
        other => panic!("{other:?}"),
    };
    args.limits = limits;
    medinsight::proxy::app(&args, ApiKey::new("k").unwrap()).unwrap()
}

fn emulator_router(extra: &[&str], limits: ServerLimits) -> Router {
    let mut args = emulate_args(extra);
    args.limits = limits;
    medinsight::emulate::app(&args).unwrap()
}

/// The status `router` answers `request` with, within two seconds.
async fn status_within_2s(router: Router, request: Request<Body>) -> Option<StatusCode> {
    tokio::time::timeout(Duration::from_secs(2), router.oneshot(request))
        .await
        .ok()
        .map(|r| r.unwrap().status())
}

#[tokio::test]
async fn an_announced_length_over_the_cap_is_refused_before_the_body() {
    let gigabyte = 1 << 30;
    let proxy = proxy_router(&["--max-body-bytes", "1000"], ServerLimits::default());
    let emulator = emulator_router(&["--max-body-bytes", "1000"], ServerLimits::default());
    for (name, router) in [("proxy", proxy), ("emulator", emulator)] {
        let status = status_within_2s(router, stalled("/score", gigabyte, b"{")).await;
        assert_eq!(status, Some(StatusCode::PAYLOAD_TOO_LARGE), "{name}");
    }
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_given_up_on() {
    let quick = ServerLimits {
        body_read_timeout: Duration::from_millis(300),
        ..ServerLimits::default()
    };
    let proxy = proxy_router(&[], quick.clone());
    let emulator = emulator_router(&[], quick);
    for (name, router) in [("proxy", proxy), ("emulator", emulator)] {
        let status = status_within_2s(router, stalled("/score", 100, b"{\"input")).await;
        assert_eq!(status, Some(StatusCode::REQUEST_TIMEOUT), "{name}");
    }
}
