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
    let short = medinsight_web::work::tokens::count("a b c");
    assert_eq!(short.tokens, 3);
    assert_eq!(short.cut, None);
    let long = medinsight_web::work::tokens::count(&"lung ".repeat(80));
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
    medinsight_web::platform::canvas::paint(&canvas, 2, 2, &rgba).unwrap();
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
    let answer = medinsight_web::platform::fetch::post("/score", "blue", "{}".into(), 10)
        .await
        .expect("an answer");
    assert!(
        matches!(answer.status, 404 | 405),
        "status {}",
        answer.status
    );
    assert!(!answer.emulator);
    let message = medinsight_core::endpoint::wire::failure_message(
        answer.model_error.as_deref(),
        &answer.body,
    );
    assert!(!message.is_empty());
}

#[wasm_bindgen_test]
async fn the_session_store_round_trips_and_clears_in_indexeddb() {
    use medinsight_web::persist::store::{ImageMeta, LabelsRecord, SavedLabel, Store};
    let store = Store::open().await.expect("IndexedDB opens");
    store.clear().await.unwrap();
    let meta = ImageMeta {
        name: "a.png".into(),
        path: "Edema/a.png".into(),
        label: "Edema".into(),
        stage: "embedded".into(),
        fingerprint: Some(u64::MAX.to_string()),
        key: Some(u64::MAX.to_string()),
        ..Default::default()
    };
    let vector: Vec<f32> = (0..1024).map(|i| i as f32 / 1024.0).collect();
    store.put_image(7, &meta, Some(&vector)).await.unwrap();
    store.put_pixels(7, &[137, 80, 78, 71]).await.unwrap();
    store
        .put_image(
            3,
            &ImageMeta {
                name: "b.png".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let labels = LabelsRecord {
        labels: vec![SavedLabel {
            text: "x-ray chest Edema".into(),
            vector: Some(vec![0.5; 4]),
            key: Some("1".into()),
        }],
        scaling_factor: Some(4.51),
    };
    store.put_labels(&labels).await.unwrap();

    let saved = store.load().await.unwrap();
    assert_eq!(saved.images.len(), 2);
    assert_eq!(
        saved.images[0].id, 3,
        "in the order they were added (by id)"
    );
    let a = &saved.images[1];
    assert_eq!(a.meta, meta, "u64 fingerprints survive as strings");
    assert_eq!(a.vector.as_deref(), Some(vector.as_slice()));
    assert_eq!(a.png.as_deref(), Some(&[137u8, 80, 78, 71][..]));
    assert_eq!(saved.images[0].vector, None);
    assert_eq!(saved.labels, labels);

    store.delete_image(7).await.unwrap();
    assert_eq!(store.load().await.unwrap().images.len(), 1);
    store.clear().await.unwrap();
    let empty = store.load().await.unwrap();
    assert!(empty.images.is_empty() && empty.labels.labels.is_empty());
}

#[wasm_bindgen_test]
fn simd_dot_and_axpy_agree_with_plain_sums() {
    use medinsight_core::analysis::kernels::portable;
    use medinsight_core::analysis::{axpy, dot_unclamped};
    for n in [0usize, 1, 7, 8, 9, 19, 1024] {
        let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y)).sum();
        let simd = dot_unclamped(&a, &b);
        assert!((simd - plain).abs() < 1e-4, "n = {n}: {simd} vs {plain}");
        // The wasm32 kernel adds its lanes in the portable kernel's order: same bits.
        let reference = portable::dot_unclamped(&a, &b);
        assert_eq!(simd.to_bits(), reference.to_bits(), "n = {n}");
        let mut y = b.clone();
        axpy(0.5, &a, &mut y);
        let expected: Vec<f32> = a.iter().zip(&b).map(|(x, y)| y + 0.5 * x).collect();
        assert_eq!(y, expected, "n = {n}");
    }
}
