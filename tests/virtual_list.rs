//! The virtualised list (`ui/widgets/virtual_list.rs`) in headless Chromium: mounted
//! with 10 000 rows, only a screenful exists in the DOM, scrolling the container
//! replaces which rows exist, and the root says how many rows the list holds.
#![cfg(target_arch = "wasm32")]

mod common;

use common::frames;
use leptos::prelude::*;
use medinsight_web::ui::widgets::virtual_list::{Rows, VirtualList};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const N: usize = 10_000;
const ROW: f64 = 20.0;

fn host() -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().dyn_into().unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    host
}

/// The element children of `el`, in document order.
fn children(el: &web_sys::Element) -> Vec<web_sys::Element> {
    let mut out = Vec::new();
    let mut next = el.first_element_child();
    while let Some(c) = next {
        next = c.next_element_sibling();
        out.push(c);
    }
    out
}

/// Every element under `el`, itself excluded.
fn descendants(el: &web_sys::Element) -> usize {
    children(el).iter().map(|c| 1 + descendants(c)).sum()
}

/// The indices of the rows in the DOM (the children of the slice, or of its table
/// body), in document order.
fn drawn(host: &web_sys::HtmlElement) -> Vec<usize> {
    let slice = host
        .query_selector(".virtual-slice")
        .unwrap()
        .expect("the slice");
    let holder = if slice.tag_name().eq_ignore_ascii_case("table") {
        slice
            .query_selector("tbody")
            .unwrap()
            .expect("a table body")
    } else {
        slice
    };
    children(&holder)
        .iter()
        .map(|row| row.get_attribute("data-i").unwrap().parse().unwrap())
        .collect()
}

fn root(host: &web_sys::HtmlElement) -> web_sys::HtmlElement {
    host.query_selector(".virtual-list")
        .unwrap()
        .expect("the list's root")
        .dyn_into()
        .unwrap()
}

#[wasm_bindgen_test]
async fn ten_thousand_rows_draw_a_screenful_and_scrolling_replaces_them() {
    let host = host();
    let rows = RwSignal::new(N);
    let _handle = leptos::mount::mount_to(host.clone(), move || {
        view! {
            <VirtualList rows=rows row_height=ROW viewport=200.0 class="numbers" key=|i| i
                children=|i| view! { <li class="number" data-i=i>{format!("row {i}")}</li> } />
        }
    });
    // Two frames: the scroll event handled and the list redrawn.
    frames(2).await;
    let list = root(&host);
    assert_eq!(list.get_attribute("data-rows").as_deref(), Some("10000"));
    // 200 px of 20 px rows: 10 shown, one more for a partial row, 4 of overscan below.
    let first = drawn(&host);
    assert_eq!(first, (0..15).collect::<Vec<_>>());
    // The spacer makes the list scroll as far as 10 000 rows would.
    assert_eq!(list.scroll_height(), (N as f64 * ROW) as i32);

    list.set_scroll_top(100_000);
    frames(2).await;
    let middle = drawn(&host);
    assert!(
        middle.len() <= 20,
        "{} rows in the DOM after scrolling",
        middle.len()
    );
    assert!(
        middle.contains(&5_000) && !middle.contains(&0),
        "rows after scrolling to 100 000 px: {middle:?}"
    );
    // The drawn rows sit where the viewport is: row 5 000's top at the scroll position.
    let row: web_sys::HtmlElement = host
        .query_selector("li.number[data-i='5000']")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    let (list_top, row_top) = (
        list.get_bounding_client_rect().top(),
        row.get_bounding_client_rect().top(),
    );
    assert!(
        (row_top - list_top).abs() < 1.0,
        "row 5000 at {row_top}, list at {list_top}"
    );

    list.set_scroll_top(i32::MAX);
    frames(2).await;
    let end = drawn(&host);
    assert_eq!(
        end.last(),
        Some(&(N - 1)),
        "the last row at the end: {end:?}"
    );
    assert!(end.len() <= 20);

    // Fewer rows: the count follows, and the list never draws a row that is gone.
    rows.set(3);
    frames(2).await;
    assert_eq!(list.get_attribute("data-rows").as_deref(), Some("3"));
    assert!(drawn(&host).iter().all(|&i| i < 3));
}

#[wasm_bindgen_test]
async fn table_rows_are_drawn_in_a_table_body() {
    let host = host();
    let _handle = leptos::mount::mount_to(host.clone(), move || {
        view! {
            <VirtualList rows=N row_height=ROW viewport=100.0 element=Rows::Table key=|i| i
                children=|i| view! { <tr class="record" data-i=i><td>{i}</td></tr> } />
        }
    });
    frames(2).await;
    let rows = drawn(&host);
    assert_eq!(rows, (0..10).collect::<Vec<_>>());
    let first = host.query_selector("tbody > tr.record").unwrap();
    assert!(first.is_some(), "rows are <tr> in the slice's <tbody>");
    // Only the drawn rows are nodes: a handful of elements, whatever N.
    let nodes = descendants(&host);
    assert!(nodes < 40, "{nodes} elements for {N} rows");
}
