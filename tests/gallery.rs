//! The gallery at scale, in headless Chromium: 10 000 images imported as vectors, of
//! which only the rows on screen exist in the DOM; scrolling brings others in; the
//! filter shows exactly one ground truth's images; clicks pick as a file manager does.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::frames;
use leptos::prelude::*;
use medinsight_core::formats::session::SessionImage;
use medinsight_core::settings::Settings;
use medinsight_web::state::Session;
use medinsight_web::ui::images::gallery::Gallery;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const N: usize = 10_000;
const LABELS: [&str; 4] = ["Atelectasis", "Edema", "Effusion", "Normal"];

/// The gallery of a session holding `N` vector-only images, mounted in a 520 px wide
/// host; the session is handed back through the cell.
fn mount() -> (web_sys::HtmlElement, Session) {
    let document = web_sys::window().unwrap().document().unwrap();
    // The page's own style sheet: the virtualisation depends on the scroller's height.
    let style = document.create_element("style").unwrap();
    style.set_text_content(Some(include_str!("../style/main.css")));
    document.head().unwrap().append_child(&style).unwrap();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().dyn_into().unwrap();
    host.style().set_property("width", "520px").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let out = Rc::new(Cell::new(None));
    let sink = out.clone();
    leptos::mount::mount_to(host.clone(), move || {
        let session = Session::new(RwSignal::new(Settings::default()));
        session.add_vectors(
            (0..N)
                .map(|i| SessionImage {
                    name: format!("img{i}.png"),
                    path: format!("{}/img{i}.png", LABELS[i % 4]),
                    label: LABELS[i % 4].to_string(),
                    vector: Some(vec![1.0, 0.0, 0.0, 0.0]),
                    source: None,
                    window: None,
                })
                .collect(),
        );
        sink.set(Some(session));
        view! {
            <Gallery
                images=session.images
                selected=session.selected
                selection=session.selection
                marked=session.marked
                outlier_scores=session.outlier_scores
                verdicts=Signal::derive(|| None)
                prompts=Signal::derive(Vec::new)
                on_remove=Callback::new(move |id| session.remove_image(id))
                on_clear=Callback::new(move |()| session.clear_images())
                on_remove_many=Callback::new(move |ids| session.remove_images(&ids))
                on_label_many=Callback::new(move |(ids, label): (_, String)| session.label_images(&ids, &label))
            />
        }
    })
    .forget();
    (host, out.take().expect("the session"))
}

fn names(host: &web_sys::HtmlElement) -> Vec<String> {
    let cards = host.query_selector_all(".image-card").unwrap();
    (0..cards.length())
        .filter_map(|i| {
            cards
                .item(i)?
                .dyn_into::<web_sys::Element>()
                .ok()?
                .get_attribute("data-name")
        })
        .collect()
}

fn count(host: &web_sys::HtmlElement, css: &str) -> u32 {
    host.query_selector_all(css).unwrap().length()
}

fn attr(host: &web_sys::HtmlElement, css: &str, name: &str) -> String {
    host.query_selector(css)
        .unwrap()
        .unwrap_or_else(|| panic!("no {css}"))
        .get_attribute(name)
        .unwrap_or_default()
}

fn element<T: JsCast>(host: &web_sys::HtmlElement, css: &str) -> T {
    host.query_selector(css)
        .unwrap()
        .unwrap_or_else(|| panic!("no {css}"))
        .dyn_into()
        .unwrap_or_else(|_| panic!("{css} is not of the expected type"))
}

fn click(host: &web_sys::HtmlElement, css: &str, shift: bool, ctrl: bool) {
    let init = web_sys::MouseEventInit::new();
    init.set_bubbles(true);
    init.set_shift_key(shift);
    init.set_ctrl_key(ctrl);
    let e = web_sys::MouseEvent::new_with_mouse_event_init_dict("click", &init).unwrap();
    element::<web_sys::HtmlElement>(host, css)
        .dispatch_event(&e)
        .unwrap();
}

#[wasm_bindgen_test]
async fn ten_thousand_images_keep_the_dom_small_and_scroll_into_view() {
    let (host, _session) = mount();
    frames(3).await;
    let cards = count(&host, ".image-card");
    assert!(
        (4..=120).contains(&cards),
        "{cards} cards in the DOM for {N} images"
    );
    let nodes = count(&host, ".gallery-scroll *");
    assert!(nodes < 1_500, "{nodes} nodes under the gallery");
    assert_eq!(names(&host)[0], "img0.png");
    assert_eq!(attr(&host, ".gallery-shown", "data-count"), N.to_string());

    // Halfway down, the cards are those of the middle, and as few.
    let scroller: web_sys::HtmlElement = element(&host, ".gallery-scroll");
    let total = scroller.scroll_height();
    assert!(
        total > 100_000,
        "the spacer holds every row: {total} px ({} px shown)",
        scroller.client_height()
    );
    scroller.set_scroll_top(total / 2);
    scroller
        .dispatch_event(&web_sys::Event::new("scroll").unwrap())
        .unwrap();
    frames(3).await;
    let shown = names(&host);
    let middle: Vec<usize> = shown
        .iter()
        .map(|n| {
            n.trim_start_matches("img")
                .trim_end_matches(".png")
                .parse()
                .unwrap()
        })
        .collect();
    assert!(!middle.is_empty() && middle.len() as u32 <= 120);
    assert!(
        middle
            .iter()
            .all(|&i| (N / 2 - 200..N / 2 + 200).contains(&i)),
        "after scrolling halfway: {middle:?}"
    );
}

#[wasm_bindgen_test]
async fn the_label_filter_shows_exactly_that_ground_truth_and_picks_follow_the_order_shown() {
    let (host, session) = mount();
    frames(2).await;
    let select: web_sys::HtmlSelectElement = element(&host, "select[name=gallery-label]");
    select.set_value("is:Edema");
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    frames(2).await;
    assert_eq!(
        attr(&host, ".gallery-shown", "data-count"),
        (N / 4).to_string()
    );
    assert!(host.query_selector_all(".image-card").unwrap().length() > 0);
    let labels: Vec<String> = (0..count(&host, ".image-card"))
        .map(|i| {
            host.query_selector_all(".image-card")
                .unwrap()
                .item(i)
                .unwrap()
                .dyn_into::<web_sys::Element>()
                .unwrap()
                .get_attribute("data-label")
                .unwrap()
        })
        .collect();
    assert!(labels.iter().all(|l| l == "Edema"), "{labels:?}");

    // Click the first shown (img1), shift-click the third (img9): the run between, in
    // the order shown (img1, img5, img9), is picked; ctrl-click takes one out.
    click(
        &host,
        ".image-card[data-name='img1.png'] button.thumb",
        false,
        false,
    );
    click(
        &host,
        ".image-card[data-name='img9.png'] button.thumb",
        true,
        false,
    );
    frames(1).await;
    assert_eq!(attr(&host, ".selection-bar", "data-count"), "3");
    assert_eq!(count(&host, ".image-card.picked"), 3);
    click(
        &host,
        ".image-card[data-name='img5.png'] button.thumb",
        false,
        true,
    );
    frames(1).await;
    assert_eq!(attr(&host, ".selection-bar", "data-count"), "2");
    assert_eq!(
        session.selected.get_untracked(),
        session
            .images
            .with_untracked(|v| v.get(v[1].id))
            .map(|i| i.id),
        "the first click opened img1 in the inspector"
    );

    // Pick all shown, label them, and the filter follows the new ground truth.
    click(&host, "button.select-all", false, false);
    frames(1).await;
    assert_eq!(
        attr(&host, ".selection-bar", "data-count"),
        (N / 4).to_string()
    );
    let input: web_sys::HtmlInputElement = element(&host, "input[name=bulk-label]");
    input.set_value("Oedema");
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    click(&host, "button.apply-label", false, false);
    frames(2).await;
    assert_eq!(
        attr(&host, ".gallery-shown", "data-count"),
        "0",
        "no Edema left"
    );

    // Remove the picked: 7 500 remain, none of them picked.
    click(&host, "button.remove-selected", false, false);
    frames(2).await;
    assert_eq!(session.images.with_untracked(|v| v.len()), N - N / 4);
    assert_eq!(attr(&host, ".selection-bar", "data-count"), "0");
}
