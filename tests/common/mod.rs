//! What the browser tests share: the page's clock, a wait of some milliseconds and a wait
//! of some animation frames (each test file takes what it uses).
#![allow(dead_code)]

/// The page's clock, in milliseconds.
pub fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

/// Waits `ms` milliseconds (a `setTimeout`), letting the page's tasks run.
pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// Waits `n` animation frames: what the page renders after a change is painted.
pub async fn frames(n: u32) {
    for _ in 0..n {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            web_sys::window()
                .unwrap()
                .request_animation_frame(&resolve)
                .unwrap();
        });
        wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
    }
}
