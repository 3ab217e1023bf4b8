//! Browser tests of the app, run in headless Chromium by `wasm-bindgen-test-runner`
//! (see scripts/test). They mount the real `App` into the test page and read the DOM.
//!
//! The runner's own server has no `/endpoint-info`, so these tests also see the status
//! line's error path the way a user who opened `dist/` with another server would.
#![cfg(target_arch = "wasm32")]

use medinsight_web::{App, PRODUCT_NAME};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn mount() -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().dyn_into().unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    leptos::mount::mount_to(host.clone(), App).forget();
    host
}

async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// Waits up to ~5 s for `pred` to hold on the element's text.
async fn wait_for_text(el: &web_sys::HtmlElement, pred: impl Fn(&str) -> bool) -> String {
    for _ in 0..100 {
        let text = el.inner_text();
        if pred(&text) {
            return text;
        }
        sleep_ms(50).await;
    }
    el.inner_text()
}

#[wasm_bindgen_test]
fn header_shows_the_product_name() {
    let host = mount();
    let h1 = host
        .query_selector("h1.product-name")
        .unwrap()
        .expect("an h1 with the product name");
    assert_eq!(h1.text_content().unwrap(), PRODUCT_NAME);
}

#[wasm_bindgen_test]
async fn status_line_explains_a_server_without_endpoint_info() {
    let host = mount();
    let status: web_sys::HtmlElement = host
        .query_selector(".endpoint-status")
        .unwrap()
        .expect("a status line")
        .dyn_into()
        .unwrap();
    let text = wait_for_text(&status, |t| !t.contains("asking")).await;
    assert!(
        text.starts_with("Endpoint: unknown"),
        "status line was: {text}"
    );
    assert!(text.contains("HTTP 404"), "status line was: {text}");
    assert!(
        text.contains("medinsight emulate"),
        "the message should say what to do: {text}"
    );
    assert_eq!(status.get_attribute("data-state").as_deref(), Some("error"));
}

#[wasm_bindgen_test]
fn clip_tokens_are_counted_in_the_browser_as_natively() {
    // The tokenizer's hasher needs the browser's random source (getrandom's wasm_js).
    let short = medinsight_web::tokens::count("a b c");
    assert_eq!(short.tokens, 3);
    assert_eq!(short.cut, None);
    let long = medinsight_web::tokens::count(&"lung ".repeat(80));
    assert_eq!(long.tokens, 80);
    assert_eq!(long.cut.as_deref(), Some("lung lung lung lung lung"));
}

#[wasm_bindgen_test]
fn a_heatmap_is_painted_through_image_data() {
    let document = web_sys::window().unwrap().document().unwrap();
    let canvas: web_sys::HtmlCanvasElement = document
        .create_element("canvas")
        .unwrap()
        .dyn_into()
        .unwrap();
    let rgba = medinsight_core::colormap::matrix_rgba(&[1.0, 0.0, 0.5, 1.0], 0.0, 1.0);
    medinsight_web::browser::paint(&canvas, 2, 2, &rgba).unwrap();
    assert_eq!((canvas.width(), canvas.height()), (2, 2));
    let context: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    let back = context.get_image_data(0.0, 0.0, 2.0, 2.0).unwrap().data().0;
    assert_eq!(back, rgba);
}

#[wasm_bindgen_test]
async fn a_refused_score_request_comes_back_with_its_status_and_message() {
    // The test runner's server has no /score: a 404 (or 405) with its text, not a crash.
    let answer = medinsight_web::score_client::post("/score", "blue", "{}".into(), 10)
        .await
        .expect("an answer");
    assert!(
        matches!(answer.status, 404 | 405),
        "status {}",
        answer.status
    );
    assert!(!answer.emulator);
    assert!(!answer.message().is_empty());
}
