//! Work the page does itself, in headless Chromium: CLIP token counts (the tokenizer's
//! hasher needs the browser's random source, getrandom's `wasm_js`).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

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
