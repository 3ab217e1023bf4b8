//! The session kept in the browser, in headless Chromium: IndexedDB records written,
//! read back (u64 fingerprints as strings, vectors as `Float32Array`), deleted and
//! cleared.
#![cfg(target_arch = "wasm32")]

mod common;

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn the_session_store_round_trips_and_clears_in_indexeddb() {
    use medinsight_web::persist::store::{
        Changes, ImageMeta, LabelsRecord, PixelsRecord, SavedLabel, Store,
    };
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
    let png = medinsight_web::platform::blobs::blob(&[137, 80, 78, 71], "image/png").unwrap();
    store
        .write(&Changes {
            pixels: vec![PixelsRecord {
                id: 7,
                png,
                thumbnail: None,
            }],
            ..Changes::default()
        })
        .await
        .unwrap();
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
    // Pixels are not read with the records, only known to be there.
    assert!(a.has_pixels && !saved.images[0].has_pixels);
    assert_eq!(png_bytes(&store, 7).await, Some(vec![137u8, 80, 78, 71]));
    assert_eq!(saved.images[0].vector, None);
    assert_eq!(saved.labels, labels);

    store.delete_image(7).await.unwrap();
    assert_eq!(store.load().await.unwrap().images.len(), 1);
    store.clear().await.unwrap();
    let empty = store.load().await.unwrap();
    assert!(empty.images.is_empty() && empty.labels.labels.is_empty());
}

use common::{now, sleep_ms};
use leptos::prelude::*;
use medinsight_core::pipeline::{AppliedWindow, PrepareOptions, SourceInfo};
use medinsight_web::persist::store::{Store, StoredPng};
use medinsight_web::platform::blobs;
use medinsight_web::state::{ImageItem, Origin, Session, Stage};
use medinsight_web::worker::protocol::PreparedImage;

/// Waits up to 20 s for `done`.
async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..400 {
        if done().await {
            return;
        }
        sleep_ms(50).await;
    }
    panic!("timed out waiting for {what}");
}

/// The saved PNG of `id`, as bytes, whichever layout it is saved in.
async fn png_bytes(store: &Store, id: u64) -> Option<Vec<u8>> {
    match store.pngs(&[id]).await.unwrap().pop().flatten()? {
        StoredPng::Blob(b) => Some(blobs::read(&b).await.unwrap()),
        StoredPng::Bytes(b) => Some(b),
    }
}

fn window() -> AppliedWindow {
    AppliedWindow {
        kind: medinsight_core::pipeline::window::WindowKind::AsIs,
        center: 127.5,
        width: 255.0,
        inverted: false,
    }
}

/// A stand-in for a worker's answer: `id`'s own bytes, fingerprinted as the app does.
fn prepared(id: u64) -> PreparedImage {
    let png: Vec<u8> = (0..2000u64).map(|i| (i * 7 + id) as u8).collect();
    PreparedImage {
        fingerprint: medinsight_core::fingerprint(&png),
        png,
        thumbnail: vec![0xFF, 0xD8, id as u8],
        channels: 1,
        source: SourceInfo {
            format: "PNG".into(),
            width: 512,
            height: 512,
            ..SourceInfo::default()
        },
        window: window(),
        options: PrepareOptions::default(),
    }
}

fn origin(id: u64) -> Origin {
    Origin {
        name: format!("img{id}.png"),
        path: format!("Edema/img{id}.png"),
        label: "Edema".into(),
    }
}

#[wasm_bindgen_test]
async fn the_session_is_saved_in_few_transactions_and_restored_without_reading_pixels() {
    const N: u64 = 600;
    let _ = any_spawner::Executor::init_wasm_bindgen();
    Store::open().await.unwrap().clear().await.unwrap();
    let owner = Owner::new();
    owner.set();
    let session = Session::new(RwSignal::new(Default::default()));
    let restored = session.restore().await;
    assert!(restored.is_empty());
    session.follow(restored);
    let before = session.write_transactions();

    // 600 images prepared at once: 600 records and 600 PNGs with their thumbnails.
    let items: Vec<ImageItem> = (1..=N)
        .map(|id| {
            ImageItem::new(
                id,
                origin(id),
                Stage::Preparing,
                PrepareOptions::default(),
                None,
                None,
            )
        })
        .collect();
    session.images.update(|v| v.extend(items.iter().copied()));
    for item in &items {
        item.set_prepared(prepared(item.id));
    }
    let check = Store::open().await.unwrap();
    wait_for("600 records with pixels", async || {
        let saved = check.load().await.unwrap();
        saved.images.len() == N as usize && saved.images.iter().all(|i| i.has_pixels)
    })
    .await;
    wait_for("the PNG Blobs let go of once saved", async || {
        items.iter().all(|i| i.png.get_value().is_none())
    })
    .await;
    let bulk = session.write_transactions() - before;
    // 1 200 records in chunks of 256 and the labels record: 5 transactions, a couple
    // more if a chunk goes before every group has been read — not 1 200.
    assert!(
        (5..=8).contains(&bulk),
        "{bulk} transactions for {N} prepared images"
    );

    // A label typed key by key: 40 changes 10 ms apart, saved at most once per pass.
    let first = items[0];
    let before = session.write_transactions();
    let start = now();
    for k in 1..=40 {
        first.label.set(format!("Edema-{k}"));
        sleep_ms(10).await;
    }
    let elapsed = now() - start;
    wait_for("the last keystroke saved", async || {
        check.load().await.unwrap().images[0].meta.label == "Edema-40"
    })
    .await;
    let typed = session.write_transactions() - before;
    let passes = (elapsed / medinsight_web::persist::sync::PASS_MS).ceil() as u64 + 2;
    web_sys::console::log_1(
        &format!("{N} prepared images: {bulk} write transactions; 40 keystrokes over {elapsed:.0} ms: {typed}").into(),
    );
    assert!(
        typed <= passes && typed < 10,
        "{typed} transactions for 40 keystrokes over {elapsed:.0} ms"
    );
    // A removal is saved too.
    session.remove_image(items[1].id);
    wait_for("the removal saved", async || {
        check.load().await.unwrap().images.len() == N as usize - 1
    })
    .await;
    drop(owner);

    // A reload: records and vectors back, no PNG read, thumbnails after.
    let owner = Owner::new();
    owner.set();
    let session = Session::new(RwSignal::new(Default::default()));
    let restored = session.restore().await;
    assert_eq!(restored.len(), N as usize - 1);
    let back: Vec<ImageItem> = session.images.get_untracked().to_vec();
    assert_eq!(back[0].label.get_untracked(), "Edema-40");
    assert!(back.iter().all(|i| i.stage.get_untracked() == Stage::Ready));
    assert!(
        back.iter().all(|i| i.png.get_value().is_none()),
        "no PNG is read at restore"
    );
    let p = back[0].prepared.get_untracked().expect("what was prepared");
    assert_eq!(p.fingerprint, prepared(1).fingerprint);
    assert_eq!(p.bytes, 2000, "the PNG's size is saved with the record");
    wait_for("every thumbnail", async || {
        back.iter().all(|i| i.preview_url.get_untracked().is_some())
    })
    .await;
    let thumbnail = back[0].thumbnail.get_value().unwrap();
    assert_eq!(blobs::read(&thumbnail).await.unwrap(), vec![0xFF, 0xD8, 1]);
    // The PNG, when asked for: the same bytes, read from the Blob IndexedDB kept.
    let png = session.pixels().png(back[2]).await.unwrap();
    assert_eq!(blobs::read(&png).await.unwrap(), prepared(back[2].id).png);
    assert!(
        back[2].png.get_value().is_some(),
        "kept on the item once read"
    );
}

#[wasm_bindgen_test]
async fn records_saved_by_version_1_restore_and_their_pngs_become_blobs() {
    use js_sys::{Object, Reflect, Uint8Array};
    use rexie::{ObjectStore, Rexie, TransactionMode};
    use wasm_bindgen::JsValue;
    let _ = any_spawner::Executor::init_wasm_bindgen();
    // Records as version 1 wrote them — the PNG as a Uint8Array, no size in the meta, no
    // thumbnail — which opening version 2 keeps as they are (it only adds a store).
    // (The database itself is not deleted and made again at version 1: the earlier
    // tests' connections would hold the deletion up.)
    Store::open().await.unwrap().clear().await.unwrap();
    let v1 = Rexie::builder("medinsight-session")
        .version(2)
        .add_object_store(ObjectStore::new("images").key_path("id"))
        .add_object_store(ObjectStore::new("pixels").key_path("id"))
        .add_object_store(ObjectStore::new("thumbnails").key_path("id"))
        .add_object_store(ObjectStore::new("session").key_path("id"))
        .build()
        .await
        .unwrap();
    let record = |pairs: &[(&str, JsValue)]| {
        let o = Object::new();
        for (k, v) in pairs {
            Reflect::set(&o, &(*k).into(), v).unwrap();
        }
        JsValue::from(o)
    };
    let png = prepared(9).png;
    let meta = format!(
        r#"{{"name":"old.png","path":"Effusion/old.png","label":"Effusion","stage":"embedded","failure":null,
            "options":{},"channels":1,"source":{},"window":{},"fingerprint":"{}","key":"{}"}}"#,
        serde_json::to_string(&PrepareOptions::default()).unwrap(),
        serde_json::to_string(&prepared(9).source).unwrap(),
        serde_json::to_string(&window()).unwrap(),
        prepared(9).fingerprint,
        prepared(9).fingerprint,
    );
    let tx = v1
        .transaction(&["images", "pixels"], TransactionMode::ReadWrite)
        .unwrap();
    let vector = js_sys::Float32Array::from(&[0.5f32; 8][..]);
    tx.store("images")
        .unwrap()
        .put(
            &record(&[
                ("id", 9.0.into()),
                ("meta", meta.into()),
                ("vector", vector.into()),
            ]),
            None,
        )
        .await
        .unwrap();
    tx.store("pixels")
        .unwrap()
        .put(
            &record(&[
                ("id", 9.0.into()),
                ("png", Uint8Array::from(&png[..]).into()),
            ]),
            None,
        )
        .await
        .unwrap();
    tx.done().await.unwrap();
    v1.close();

    let owner = Owner::new();
    owner.set();
    let session = Session::new(RwSignal::new(Default::default()));
    session.restore().await;
    let item = session.image(9).expect("the old image");
    assert_eq!(item.stage.get_untracked(), Stage::Embedded);
    assert_eq!(item.current_vector().map(|v| v.len()), Some(8));
    assert!(item.prepared.get_untracked().is_some());
    // No thumbnail was saved then: the PNG itself is shown, read (and migrated) once.
    wait_for("the old image's picture", async || {
        item.preview_url.get_untracked().is_some()
    })
    .await;
    let store = Store::open().await.unwrap();
    wait_for("the PNG rewritten as a Blob", async || {
        matches!(
            store.pngs(&[9]).await.unwrap().pop().flatten(),
            Some(StoredPng::Blob(_))
        )
    })
    .await;
    assert_eq!(png_bytes(&store, 9).await, Some(png));
    store.clear().await.unwrap();
}

/// "Clear session" leaves nothing of the session in the browser: no image record, PNG,
/// thumbnail, label or scaling factor in IndexedDB, and a new pseudonym key in
/// `localStorage` in place of the old one (so the next session's exports cannot be
/// joined with this one's).
#[wasm_bindgen_test]
async fn clear_session_empties_indexeddb_and_replaces_the_pseudonym_key() {
    use medinsight_core::formats::pseudonym::PseudonymKey;
    use medinsight_web::persist::local::{use_persisted, PSEUDONYM_KEY};
    use medinsight_web::state::LabelItem;
    let _ = any_spawner::Executor::init_wasm_bindgen();
    Store::open().await.unwrap().clear().await.unwrap();
    let owner = Owner::new();
    owner.set();
    let key = use_persisted::<Option<PseudonymKey>>(PSEUDONYM_KEY);
    let session = Session::new(RwSignal::new(Default::default())).with_pseudonym_key(key.value);
    let restored = session.restore().await;
    session.follow(restored);
    let stored = || medinsight_web::platform::storage::load(PSEUDONYM_KEY);
    wait_for("the key kept", async || stored().is_some()).await;
    let old = stored().unwrap();
    assert_eq!(
        PseudonymKey::from_hex(&old),
        key.value.get_untracked(),
        "the key kept is the session's"
    );

    let items: Vec<ImageItem> = (1..=3)
        .map(|id| {
            ImageItem::new(
                id,
                origin(id),
                Stage::Preparing,
                PrepareOptions::default(),
                None,
                None,
            )
        })
        .collect();
    session.images.update(|v| v.extend(items.iter().copied()));
    for item in &items {
        item.set_prepared(prepared(item.id));
    }
    session.add_label("x-ray chest Edema".into());
    session.scaling_factor.set(Some(4.5));
    let check = Store::open().await.unwrap();
    wait_for("the session saved", async || {
        let saved = check.load().await.unwrap();
        saved.images.len() == 3
            && saved.images.iter().all(|i| i.has_pixels)
            && saved.labels.scaling_factor == Some(4.5)
            && saved.labels.labels.len() == 1
    })
    .await;
    assert_eq!(check.thumbnails(None, 10).await.unwrap().len(), 3);

    session.clear_all();
    wait_for("IndexedDB emptied", async || {
        let saved = check.load().await.unwrap();
        saved.images.is_empty()
            && saved.labels.labels.is_empty()
            && saved.labels.scaling_factor.is_none()
    })
    .await;
    // Give the debounced writer its passes: nothing may come back.
    sleep_ms(2 * medinsight_web::persist::sync::PASS_MS as i32).await;
    let saved = check.load().await.unwrap();
    assert!(saved.images.is_empty() && saved.labels == Default::default());
    assert!(check
        .pngs(&[1, 2, 3])
        .await
        .unwrap()
        .iter()
        .all(Option::is_none));
    assert!(check.thumbnails(None, 10).await.unwrap().is_empty());
    wait_for("a new key kept", async || {
        stored().is_some_and(|k| k != old)
    })
    .await;
    let new = PseudonymKey::from_hex(&stored().unwrap());
    assert!(new.is_some() && new == session.pseudonym_key.get_untracked());
    assert!(session.labels.with_untracked(Vec::<LabelItem>::is_empty));
}
