//! The page as a whole, in headless Chromium (`wasm-bindgen-test-runner`, see
//! scripts/test): the real `App` mounted into the test page, its DOM read back. One
//! test file per area of the app: this one, `state.rs`, `persist.rs`, `platform.rs`,
//! `work.rs`, `kernels.rs`, `pipeline.rs`.
//!
//! The runner's own server has no `/endpoint-info`, so these tests also see the status
//! line's error path the way a user who opened `dist/` with another server would.
#![cfg(target_arch = "wasm32")]

mod common;

use common::sleep_ms;
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
