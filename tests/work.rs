//! Work the page does itself, in headless Chromium: CLIP token counts (the tokenizer's
//! hasher needs the browser's random source, getrandom's `wasm_js`), and a run against a
//! stand-in endpoint (the page's `fetch` replaced) while images are still being
//! prepared: preparing and sending overlap.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{now, sleep_ms};
use leptos::prelude::*;
use medinsight_core::endpoint::wire::{parse_request, ScoreResponse};
use medinsight_core::pipeline::{AppliedWindow, PrepareOptions, SourceInfo};
use medinsight_web::state::{ImageItem, Origin, Session, Stage};
use medinsight_web::worker::protocol::PreparedImage;
use wasm_bindgen::prelude::*;
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

/// Replaces the page's `fetch` with an endpoint that answers every scoring request
/// with unit vectors; returns, per request, (when it came, its rows).
fn stand_in_endpoint() -> Rc<RefCell<Vec<(f64, usize)>>> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    let fetch = Closure::<dyn FnMut(web_sys::Request) -> js_sys::Promise>::new(
        move |request: web_sys::Request| {
            let log = log.clone();
            wasm_bindgen_futures::future_to_promise(async move {
                let text = wasm_bindgen_futures::JsFuture::from(request.text()?).await?;
                let body = text.as_string().unwrap_or_default();
                let parsed = parse_request(body.as_bytes())
                    .map_err(|e| JsValue::from_str(&e.to_string()))?;
                log.borrow_mut().push((now(), parsed.rows.len()));
                let unit = |i: usize| {
                    let mut v = vec![0.0f32; 1024];
                    v[i % 1024] = 1.0;
                    v
                };
                let answer = ScoreResponse {
                    images: (0..parsed.rows.len())
                        .map(|i| parsed.rows[i].image.as_ref().map(|_| unit(i)))
                        .collect(),
                    texts: (0..parsed.rows.len())
                        .map(|i| parsed.rows[i].text.as_ref().map(|_| unit(i)))
                        .collect(),
                    scaling_factor: None,
                };
                let init = web_sys::ResponseInit::new();
                init.set_status(200);
                let body = answer.to_body(Default::default());
                Ok(web_sys::Response::new_with_opt_str_and_init(Some(&body), &init)?.into())
            })
        },
    );
    js_sys::Reflect::set(&js_sys::global(), &"fetch".into(), fetch.as_ref()).unwrap();
    fetch.forget();
    seen
}

/// A stand-in for a worker's answer: `id`'s own bytes, fingerprinted as the app does.
fn prepared(id: u64) -> PreparedImage {
    let png: Vec<u8> = (0..3000u64).map(|i| (i * 13 + id) as u8).collect();
    PreparedImage {
        fingerprint: medinsight_core::fingerprint(&png),
        png,
        thumbnail: vec![0xFF, 0xD8],
        channels: 1,
        source: SourceInfo::default(),
        window: AppliedWindow {
            kind: medinsight_core::pipeline::window::WindowKind::AsIs,
            center: 127.5,
            width: 255.0,
            inverted: false,
        },
        options: PrepareOptions::default(),
    }
}

#[wasm_bindgen_test]
async fn a_run_sends_each_batch_as_soon_as_its_images_are_prepared() {
    const N: u64 = 24;
    const PER_REQUEST: usize = 4;
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let owner = Owner::new();
    owner.set();
    let requests = stand_in_endpoint();
    let mut settings = medinsight_core::settings::Settings::default();
    settings.run.images_per_request = PER_REQUEST;
    let session = Session::new(RwSignal::new(settings));
    let items: Vec<ImageItem> = (1..=N)
        .map(|id| {
            let origin = Origin {
                name: format!("img{id}.png"),
                path: format!("a/img{id}.png"),
                label: "a".into(),
            };
            ImageItem::new(
                id,
                origin,
                Stage::Preparing,
                PrepareOptions::default(),
                None,
                None,
            )
        })
        .collect();
    session.images.update(|v| v.extend(items.iter().copied()));

    // The workers: one image every 40 ms, about a second for all.
    let last_prepared = Rc::new(RefCell::new(0.0));
    let workers = {
        let last_prepared = last_prepared.clone();
        let items = items.clone();
        async move {
            for item in items {
                sleep_ms(40).await;
                item.set_prepared(prepared(item.id));
                *last_prepared.borrow_mut() = now();
            }
        }
    };
    futures::future::join(workers, medinsight_web::work::run::run(session)).await;

    let requests = requests.borrow().clone();
    let embedded = items
        .iter()
        .filter(|i| i.stage.get_untracked() == Stage::Embedded)
        .count();
    assert_eq!(embedded, N as usize, "requests: {requests:?}");
    assert!(
        requests[0].0 < *last_prepared.borrow(),
        "the first request went out at {:.0} ms, after the last image was prepared at {:.0} ms",
        requests[0].0,
        last_prepared.borrow()
    );
    // Only complete batches while images were still coming.
    let rows: Vec<usize> = requests.iter().map(|r| r.1).collect();
    assert_eq!(rows, vec![PER_REQUEST; N as usize / PER_REQUEST]);
    let progress = session.progress.get_untracked();
    assert_eq!(
        (progress.total, progress.embedded),
        (N as usize, N as usize)
    );
    assert_eq!(progress.prepared, N as usize);
    let end = progress.finished_ms.unwrap();
    let (prepared_rate, embedded_rate) = (
        progress.prepared_per_s(end).unwrap(),
        progress.embedded_per_s(end).unwrap(),
    );
    // 24 images at one per 40 ms: about 25 a second (timers in a busy browser are late).
    assert!(
        (5.0..=30.0).contains(&prepared_rate),
        "{prepared_rate} prepared/s"
    );
    web_sys::console::log_1(
        &format!("{prepared_rate:.1} images prepared/s, {embedded_rate:.1} rows embedded/s").into(),
    );
}
