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

/// The "new version" line: absent while nothing waits, shown when a new build's worker
/// does, and its button hands the switch to the app (which reloads the page).
#[wasm_bindgen_test]
async fn update_banner_shows_when_a_new_version_waits_and_its_button_switches() {
    use leptos::prelude::*;
    use medinsight_web::ui::widgets::update_banner::UpdateBanner;

    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().dyn_into().unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let ready = RwSignal::new(false);
    let pressed = RwSignal::new(0);
    let on_reload = Callback::new(move |()| pressed.update(|n| *n += 1));
    leptos::mount::mount_to(host.clone(), move || {
        view! { <UpdateBanner ready=ready on_reload=on_reload /> }
    })
    .forget();
    sleep_ms(0).await;
    assert!(host.query_selector(".update-banner").unwrap().is_none());

    ready.set(true);
    sleep_ms(0).await;
    let banner = host
        .query_selector(".update-banner")
        .unwrap()
        .expect("the banner");
    assert!(banner
        .text_content()
        .unwrap()
        .contains("new version of the app is ready"));
    let button: web_sys::HtmlElement = host
        .query_selector("button.reload-update")
        .unwrap()
        .expect("a Reload button")
        .dyn_into()
        .unwrap();
    button.click();
    assert_eq!(pressed.get_untracked(), 1);
}
