//! The browser capabilities in `platform/`, in headless Chromium: painting a canvas
//! through `ImageData` and reading it back; a request to `/score` the server refuses
//! comes back typed with its status and message.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

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
