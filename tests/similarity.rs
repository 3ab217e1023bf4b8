//! The similarity tab in headless Chromium: the view's worker job (its answers, through the worker's own codec), its summary's
//! drill-down driven by mouse events as a user (or chromedriver) sends them, and the
//! tab itself on a small matrix (at once, reordered by label on an edit).
#![cfg(target_arch = "wasm32")]

mod common;

use std::sync::Arc;

use common::sleep_ms;
use leptos::prelude::*;
use medinsight_core::analysis::blocks::BlockSummary;
use medinsight_core::analysis::{dot_unclamped, Embeddings};
use medinsight_core::pipeline::PrepareOptions;
use medinsight_web::state::{Embedded, ImageItem, Images, LabelItem, Origin, Stage};
use medinsight_web::ui::results::similarity_heatmap::{Catalogue, Item, Rows};
use medinsight_web::ui::results::similarity_summary::{SimilaritySummary, Summarised};
use medinsight_web::worker::handler::analyse;
use medinsight_web::worker::protocol::{
    Analysis, Found, Outcome, Reply, SimilarityFound, SimilarityQuestion, SummaryOrder,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// `n` vectors of `d` values from three loose groups, loaded interleaved (i % 3).
fn vectors(n: usize, d: usize) -> Vec<Vec<f32>> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut u = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..3).map(|_| (0..d).map(|_| u()).collect()).collect();
    (0..n)
        .map(|i| centres[i % 3].iter().map(|c| c + 0.5 * u()).collect())
        .collect()
}

/// What the worker would send back for `question`, through the pool's wire form
/// (bincode into a `Uint8Array` and back), so the wire form is tested too.
fn ask(v: &[Vec<f32>], question: SimilarityQuestion) -> SimilarityFound {
    let found = analyse(v, &Analysis::Similarity(question)).expect("an answer");
    let reply = Reply {
        id: 7,
        result: Ok(Outcome::Analysed { found, millis: 1.0 }),
    };
    let wire = js_sys::Uint8Array::from(bincode::serialize(&reply).unwrap().as_slice());
    let back: Reply = bincode::deserialize(&wire.to_vec()).unwrap();
    match back.result {
        Ok(Outcome::Analysed {
            found: Found::Similarity(f),
            ..
        }) => f,
        _ => panic!("not a similarity answer"),
    }
}

#[wasm_bindgen_test]
fn the_similarity_job_answers_every_question_for_a_small_set() {
    let (n, d) = (40, 64);
    let v = vectors(n, d);
    let e = Embeddings::new(&v);

    let SimilarityFound::Cells(cells) = ask(&v, SimilarityQuestion::Cells { cols: None }) else {
        panic!("cells")
    };
    assert_eq!(
        (cells.rows(), cells.cols(), cells.is_square()),
        (n, n, true)
    );
    for i in 0..n {
        for j in 0..n {
            let want = dot_unclamped(e.row(i), e.row(j)).clamp(-1.0, 1.0);
            let got = f64::from(cells.at(i, j).unwrap());
            assert!((got - want).abs() < 1e-6, "({i}, {j}): {got} vs {want}");
        }
    }
    let texts = vectors(5, d);
    let SimilarityFound::Cells(between) = ask(
        &v,
        SimilarityQuestion::Cells {
            cols: Some(texts.clone()),
        },
    ) else {
        panic!("image-text cells")
    };
    assert_eq!(
        (between.rows(), between.cols(), between.is_square()),
        (n, 5, false)
    );

    let SimilarityFound::Order(order) = ask(&v, SimilarityQuestion::ClusteredOrder) else {
        panic!("an order")
    };
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..n).collect::<Vec<_>>());
    let changes = order.windows(2).filter(|w| w[0] % 3 != w[1] % 3).count();
    assert_eq!(changes, 2, "three groups in three runs: {order:?}");

    for order in [
        SummaryOrder::Loaded,
        SummaryOrder::Clustered,
        SummaryOrder::Given((0..n).rev().collect()),
    ] {
        let SimilarityFound::Summary(s) = ask(
            &v,
            SimilarityQuestion::Summary {
                order: order.clone(),
                blocks: 6,
            },
        ) else {
            panic!("a summary")
        };
        assert_eq!((s.len(), s.blocks()), (n, 6), "{order:?}");
        // A block's mean is the mean of its cells (the self-pairs of the diagonal out).
        let (a, b) = (s.members(1).unwrap(), s.members(4).unwrap());
        let brute = a
            .iter()
            .flat_map(|&i| b.iter().map(move |&j| (i, j)))
            .map(|(i, j)| f64::from(cells.at(i, j).unwrap()))
            .sum::<f64>()
            / (a.len() * b.len()) as f64;
        assert!(
            (f64::from(s.mean(1, 4).unwrap()) - brute).abs() < 1e-5,
            "{order:?}"
        );
    }
}

/// A mouse event of `kind` at pixel (x, y) of `el`, as chromedriver sends one.
fn mouse(el: &web_sys::Element, kind: &str, x: f64, y: f64) {
    let rect = el.get_bounding_client_rect();
    let init = web_sys::MouseEventInit::new();
    init.set_bubbles(true);
    init.set_client_x((rect.left() + x) as i32);
    init.set_client_y((rect.top() + y) as i32);
    let event = web_sys::MouseEvent::new_with_mouse_event_init_dict(kind, &init).unwrap();
    el.dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn a_summary_block_opens_on_a_click_names_its_images_and_goes_back() {
    let owner = Owner::new();
    owner.set();
    let (n, d, blocks) = (30, 16, 6);
    let v = vectors(n, d);
    let mut images = Images::default();
    images.extend(v.iter().enumerate().map(|(i, x)| {
        let origin = Origin {
            name: format!("img{i}.png"),
            path: format!("g{}/img{i}.png", i % 3),
            label: format!("g{}", i % 3),
        };
        let embedding = Embedded {
            vector: Arc::new(x.clone()),
            key: i as u64,
        };
        ImageItem::new(
            i as u64 + 100,
            origin,
            Stage::Embedded,
            PrepareOptions::default(),
            None,
            Some(embedding),
        )
    }));
    let rows = Rows {
        items: images
            .iter()
            .map(|i| Item {
                id: i.id,
                is_image: true,
            })
            .collect(),
        vectors: images
            .iter()
            .map(|i| i.embedding.get_untracked().unwrap().vector)
            .collect(),
    };
    let summary = BlockSummary::new(&Embeddings::new(&v), (0..n).collect(), blocks);
    let summarised = Summarised {
        summary: Arc::new(summary),
        rows,
    };
    let catalogue = Catalogue {
        images: Signal::stored(images),
        labels: Signal::stored(Vec::<LabelItem>::new()),
    };
    let selected = RwSignal::new(None);

    let document = web_sys::window().unwrap().document().unwrap();
    let style = document.create_element("style").unwrap();
    style.set_text_content(Some(
        ".summary-map { width: 300px; height: 300px; display: block; }",
    ));
    document.head().unwrap().append_child(&style).unwrap();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().dyn_into().unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let shown = Signal::stored(Some(summarised));
    leptos::mount::mount_to(host.clone(), move || {
        view! { <SimilaritySummary summary=shown catalogue=catalogue selected=selected /> }
    })
    .forget();
    sleep_ms(20).await;

    let root = host
        .query_selector(".heatmap-summary")
        .unwrap()
        .expect("the summary root");
    assert_eq!(root.get_attribute("data-rows").as_deref(), Some("30"));
    assert_eq!(root.get_attribute("data-blocks").as_deref(), Some("6"));
    let map = host
        .query_selector(".summary-map")
        .unwrap()
        .expect("the summary canvas");
    let readout = || {
        host.query_selector(".heatmap-readout")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap()
    };

    // 300 px for 6 blocks: pixel (130, 260) is block row 5, column 2.
    mouse(&map, "mousemove", 130.0, 260.0);
    sleep_ms(20).await;
    let text = readout();
    assert!(
        text.contains("rows 26–30 (5 images) × rows 11–15 (5 images)"),
        "{text}"
    );
    assert!(
        text.matches("img").count() >= 2,
        "both representatives named: {text}"
    );

    mouse(&map, "click", 130.0, 260.0);
    sleep_ms(20).await;
    let drill = host
        .query_selector(".heatmap-drill")
        .unwrap()
        .expect("the drill-down");
    assert_eq!(drill.get_attribute("data-rows").as_deref(), Some("5"));
    assert_eq!(drill.get_attribute("data-cols").as_deref(), Some("5"));
    assert!(
        host.query_selector(".summary-map").unwrap().is_none(),
        "the summary map gives way"
    );
    let cells = drill
        .query_selector("canvas.heatmap")
        .unwrap()
        .expect("the block's cells");
    let names: Vec<String> =
        serde_json::from_str(&cells.get_attribute("data-row-names").unwrap()).unwrap();
    assert_eq!(
        names,
        (25..30).map(|i| format!("img{i}.png")).collect::<Vec<_>>()
    );
    let values = cells.get_attribute("data-values").unwrap();
    assert_eq!(values.split(',').count(), 25);
    // Hover names the two images of a cell: the first, img25 (row 26) × img10 (row 11).
    mouse(&cells, "mousemove", 0.0, 0.0);
    sleep_ms(20).await;
    let text = readout();
    assert!(text.starts_with("img25.png × img10.png: "), "{text}");

    let back = host
        .query_selector(".drill-back")
        .unwrap()
        .expect("a way back");
    back.dyn_ref::<web_sys::HtmlElement>().unwrap().click();
    sleep_ms(20).await;
    assert!(host.query_selector(".heatmap-drill").unwrap().is_none());
    assert!(
        host.query_selector(".summary-map").unwrap().is_some(),
        "the summary is back"
    );
}

#[wasm_bindgen_test]
async fn the_tab_shows_a_small_matrix_at_once_and_reorders_it_by_label_on_an_edit() {
    let owner = Owner::new();
    owner.set();
    let v = vectors(6, 16);
    let mut images = Images::default();
    images.extend(v.iter().enumerate().map(|(i, x)| {
        let origin = Origin {
            name: format!("t{i}.png"),
            path: format!("t{i}.png"),
            label: ["b", "a", "c", "a", "b", "c"][i].into(),
        };
        let embedding = Embedded {
            vector: Arc::new(x.clone()),
            key: i as u64,
        };
        ImageItem::new(
            i as u64 + 1,
            origin,
            Stage::Embedded,
            PrepareOptions::default(),
            None,
            Some(embedding),
        )
    }));
    let items: Vec<ImageItem> = images.iter().copied().collect();
    let images = RwSignal::new(images);
    let labels = RwSignal::new(Vec::<LabelItem>::new());
    let selected = RwSignal::new(None);
    let analyst = medinsight_web::work::analyses::Analyst::new();

    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().dyn_into().unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    leptos::mount::mount_to(host.clone(), move || {
        view! { <medinsight_web::ui::results::similarity_heatmap::SimilarityHeatmap images=images labels=labels selected=selected analyst=analyst /> }
    })
    .forget();

    // Six images: computed on the page as the tab opens, no worker, no wait.
    let canvas = host
        .query_selector("canvas.heatmap")
        .unwrap()
        .expect("the heatmap at once");
    assert_eq!(canvas.get_attribute("data-rows").as_deref(), Some("6"));
    assert_eq!(
        canvas
            .get_attribute("data-values")
            .unwrap()
            .split(',')
            .count(),
        36
    );
    assert!(host.query_selector("[data-busy]").unwrap().is_none());
    let names = || -> Vec<String> {
        serde_json::from_str(&canvas.get_attribute("data-row-names").unwrap()).unwrap()
    };
    assert_eq!(
        names(),
        ["t0.png", "t1.png", "t2.png", "t3.png", "t4.png", "t5.png"]
    );

    let order: web_sys::HtmlSelectElement = host
        .query_selector(".heatmap-order")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    order.set_value("truth");
    order
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    sleep_ms(20).await;
    // a: t1 t3, b: t0 t4, c: t2 t5.
    assert_eq!(
        names(),
        ["t1.png", "t3.png", "t0.png", "t4.png", "t2.png", "t5.png"]
    );
    let values_before = canvas.get_attribute("data-values").unwrap();

    // Relabel t5 "a": it moves up; its cosines are the same numbers, reordered.
    items[5].label.set("a".into());
    sleep_ms(20).await;
    assert_eq!(
        names(),
        ["t1.png", "t3.png", "t5.png", "t0.png", "t4.png", "t2.png"]
    );
    let mut before: Vec<&str> = values_before.split(',').collect();
    let after_attr = canvas.get_attribute("data-values").unwrap();
    let mut after: Vec<&str> = after_attr.split(',').collect();
    before.sort_unstable();
    after.sort_unstable();
    assert_eq!(before, after);
}
