//! Measurements of the page's memory and of a reload at scale, in Chromium, printing
//! figures: the wasm heap and the JavaScript heap while 1 000 prepared images of
//! 200 KB are held (their PNGs are `Blob`s the browser holds, not wasm bytes), and a
//! reload of 10 000 saved images with 1024-d vectors (records and vectors first,
//! thumbnails after). A measurement, not a test: it asserts only what must hold
//! whatever the machine (no PNG read at restore, the wasm heap not growing by the
//! PNGs' size), and is `#[ignore]`d so that `scripts/test` stays quick. Run:
//! `. scripts/env.sh && cargo test -p medinsight-web --target wasm32-unknown-unknown --test memory_timing -- --include-ignored --nocapture`
#![cfg(target_arch = "wasm32")]

mod common;

use std::sync::Arc;

use common::{now, sleep_ms};
use leptos::prelude::*;
use medinsight_core::pipeline::{AppliedWindow, PrepareOptions, SourceInfo};
use medinsight_web::persist::store::{Changes, ImageMeta, ImageRecord, PixelsRecord, Store};
use medinsight_web::platform::blobs;
use medinsight_web::state::{ImageItem, Origin, Session, Stage};
use medinsight_web::worker::protocol::PreparedImage;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// (wasm linear memory, JavaScript heap used) in MB; the second is Chromium's
/// `performance.memory`, `None` elsewhere.
fn heap_mb() -> (f64, Option<f64>) {
    let wasm = wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64;
    let performance = web_sys::window().unwrap().performance().unwrap();
    let js = js_sys::Reflect::get(&performance, &"memory".into())
        .ok()
        .and_then(|m| js_sys::Reflect::get(&m, &"usedJSHeapSize".into()).ok())
        .and_then(|v| v.as_f64());
    (wasm / 1e6, js.map(|b| b / 1e6))
}

fn window() -> AppliedWindow {
    AppliedWindow {
        kind: medinsight_core::pipeline::window::WindowKind::AsIs,
        center: 127.5,
        width: 255.0,
        inverted: false,
    }
}

fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn log(line: String) {
    web_sys::console::log_1(&line.into());
}

#[wasm_bindgen_test]
#[ignore]
async fn memory_with_a_thousand_prepared_images() {
    memory_with_prepared_images(1000, 200_000).await;
}

/// 10 000 images, with small PNGs so the measurement does not push the (shared) test
/// machine into swap: the per-image cost at the target size.
#[wasm_bindgen_test]
#[ignore]
async fn memory_with_ten_thousand_prepared_images() {
    memory_with_prepared_images(10_000, 20_000).await;
}

#[allow(non_snake_case)]
async fn memory_with_prepared_images(N: u64, PNG: usize) {
    let owner = Owner::new();
    owner.set();
    let session = Session::new(RwSignal::new(Default::default()));
    let before = heap_mb();
    for id in 1..=N {
        let png = noise(PNG, id);
        let item = ImageItem::new(
            id,
            Origin {
                name: format!("img{id}.png"),
                path: format!("a/img{id}.png"),
                label: "a".into(),
            },
            Stage::Preparing,
            PrepareOptions::default(),
            None,
            None,
        );
        item.set_prepared(PreparedImage {
            fingerprint: medinsight_core::fingerprint(&png),
            png,
            thumbnail: noise(4_000, id + 1),
            channels: 1,
            source: SourceInfo::default(),
            window: window(),
            options: PrepareOptions::default(),
        });
        item.embedding.set(Some(medinsight_web::state::Embedded {
            vector: Arc::new(vec![0.03f32; 1024]),
            key: 1,
        }));
        session.images.update(|v| v.extend([item]));
        if id % 100 == 0 {
            sleep_ms(0).await;
        }
    }
    sleep_ms(500).await;
    let after = heap_mb();
    let wasm_growth = after.0 - before.0;
    log(format!(
        "{N} prepared images of {} KB: wasm heap {:.0} → {:.0} MB (+{wasm_growth:.0}), JS heap {:?} → {:?} MB; \
         their PNGs alone are {:.0} MB",
        PNG / 1000,
        before.0,
        after.0,
        before.1.map(|m| m.round()),
        after.1.map(|m| m.round()),
        (N as usize * PNG) as f64 / 1e6,
    ));
    // Vectors (4 KB an image) and bookkeeping stay in wasm; the PNGs must not.
    let vectors = N as f64 * 4096.0 / 1e6;
    assert!(
        wasm_growth < 3.0 * vectors + 20.0,
        "the wasm heap grew by {wasm_growth:.0} MB"
    );
}

#[wasm_bindgen_test]
#[ignore]
async fn a_reload_of_ten_thousand_images() {
    const N: u64 = 10_000;
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let store = Store::open().await.unwrap();
    store.clear().await.unwrap();
    // Saved as the app saves: 256 records a transaction.
    let start = now();
    let mut changes = Changes::default();
    for id in 1..=N {
        let png = noise(2_000, id);
        let fingerprint = medinsight_core::fingerprint(&png);
        changes.images.push(ImageRecord {
            id,
            meta: ImageMeta {
                name: format!("img{id}.png"),
                path: format!("c{}/img{id}.png", id % 7),
                label: format!("c{}", id % 7),
                stage: "embedded".into(),
                channels: 1,
                source: Some(SourceInfo::default()),
                window: Some(window()),
                fingerprint: Some(fingerprint.to_string()),
                key: Some(fingerprint.to_string()),
                png_bytes: Some(png.len() as u64),
                ..ImageMeta::default()
            },
            vector: Some(Arc::new(vec![0.03f32; 1024])),
        });
        changes.pixels.push(PixelsRecord {
            id,
            png: blobs::blob(&png, "image/png").unwrap(),
            thumbnail: Some(blobs::blob(&noise(4_000, id + 7), "image/jpeg").unwrap()),
        });
        if changes.len() >= 256 || id == N {
            store.write(&std::mem::take(&mut changes)).await.unwrap();
        }
    }
    log(format!(
        "{N} images saved in {} transactions, {:.1} s",
        store.write_transactions(),
        (now() - start) / 1000.0
    ));

    let owner = Owner::new();
    owner.set();
    let session = Session::new(RwSignal::new(Default::default()));
    let before = heap_mb();
    // The longest the page goes without running a 5 ms timer: how long it is frozen.
    let longest = std::rc::Rc::new(std::cell::Cell::new(0.0f64));
    let beating = std::rc::Rc::new(std::cell::Cell::new(true));
    {
        let (longest, beating) = (longest.clone(), beating.clone());
        leptos::task::spawn_local(async move {
            let mut last = now();
            while beating.get() {
                sleep_ms(5).await;
                let t = now();
                longest.set(longest.get().max(t - last));
                last = t;
            }
        });
    }
    let load_start = now();
    let _ = store.load().await.unwrap();
    let load_ms = now() - load_start;
    let load_freeze = longest.get();
    longest.set(0.0);
    let start = now();
    let restored = session.restore().await;
    let usable = now() - start;
    let restore_freeze = longest.get();
    assert_eq!(restored.len(), N as usize);
    session.follow(restored);
    let embedded = untrack(|| session.images.with_untracked(|v| v.embedded().len()));
    assert_eq!(embedded, N as usize);
    let read = session
        .images
        .with_untracked(|v| v.iter().filter(|i| i.png.get_value().is_some()).count());
    assert_eq!(read, 0, "no PNG is read at restore");
    let mut thumbnails = 0;
    for _ in 0..600 {
        thumbnails = session.images.with_untracked(|v| {
            v.iter()
                .filter(|i| i.preview_url.get_untracked().is_some())
                .count()
        });
        if thumbnails == N as usize {
            break;
        }
        sleep_ms(50).await;
    }
    let shown = now() - start;
    sleep_ms(500).await;
    beating.set(false);
    let frozen = longest.get();
    // What the persistence layer's watchers read, tracked (inside a memo, as an effect
    // does): five signals of every image of a group, and — for comparison — of the
    // whole session, which one watcher for everything would reread on every change.
    let images = session.images;
    let read = move |n: usize| {
        Memo::new(move |_| {
            let start = now();
            let changed = images.with(|v| {
                v.iter()
                    .take(n)
                    .filter(|i| {
                        let a = i.stage.with(|s| *s == Stage::Embedded);
                        let b = i.label.with(|l| l.is_empty());
                        let c = i.options.with(|o| *o == PrepareOptions::default());
                        let d = i.embedding.with(|e| e.is_some());
                        let e = i.prepared.with(|p| p.is_some());
                        !(a && !b && c && d && e)
                    })
                    .count()
            });
            (changed, now() - start)
        })
        .get_untracked()
    };
    let (changed, group) = read(medinsight_web::persist::sync::GROUP as usize);
    assert_eq!(changed, 0);
    let (_, whole) = read(N as usize);
    let after = heap_mb();
    log(format!(
        "reload of {N}: usable (records and vectors) after {:.2} s, {thumbnails} thumbnails after {:.2} s; \
         wasm heap {:.0} → {:.0} MB, JS heap {:?} → {:?} MB; longest freeze {frozen:.0} ms (restore alone {restore_freeze:.0} ms; Store::load alone {load_ms:.0} ms, freeze {load_freeze:.0} ms); what a watcher reads: {group:.1} ms for a group of {}, {whole:.0} ms for all {N}",
        usable / 1000.0,
        shown / 1000.0,
        before.0,
        after.0,
        before.1.map(|m| m.round()),
        after.1.map(|m| m.round()),
        medinsight_web::persist::sync::GROUP,
    ));
    store.clear().await.unwrap();
}
