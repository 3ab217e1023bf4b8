//! The proxy over real HTTP on loopback, in front of the emulator (run with `--key`) or
//! of a recording upstream: the key is injected, never seen by the browser, only
//! `/score` is forwarded, oversized bodies never leave, and the headers a client needs
//! for retries and model errors come back.

mod common;

use common::{emulate_args, parse, spawn, Server};

use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::routing::post;
use axum::Router;
use medinsight::cli::{Command, ProxyArgs};
use medinsight::proxy::ApiKey;
use medinsight_core::endpoint::wire::{parse_response, ParseOptions, Row, ScoreRequest};

const KEY: &str = "k3y-Th4t-Must-N0t-Leak";

fn proxy_args(upstream: &str, extra: &[&str]) -> ProxyArgs {
    match parse(&[&["proxy", "--upstream", upstream], extra].concat()) {
        Command::Proxy(a) => a,
        other => panic!("{other:?}"),
    }
}

async fn emulator(extra: &[&str]) -> String {
    let args = emulate_args(&[&["--key", KEY], extra].concat());
    spawn(medinsight::emulate::app(&args).unwrap()).await
}

async fn proxy(upstream: &str, extra: &[&str], dist: Option<&std::path::Path>) -> String {
    let mut args = proxy_args(upstream, extra);
    args.dist = dist.map(|d| d.to_path_buf());
    spawn(medinsight::proxy::app(&args, ApiKey::new(KEY).unwrap()).unwrap()).await
}

async fn get_json(url: String) -> serde_json::Value {
    serde_json::from_str(&reqwest::get(url).await.unwrap().text().await.unwrap()).unwrap()
}

async fn stats(emulator: &str) -> serde_json::Value {
    get_json(format!("{emulator}/emulator/stats")).await
}

/// A client sending `Content-Type: application/json`, as the app does.
fn json_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

fn text_request() -> ScoreRequest {
    ScoreRequest {
        rows: vec![Row::text("x-ray chest anteroposterior Atelectasis")],
        get_scaling_factor: Some(true),
    }
}

/// The browser's POST of a one-label request through the proxy at `px`.
async fn score_text(px: &str) -> reqwest::Response {
    json_client()
        .post(format!("{px}/score"))
        .header("content-type", "application/json")
        .body(text_request().to_body())
        .send()
        .await
        .unwrap()
}

/// Everything the browser can see of a response, to search for the key.
async fn visible(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let mut seen: String = res
        .headers()
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
        .collect();
    seen.push_str(&res.text().await.unwrap_or_default());
    (status, seen)
}

#[tokio::test]
async fn key_is_injected_and_never_visible_to_the_browser() {
    let emu = emulator(&[]).await;
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<title>MedImageInsight Explorer</title>",
    )
    .unwrap();
    let px = proxy(&format!("{emu}/score"), &[], Some(dist.path())).await;
    let client = json_client();
    let req = text_request();

    // The browser sends no key (or a wrong one): the proxy's key is what reaches the endpoint.
    let res = client
        .post(format!("{px}/score"))
        .header("authorization", "Bearer browser-guess")
        .body(req.to_body())
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-medinsight-emulator"], "1");
    let (status, seen) = visible(res).await;
    assert_eq!(status, 200, "{seen:.300}");
    assert!(!seen.contains(KEY));
    let body = seen
        .split_once("\n[")
        .map(|(_, b)| format!("[{b}"))
        .unwrap();
    let parsed = parse_response(&body, &req, ParseOptions::default()).unwrap();
    assert!(parsed.texts[0].is_some());

    // Nor in any other answer: errors, the info document, the page.
    let mut answers = vec![
        client
            .post(format!("{px}/score"))
            .body("{broken")
            .send()
            .await
            .unwrap(),
        client
            .post(format!("{px}/score"))
            .header("azureml-model-deployment", "nope")
            .body(req.to_body())
            .send()
            .await
            .unwrap(),
        client
            .get(format!("{px}/endpoint-info"))
            .send()
            .await
            .unwrap(),
        client.get(format!("{px}/")).send().await.unwrap(),
    ];
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    // A broken body is refused by the model container (424, its 400 in headers).
    assert_eq!(statuses, [424, 404, 200, 200]);
    for res in answers.drain(..) {
        let (_, seen) = visible(res).await;
        assert!(!seen.contains(KEY), "the key leaked in: {seen:.300}");
    }
}

#[tokio::test]
async fn wrong_key_upstream_is_a_401_the_browser_sees() {
    let emu = emulator(&[]).await;
    let mut args = proxy_args(&format!("{emu}/score"), &[]);
    args.dist = None;
    let px =
        spawn(medinsight::proxy::app(&args, ApiKey::new("not-the-key").unwrap()).unwrap()).await;
    let res = score_text(&px).await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn retry_after_and_model_error_headers_pass_through() {
    let emu = emulator(&[
        "--max-in-flight",
        "1",
        "--latency-ms",
        "400",
        "--retry-after-secs",
        "3",
    ])
    .await;
    let px = proxy(&format!("{emu}/score"), &[], None).await;
    let client = json_client();
    let body = text_request().to_body();
    let slow = client.post(format!("{px}/score")).body(body.clone()).send();
    let throttled = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        client
            .post(format!("{px}/score"))
            .body(body.clone())
            .send()
            .await
            .unwrap()
    };
    let (slow, throttled) = tokio::join!(slow, throttled);
    assert_eq!(slow.unwrap().status(), 200);
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "3");

    let emu = emulator(&["--fault-rate", "1", "--faults", "424"]).await;
    let px = proxy(&format!("{emu}/score"), &[], None).await;
    let res = client
        .post(format!("{px}/score"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 424);
    assert_eq!(res.headers()["ms-azureml-model-error-statuscode"], "500");
    assert!(res.headers().contains_key("ms-azureml-model-error-reason"));
}

#[tokio::test]
async fn oversized_body_never_reaches_upstream() {
    let emu = emulator(&[]).await;
    let px = proxy(&format!("{emu}/score"), &["--max-body-bytes", "1000"], None).await;
    let big = ScoreRequest {
        rows: vec![Row::text("a".repeat(5000))],
        get_scaling_factor: Some(false),
    };
    let res = json_client()
        .post(format!("{px}/score"))
        .body(big.to_body())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert!(res.text().await.unwrap().contains("1000 bytes"));
    assert_eq!(stats(&emu).await["requests"], 0);
}

#[tokio::test]
async fn only_post_score_is_forwarded() {
    let emu = emulator(&[]).await;
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), "<html>app</html>").unwrap();
    let px = proxy(&format!("{emu}/score"), &[], Some(dist.path())).await;
    let client = json_client();
    let body = text_request().to_body();
    let get_score = client.get(format!("{px}/score")).send().await.unwrap();
    assert_eq!(get_score.status(), 405);
    for path in ["/emulator/stats", "/other", "/score/extra", "/v1/score"] {
        let res = client
            .post(format!("{px}{path}"))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_ne!(res.status(), 200, "{path} answered like an endpoint");
        let res = client.get(format!("{px}{path}")).send().await.unwrap();
        assert!(
            !res.text().await.unwrap().contains("rows_embedded"),
            "{path} reached the emulator"
        );
    }
    assert_eq!(
        stats(&emu).await["requests"],
        0,
        "nothing but POST /score may reach upstream"
    );
}

#[tokio::test]
async fn upstream_sees_only_the_headers_it_needs() {
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let record = seen.clone();
    let upstream = Router::new().route(
        "/score",
        post(move |req: Request| async move {
            let headers = req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()));
            record.lock().unwrap().extend(headers);
            axum::Json(serde_json::json!([{"text_features": vec![0.03125f32; 1024]}]))
        }),
    );
    let up = spawn(upstream).await;
    let px = proxy(&format!("{up}/score"), &["--deployment", "blue"], None).await;
    let res = json_client()
        .post(format!("{px}/score"))
        .header("cookie", "session=browser-secret")
        .header("authorization", "Bearer browser-guess")
        .header("azureml-model-deployment", "green")
        .header("x-custom", "1")
        .body(text_request().to_body())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let seen = seen.lock().unwrap().clone();
    let get = |name: &str| {
        seen.iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(get("authorization"), [format!("Bearer {KEY}").as_str()]);
    assert_eq!(
        get("azureml-model-deployment"),
        ["blue"],
        "--deployment wins over the browser's"
    );
    assert!(
        get("cookie").is_empty() && get("x-custom").is_empty(),
        "{seen:?}"
    );
}

#[tokio::test]
async fn unreachable_upstream_is_a_502_that_says_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let px = proxy(&format!("http://127.0.0.1:{port}/score"), &[], None).await;
    let res = score_text(&px).await;
    let (status, seen) = visible(res).await;
    assert_eq!(status, 502);
    assert!(seen.contains("cannot reach the endpoint"), "{seen}");
    assert!(!seen.contains(KEY));
}

#[tokio::test]
async fn endpoint_info_names_the_upstream_without_secrets() {
    let px = proxy(
        "https://user:pw@x.westeurope.inference.ml.azure.com/score?sig=abc",
        &["--deployment", "blue"],
        None,
    )
    .await;
    let info = get_json(format!("{px}/endpoint-info")).await;
    assert_eq!(
        info,
        serde_json::json!({"kind": "proxy", "upstream": "https://x.westeurope.inference.ml.azure.com/score", "deployment": "blue"})
    );
}

/// A recording upstream: answers every `POST /score` with one text vector and keeps the
/// headers it saw.
async fn recording_upstream() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let record = seen.clone();
    let upstream = Router::new().route(
        "/score",
        post(move |req: Request| async move {
            let headers = req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()));
            record.lock().unwrap().extend(headers);
            axum::Json(serde_json::json!([{"text_features": vec![0.03125f32; 1024]}]))
        }),
    );
    (spawn(upstream).await, seen)
}

#[tokio::test]
async fn user_info_in_upstream_is_not_sent_as_a_second_authorization() {
    let (up, seen) = recording_upstream().await;
    let with_user_info = up.replace("http://", "http://user:pw@");
    let px = proxy(&format!("{with_user_info}/score?sig=abc"), &[], None).await;
    assert_eq!(score_text(&px).await.status(), 200);
    let authorizations: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, _)| k == "authorization")
        .map(|(_, v)| v.clone())
        .collect();
    assert_eq!(authorizations, [format!("Bearer {KEY}")]);
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_502_and_the_log_show_the_upstream_without_user_info_or_query() {
    let port = closed_port();
    let upstream = format!("http://usr:pa55w0rd@127.0.0.1:{port}/score?sig=s3cr3t-t0ken#frag");
    let server = Server::start(
        &["proxy", "--listen", "127.0.0.1:0", "--upstream", &upstream],
        &[
            (medinsight::proxy::KEY_VARIABLE, KEY),
            ("RUST_LOG", "medinsight=debug"),
        ],
    );
    let res = score_text(&server.url).await;
    let (status, seen) = visible(res).await;
    let log = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert_eq!(status, 502, "{seen}");
    assert!(
        seen.contains(&format!(
            "cannot reach the endpoint at http://127.0.0.1:{port}/score"
        )),
        "{seen}"
    );
    assert!(
        log.contains(&format!("http://127.0.0.1:{port}/score")),
        "{log}"
    );
    for secret in ["usr", "pa55w0rd", "s3cr3t-t0ken", "sig=", "frag", KEY] {
        assert!(!seen.contains(secret), "{secret} in the 502: {seen}");
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
}

/// The headers every answer of the proxy's API carries, whatever its status.
fn assert_api_headers(res: &reqwest::Response, what: &str) {
    let h = res.headers();
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    assert_eq!(get("content-type"), "application/json", "{what}: {h:?}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}: {h:?}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}: {h:?}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}: {h:?}");
    assert_eq!(get("cache-control"), "no-store", "{what}: {h:?}");
    assert!(
        get("content-security-policy").contains("default-src 'none'"),
        "{what}: {h:?}"
    );
}

#[tokio::test]
async fn every_api_answer_is_json_with_the_security_headers() {
    // An upstream (or a gateway before it) answering with an HTML page.
    let html = Router::new().route(
        "/score",
        post(|| async { ([("content-type", "text/html")], "<script>alert(1)</script>") }),
    );
    let up = spawn(html).await;
    let px = proxy(&format!("{up}/score"), &["--max-body-bytes", "1000"], None).await;
    let dead = proxy(
        &format!("http://127.0.0.1:{}/score", closed_port()),
        &[],
        None,
    )
    .await;
    let client = json_client();
    let json_post = |url: String, body: String| {
        client
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let answers = [
        (
            "200 with upstream HTML",
            json_post(format!("{px}/score"), text_request().to_body()).await,
        ),
        (
            "413",
            json_post(format!("{px}/score"), "x".repeat(2000)).await,
        ),
        (
            "502",
            json_post(format!("{dead}/score"), text_request().to_body()).await,
        ),
        ("405", client.get(format!("{px}/score")).send().await),
        (
            "endpoint-info",
            client.get(format!("{px}/endpoint-info")).send().await,
        ),
    ];
    let statuses: Vec<u16> = answers
        .iter()
        .map(|(_, r)| r.as_ref().unwrap().status().as_u16())
        .collect();
    assert_eq!(statuses, [200, 413, 502, 405, 200]);
    for (what, res) in &answers {
        assert_api_headers(res.as_ref().unwrap(), what);
    }
}
