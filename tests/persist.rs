//! The session kept in the browser, in headless Chromium: IndexedDB records written,
//! read back (u64 fingerprints as strings, vectors as `Float32Array`), deleted and
//! cleared.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

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
