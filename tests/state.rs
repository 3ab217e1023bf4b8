//! The session's state in the browser: the `Images` collection (O(1) lookup by id,
//! gallery order kept through every change, the signals of removed images disposed)
//! and labels (one constructor, disposal on removal), run in headless Chromium.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use medinsight_core::pipeline::PrepareOptions;
use medinsight_web::state::{Embedded, ImageItem, Images, LabelItem, Origin, Session, Stage};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn item(id: u64) -> ImageItem {
    let origin = Origin {
        name: format!("img{id}.png"),
        path: format!("Edema/img{id}.png"),
        label: "Edema".into(),
    };
    ImageItem::new(
        id,
        origin,
        Stage::Queued,
        PrepareOptions::default(),
        None,
        None,
    )
}

fn ids(images: &Images) -> Vec<u64> {
    images.iter().map(|i| i.id).collect()
}

#[wasm_bindgen_test]
fn images_keep_order_and_find_by_id_through_every_change() {
    let owner = Owner::new();
    owner.set();
    let mut images = Images::default();
    images.extend((1..=5).map(item));
    assert_eq!(ids(&images), [1, 2, 3, 4, 5]);
    assert_eq!(images.get(4).map(|i| i.id), Some(4));
    assert_eq!(images.position(4), Some(3));
    assert!(images.get(9).is_none());

    // A restored session goes before what was loaded meanwhile.
    images.prepend(vec![item(10), item(11)]);
    assert_eq!(ids(&images), [10, 11, 1, 2, 3, 4, 5]);
    assert_eq!(images.position(1), Some(2));

    assert!(images.remove(2));
    assert!(!images.remove(2), "already gone");
    assert_eq!(ids(&images), [10, 11, 1, 3, 4, 5]);
    assert_eq!(images.position(5), Some(5));

    images.retain(|i| i.id % 2 == 1);
    assert_eq!(ids(&images), [11, 1, 3, 5]);
    for (at, i) in images.iter().enumerate() {
        assert_eq!(images.position(i.id), Some(at), "index of {}", i.id);
        assert_eq!(images.get(i.id).map(|g| g.id), Some(i.id));
    }
}

#[wasm_bindgen_test]
fn a_removed_image_has_its_signals_disposed_the_others_keep_theirs() {
    let owner = Owner::new();
    owner.set();
    let mut images = Images::default();
    let (a, b) = (item(1), item(2));
    images.extend([a, b]);
    assert_eq!(a.label.try_get_untracked().as_deref(), Some("Edema"));
    images.remove(1);
    assert_eq!(a.label.try_get_untracked(), None, "disposed with its image");
    assert_eq!(a.stage.try_get_untracked(), None);
    assert_eq!(b.label.try_get_untracked().as_deref(), Some("Edema"));
    images.retain(|_| false);
    assert_eq!(b.name.try_get_value(), None);
}

#[wasm_bindgen_test]
fn only_embedded_images_with_a_current_vector_count_and_labels_are_distinct() {
    let owner = Owner::new();
    owner.set();
    let mut images = Images::default();
    let vector = std::sync::Arc::new(vec![1.0f32; 4]);
    let imported = ImageItem::new(
        7,
        Origin {
            name: "v.png".into(),
            path: "Normal/v.png".into(),
            label: "Normal".into(),
        },
        Stage::Embedded,
        PrepareOptions::default(),
        None,
        Some(Embedded {
            vector: vector.clone(),
            key: 0,
        }),
    );
    images.extend([item(1), imported, item(2)]);
    let embedded = images.embedded();
    assert_eq!(embedded.len(), 1);
    assert_eq!(embedded[0].0.id, 7);
    assert_eq!(images.distinct_labels(), ["Edema", "Normal"]);
}

#[wasm_bindgen_test]
fn labels_are_made_once_moved_and_disposed_when_removed() {
    let owner = Owner::new();
    owner.set();
    let session = Session::new(RwSignal::new(Default::default()));
    for t in ["a", "b", "c"] {
        session.add_label(t.into());
    }
    let texts = || {
        session
            .labels
            .with_untracked(|v| v.iter().map(|l| l.text.get_untracked()).collect::<Vec<_>>())
    };
    let id_of = |t: &str| {
        session
            .labels
            .with_untracked(|v| v.iter().find(|l| l.text.get_untracked() == t).map(|l| l.id))
            .unwrap()
    };
    session.move_label(id_of("c"), -1);
    assert_eq!(texts(), ["a", "c", "b"]);
    session.move_label(id_of("a"), -1);
    assert_eq!(texts(), ["a", "c", "b"], "nothing above the first");
    let b: LabelItem = session
        .labels
        .with_untracked(|v| v.iter().copied().find(|l| l.text.get_untracked() == "b"))
        .unwrap();
    session.remove_label(b.id);
    assert_eq!(texts(), ["a", "c"]);
    assert_eq!(b.text.try_get_untracked(), None, "disposed with its label");
}
