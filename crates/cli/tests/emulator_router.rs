//! The emulator's router driven with `oneshot`: every status path of the contract, the
//! leniencies real clients need, the documented examples in both response shapes, and
//! every injected fault as the app's parser will see it.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use axum::Router;
use base64::Engine;
use clap::Parser;
use http_body_util::BodyExt;
use medinsight::cli::{Cli, Command, EmulateArgs};
use medinsight::emulate::{app, EMULATOR_HEADER, SCALING_FACTOR};
use medinsight_core::endpoint::wire::{
    parse_response, ParseOptions, ResponseError, Row, ScoreRequest, VectorKind,
};
use tower::ServiceExt;

fn args(extra: &[&str]) -> EmulateArgs {
    let argv = ["medinsight", "emulate"].iter().chain(extra);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Emulate(a) => a,
        other => panic!("parsed as {other:?}"),
    }
}

fn router(extra: &[&str]) -> Router {
    app(&args(extra)).unwrap()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../core/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn post() -> axum::http::request::Builder {
    Request::post("/score").header("content-type", "application/json")
}

async fn send(router: &Router, req: Request<Body>) -> (Response<()>, String) {
    let res = router.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    (
        Response::from_parts(parts, ()),
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

async fn score(router: &Router, body: &str) -> (Response<()>, String) {
    send(router, post().body(Body::from(body.to_string())).unwrap()).await
}

fn png_b64(seed: u8) -> String {
    let img = image::GrayImage::from_fn(40, 30, |x, y| {
        image::Luma([(x as u8).wrapping_mul(seed) ^ (y as u8)])
    });
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn request(rows: Vec<Row>, get_scaling_factor: Option<bool>) -> ScoreRequest {
    ScoreRequest {
        rows,
        get_scaling_factor,
    }
}

#[tokio::test]
async fn documented_examples_answer_in_both_shapes() {
    for shape in ["rows", "columns"] {
        let r = router(&["--response-shape", shape]);
        // The text-only example sends no `params`: the service's default is true.
        for (name, get_scaling_factor) in [
            ("request_text_only.json", true),
            ("request_image_text.json", true),
        ] {
            let body = fixture(name);
            let (res, text) = score(&r, &body).await;
            assert_eq!(res.status(), StatusCode::OK, "{shape} {name}: {text}");
            assert_eq!(res.headers()[EMULATOR_HEADER], "1");
            let req = medinsight_core::endpoint::wire::parse_request(body.as_bytes()).unwrap();
            let parsed = parse_response(&text, &req, ParseOptions::default()).unwrap();
            assert!(parsed.texts[0].is_some());
            assert_eq!(parsed.images[0].is_some(), name.contains("image"));
            assert_eq!(
                parsed.scaling_factor.map(|s| s.log()),
                get_scaling_factor.then_some(SCALING_FACTOR)
            );
            let is_array = text.trim_start().starts_with('[');
            assert_eq!(is_array, shape == "rows", "{shape}: {text:.80}");
        }
    }
}

#[tokio::test]
async fn same_image_same_vector_whatever_the_client_quirks() {
    let r = router(&[]);
    let b64 = png_b64(3);
    let wrapped: String = b64
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let body = serde_json::json!({
        "input_data": {"columns": ["image", "text"], "index": [0, 1, 2],
                        "data": [[b64, null], [wrapped, ""], [png_b64(9), null]]},
        "params": {"get_scaling_factor": "True"}
    })
    .to_string();
    let (res, text) = score(&r, &body).await;
    assert_eq!(res.status(), StatusCode::OK, "{text}");
    let req = request(
        vec![Row::image("a"), Row::image("b"), Row::image("c")],
        Some(true),
    );
    let parsed = parse_response(&text, &req, ParseOptions::default()).unwrap();
    let v: Vec<&Vec<f32>> = parsed.images.iter().map(|v| v.as_ref().unwrap()).collect();
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    assert!((dot(v[0], v[1]) - 1.0).abs() < 1e-6);
    assert!(dot(v[0], v[2]) < 0.99);
    assert_eq!(parsed.scaling_factor.unwrap().log(), SCALING_FACTOR);
}

#[tokio::test]
async fn takes_up_to_1024_rows() {
    // request_timeout_ms covers the work: 1024 rows in a debug build on a busy machine
    // may take more than the default 5 s.
    let r = router(&["--request-timeout-ms", "120000"]);
    let req = request(
        (0..1024).map(|i| Row::text(format!("t{i}"))).collect(),
        Some(false),
    );
    let (res, text) = score(&r, &req.to_body()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        parse_response(&text, &req, ParseOptions::default())
            .unwrap()
            .texts
            .len(),
        1024
    );
    let over = request(
        (0..1025).map(|i| Row::text(format!("t{i}"))).collect(),
        Some(false),
    );
    let (res, text) = score(&r, &over.to_body()).await;
    assert_eq!(res.status(), StatusCode::FAILED_DEPENDENCY);
    assert!(
        text.contains("input_data.data") && text.contains("1024"),
        "{text}"
    );
}

/// A request the scoring wrapper refuses reaches the client as the gateway passes it
/// on: 424, the container's 400 and its reason in headers.
fn assert_refused_by_the_model(res: &Response<()>, text: &str, names: &str) {
    assert_eq!(res.status(), StatusCode::FAILED_DEPENDENCY, "{text}");
    assert_eq!(res.headers()["ms-azureml-model-error-statuscode"], "400");
    let reason = res.headers()["ms-azureml-model-error-reason"]
        .to_str()
        .unwrap();
    assert!(reason.contains(names), "{reason:?} should name {names:?}");
    assert!(text.contains(names), "{text}");
}

#[tokio::test]
async fn malformed_request_is_424_naming_the_field() {
    let r = router(&[]);
    let (res, text) = score(
        &r,
        r#"{"input_data":{"columns":["image","text"],"data":[[1,"a"]]}}"#,
    )
    .await;
    assert_refused_by_the_model(&res, &text, "input_data.data[0][0]");
    let (res, text) = score(&r, "{not json").await;
    assert_refused_by_the_model(&res, &text, "not JSON");
}

#[tokio::test]
async fn a_batch_mixing_images_and_texts_is_refused_like_the_service() {
    let r = router(&[]);
    for empty in [serde_json::json!(""), serde_json::Value::Null] {
        let body = serde_json::json!({
            "input_data": {"columns": ["image", "text"], "index": [0, 1],
                            "data": [[png_b64(3), empty.clone()], [empty, "x-ray chest"]]},
            "params": {"get_scaling_factor": true}
        })
        .to_string();
        let (res, text) = score(&r, &body).await;
        assert_refused_by_the_model(
            &res,
            &text,
            "the image column is filled in 1 row(s) and empty in 1",
        );
    }
    // The same items, one kind per request, are answered.
    for req in [
        request(vec![Row::image(png_b64(3))], None),
        request(vec![Row::text("x-ray chest")], None),
    ] {
        let (res, text) = score(&r, &req.to_body()).await;
        assert_eq!(res.status(), StatusCode::OK, "{text}");
    }
}

#[tokio::test]
async fn missing_or_empty_params_still_bring_the_scaling_factor() {
    let r = router(&[]);
    let rows = vec![Row::text("x-ray chest")];
    let no_params = request(rows.clone(), None).to_body();
    let mut empty: serde_json::Value = serde_json::from_str(&no_params).unwrap();
    empty["params"] = serde_json::json!({});
    for (body, expected) in [
        (no_params, Some(SCALING_FACTOR)),
        (empty.to_string(), Some(SCALING_FACTOR)),
        (request(rows.clone(), Some(false)).to_body(), None),
    ] {
        let (res, text) = score(&r, &body).await;
        assert_eq!(res.status(), StatusCode::OK, "{text}");
        let parsed =
            parse_response(&text, &request(rows.clone(), None), ParseOptions::default()).unwrap();
        assert_eq!(parsed.scaling_factor.map(|s| s.log()), expected, "{body}");
    }
}

#[tokio::test]
async fn undecodable_image_is_424_with_model_error_headers() {
    let r = router(&[]);
    let junk = base64::engine::general_purpose::STANDARD.encode(b"this is a text file, not a PNG");
    let req = request(vec![Row::image(png_b64(2)), Row::image(junk)], Some(false));
    let (res, text) = score(&r, &req.to_body()).await;
    assert_eq!(res.status(), StatusCode::FAILED_DEPENDENCY);
    assert_eq!(res.headers()["ms-azureml-model-error-statuscode"], "500");
    let reason = res.headers()["ms-azureml-model-error-reason"]
        .to_str()
        .unwrap();
    assert!(reason.starts_with("row 1:"), "{reason}");
    assert!(text.contains("row 1"), "{text}");
}

#[tokio::test]
async fn key_is_enforced_when_set() {
    let r = router(&["--key", "s3cret"]);
    let body = request(vec![Row::text("a")], Some(false)).to_body();
    let (res, _) = score(&r, &body).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let wrong = post()
        .header("authorization", "Bearer nope")
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(send(&r, wrong).await.0.status(), StatusCode::UNAUTHORIZED);
    let right = post()
        .header("authorization", "Bearer s3cret")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(send(&r, right).await.0.status(), StatusCode::OK);
}

#[tokio::test]
async fn other_deployment_is_404() {
    let r = router(&["--deployment", "blue"]);
    let body = request(vec![Row::text("a")], Some(false)).to_body();
    let green = post()
        .header("azureml-model-deployment", "green")
        .body(Body::from(body.clone()))
        .unwrap();
    let (res, text) = send(&r, green).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(text.contains("green") && text.contains("blue"), "{text}");
    let blue = post()
        .header("azureml-model-deployment", "blue")
        .body(Body::from(body))
        .unwrap();
    let (res, _) = send(&r, blue).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["azureml-model-deployment"], "blue");
}

#[tokio::test]
async fn oversized_body_is_413() {
    let r = router(&["--max-body-bytes", "1000"]);
    let req = request(vec![Row::text("a".repeat(2000))], Some(false));
    let (res, text) = score(&r, &req.to_body()).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(text.contains("1000 bytes"), "{text}");
}

#[tokio::test]
async fn over_max_in_flight_is_429_with_retry_after() {
    let r = router(&[
        "--max-in-flight",
        "1",
        "--latency-ms",
        "300",
        "--retry-after-secs",
        "2",
    ]);
    let body = request(vec![Row::text("a")], Some(false)).to_body();
    let (first, second) = tokio::join!(score(&r, &body), async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        score(&r, &body).await
    });
    assert_eq!(first.0.status(), StatusCode::OK);
    assert_eq!(second.0.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(second.0.headers()["retry-after"], "2");
    let (_, stats) = send(
        &r,
        Request::get("/emulator/stats").body(Body::empty()).unwrap(),
    )
    .await;
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(
        (stats["requests"].as_u64(), stats["throttled"].as_u64()),
        (Some(2), Some(1)),
        "{stats}"
    );
}

#[tokio::test]
async fn latency_over_request_timeout_is_408() {
    let r = router(&["--latency-ms", "200", "--request-timeout-ms", "50"]);
    let (res, text) = score(&r, &request(vec![Row::text("a")], Some(false)).to_body()).await;
    assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT);
    assert!(text.contains("50 ms"), "{text}");
}

async fn with_fault(
    fault: &str,
    shape: &str,
) -> (Response<()>, Result<String, String>, ScoreRequest) {
    let r = router(&[
        "--fault-rate",
        "1",
        "--faults",
        fault,
        "--response-shape",
        shape,
    ]);
    // Both cells in every row (one kind, as the service requires), so a fault can
    // spoil either kind of vector.
    let both = |seed| Row {
        image: Some(png_b64(seed)),
        text: Some(format!("x-ray chest {seed}")),
    };
    let req = request(vec![both(5), both(6)], Some(true));
    let res = r
        .oneshot(post().body(Body::from(req.to_body())).unwrap())
        .await
        .unwrap();
    let (parts, body) = res.into_parts();
    let text = body
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .map_err(|e| e.to_string());
    (Response::from_parts(parts, ()), text, req)
}

#[tokio::test]
async fn status_faults_look_like_the_service() {
    let (res, _, _) = with_fault("424", "rows").await;
    assert_eq!(res.status(), StatusCode::FAILED_DEPENDENCY);
    assert!(res.headers().contains_key("ms-azureml-model-error-reason"));
    let (res, _, _) = with_fault("500", "rows").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let (res, _, _) = with_fault("503", "rows").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "1");
    let (res, _, _) = with_fault("408", "rows").await;
    assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(res.headers()[EMULATOR_HEADER], "1");
}

#[tokio::test]
async fn spoiled_answers_are_caught_by_the_parser_in_both_shapes() {
    for shape in ["rows", "columns"] {
        let (res, text, req) = with_fault("malformed-json", shape).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(matches!(
            parse_response(&text.unwrap(), &req, ParseOptions::default()),
            Err(ResponseError::NotJson(_))
        ));

        let (_, text, req) = with_fault("fewer-vectors", shape).await;
        let err = parse_response(&text.unwrap(), &req, ParseOptions::default()).unwrap_err();
        assert!(
            matches!(err, ResponseError::WrongCount { .. }),
            "{shape}: {err}"
        );

        let (_, text, req) = with_fault("nan", shape).await;
        let Err(err) = parse_response(&text.unwrap(), &req, ParseOptions::default()) else {
            panic!("{shape}: a NaN must not parse");
        };
        assert_eq!(
            err,
            ResponseError::NonFinite {
                kind: VectorKind::Image,
                row: 0,
                position: 0
            },
            "{shape}"
        );

        let (res, text, _) = with_fault("reset", shape).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            text.unwrap_err().contains("reset"),
            "{shape}: the body should break off"
        );
    }
}

#[test]
fn help_says_it_is_not_a_medical_model() {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let help = cmd
        .find_subcommand_mut("emulate")
        .unwrap()
        .render_long_help()
        .to_string();
    assert!(help.contains("NOT a medical model"), "{help}");
}

#[tokio::test]
async fn api_answers_are_json_with_the_security_headers() {
    let r = router(&["--key", "k"]);
    let ok = request(vec![Row::text("a")], Some(false)).to_body();
    let answers = [
        post().body(Body::from(ok.clone())).unwrap(),
        Request::get("/emulator/stats").body(Body::empty()).unwrap(),
        Request::get("/endpoint-info").body(Body::empty()).unwrap(),
    ];
    for req in answers {
        let what = req.uri().to_string();
        let (res, _) = send(&r, req).await;
        let h = res.headers();
        assert_eq!(h["content-type"], "application/json", "{what}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(h["x-frame-options"], "DENY", "{what}");
        assert_eq!(h[EMULATOR_HEADER], "1", "{what}");
    }
}

/// The emulator's counters.
async fn stats(r: &Router) -> serde_json::Value {
    let (_, text) = send(
        r,
        Request::get("/emulator/stats").body(Body::empty()).unwrap(),
    )
    .await;
    serde_json::from_str(&text).unwrap()
}

/// A request that announces 100 bytes of body, sends one, and then nothing.
fn stalled_body() -> Request<Body> {
    let chunks =
        futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{"))])
            .chain(futures_util::stream::pending());
    post()
        .header("content-length", "100")
        .body(Body::from_stream(chunks))
        .unwrap()
}

use futures_util::StreamExt;

#[tokio::test]
async fn max_in_flight_is_checked_before_the_body_is_read() {
    let r = router(&["--max-in-flight", "1"]);
    let slow_client = tokio::spawn(r.clone().oneshot(stalled_body()));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let body = request(vec![Row::text("a")], Some(false)).to_body();
    let (res, text) = score(&r, &body).await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a request still sending its body holds its place: {text}"
    );
    // The client that never finished goes: its place comes back.
    slow_client.abort();
    let _ = slow_client.await;
    let (res, text) = score(&r, &body).await;
    assert_eq!(res.status(), StatusCode::OK, "{text}");
}

/// A PNG of a few dozen bytes whose header claims `width × height` pixels, base64.
fn png_claiming(width: u32, height: u32) -> String {
    let mut bytes = Vec::new();
    image::GrayImage::new(1, 1)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32fast::hash(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn decoding_work_is_capped_per_image_and_per_request() {
    let r = router(&[]);
    // One image claiming 10 000²: refused from its header, naming its size.
    let req = request(
        vec![
            Row::image(png_b64(1)),
            Row::image(png_claiming(10_000, 10_000)),
        ],
        Some(false),
    );
    let (res, text) = score(&r, &req.to_body()).await;
    assert_eq!(res.status(), StatusCode::FAILED_DEPENDENCY, "{text}");
    let reason = res.headers()["ms-azureml-model-error-reason"]
        .to_str()
        .unwrap();
    assert!(
        reason.starts_with("row 1:") && reason.contains("10000x10000"),
        "{reason}"
    );
    // Five claiming 8000² each: each allowed alone, together over the request's budget,
    // refused before the first is decoded (row 4 is where the sum passes it).
    let req = request(
        (0..5)
            .map(|_| Row::image(png_claiming(8000, 8000)))
            .collect(),
        Some(false),
    );
    let (res, text) = score(&r, &req.to_body()).await;
    assert_eq!(res.status(), StatusCode::FAILED_DEPENDENCY, "{text}");
    let reason = res.headers()["ms-azureml-model-error-reason"]
        .to_str()
        .unwrap();
    assert!(
        reason.starts_with("row 4:") && reason.contains("limit per request"),
        "{reason}"
    );
    assert_eq!(stats(&r).await["rows_computed"], 0);
}

/// 1024 rows of 77-token texts: seconds of work for the emulator.
fn long_work() -> String {
    let text = "chest x-ray anteroposterior ".repeat(30);
    request(
        (0..1024)
            .map(|i| Row::text(format!("{i} {text}")))
            .collect(),
        Some(false),
    )
    .to_body()
}

#[tokio::test]
async fn work_stops_when_the_client_leaves() {
    let r = router(&["--request-timeout-ms", "600000"]);
    let gone = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        r.clone()
            .oneshot(post().body(Body::from(long_work())).unwrap()),
    )
    .await;
    assert!(gone.is_err(), "the work should take longer than 300 ms");
    // The work notices at its next row.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let first = stats(&r).await;
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let later = stats(&r).await;
    assert_eq!(first["cancelled"], 1, "{first}");
    assert_eq!(
        first["rows_computed"], later["rows_computed"],
        "work went on after the client left"
    );
    assert!(later["rows_computed"].as_u64().unwrap() < 1024, "{later}");
}

#[tokio::test]
async fn request_timeout_covers_the_work_not_only_the_latency() {
    let r = router(&["--request-timeout-ms", "300"]);
    let (res, text) = score(&r, &long_work()).await;
    assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT, "{text}");
    assert!(text.contains("300 ms"), "{text}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let stats = stats(&r).await;
    assert_eq!(stats["cancelled"], 1, "{stats}");
    assert!(stats["rows_computed"].as_u64().unwrap() < 1024, "{stats}");
}
