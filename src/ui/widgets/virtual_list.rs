//! A virtualised list: of N rows of one fixed height, only those the viewport shows (and
//! a few either side) exist in the DOM, so a result list of 10 000 images costs the same
//! few dozen nodes as one of ten. The root is the scroll container (focusable, so the
//! arrow keys, Page Up/Down, Home and End scroll it natively); inside it a spacer as tall
//! as all the rows holds the visible slice, moved down to where its first row belongs.
//! Which slice, from the scroll position alone, is `medinsight_core::view::window`.
//!
//! Rows come from a closure of the row's index; each is keyed by `(index, key(index))`,
//! so a scroll of one row adds one node and drops one while the others stay as they are,
//! and a row whose data changed (its key changed) is rebuilt. The root carries
//! `data-rows` (how many rows the list holds, drawn or not), because a test or a user
//! reading the DOM can no longer count them.

use std::hash::Hash;

use leptos::html;
use leptos::prelude::*;
use medinsight_core::view::window::Window;

/// Rows drawn beyond each edge of the viewport, so that a fast scroll or a keyboard
/// Page Down does not show blank space before the next frame draws.
const OVERSCAN: usize = 4;

/// Every row exactly the height the positions are computed with, whatever its content
/// (a row's children are the caller's, so this is a rule rather than a style on each).
/// Inline styles and `<style>` are allowed by the page's CSP (`style-src 'unsafe-inline'`).
const ROW_RULE: &str = ".virtual-slice > li, .virtual-slice > tbody > tr \
    { height: var(--row-height); box-sizing: border-box; overflow: hidden; }";

/// What element holds the rows: a list (`<ol>`, rows are `<li>`), or a table body (rows
/// are `<tr>`, so that a list of records keeps a table's semantics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rows {
    #[default]
    List,
    Table,
}

#[component]
pub fn VirtualList<KF, K, CF, V>(
    /// How many rows the list holds.
    #[prop(into)]
    rows: Signal<usize>,
    /// Every row's height in CSS pixels (the slice sets it on each row).
    #[prop(into)]
    row_height: Signal<f64>,
    /// The tallest the list grows before it scrolls, in CSS pixels.
    #[prop(default = 480.0)]
    viewport: f64,
    /// Classes added to the root (what the list is, for styles and tests).
    #[prop(optional)]
    class: &'static str,
    /// What the rows are: `<li>` (default) or `<tr>`.
    #[prop(optional)]
    element: Rows,
    /// What the list is, for assistive technology.
    #[prop(optional)]
    label: &'static str,
    /// The row's identity beside its index: when it changes, the row is rebuilt. Called
    /// tracked, so it may read the signals the rows come from.
    key: KF,
    /// The row at an index (called untracked: a row that should follow a signal reads
    /// it in a closure of its own).
    children: CF,
) -> impl IntoView
where
    KF: Fn(usize) -> K + Send + Sync + 'static,
    K: Eq + Hash + Clone + Send + 'static,
    CF: Fn(usize) -> V + Send + Clone + 'static,
    V: IntoView + 'static,
{
    let root = NodeRef::<html::Div>::new();
    let scroll_top = RwSignal::new(0.0f64);
    let window = move || Window {
        scroll_top: scroll_top.get(),
        viewport_height: viewport,
        row_height: row_height.get(),
        per_row: 1,
        overscan: OVERSCAN,
    };
    let visible = move || {
        let n = rows.get();
        window().rows(n).map(|i| (i, key(i))).collect::<Vec<_>>()
    };
    let total = move || format!("{}px", window().total_height(rows.get()));
    // The slice's place, and the height every row is given (`--row-height`, which
    // `ROW_RULE` applies to the slice's children). The layout the arithmetic relies on
    // is inline, so the widget works with any stylesheet (or none, as in its tests).
    let style = move || {
        let w = window();
        format!(
            "position: absolute; top: 0; left: 0; right: 0; margin: 0; padding: 0; \
             list-style: none; transform: translateY({}px); --row-height: {}px",
            w.offset(rows.get()),
            w.row_height
        )
    };
    let each = move || {
        view! {
            <For
                each=visible
                key=|(i, k): &(usize, K)| (*i, k.clone())
                children=move |(i, _): (usize, K)| {
                    let row = children.clone();
                    untrack(move || row(i))
                }
            />
        }
    };
    let slice = match element {
        Rows::List => view! {
            <ol class="virtual-slice" style=style start=move || window().rows(rows.get()).start + 1>
                {each()}
            </ol>
        }
        .into_any(),
        Rows::Table => view! {
            <table class="virtual-slice" style=style>
                <tbody>{each()}</tbody>
            </table>
        }
        .into_any(),
    };
    view! {
        <div
            class=format!("virtual-list {class}")
            node_ref=root
            tabindex="0"
            aria-label=(!label.is_empty()).then_some(label)
            data-rows=move || rows.get()
            style=format!("max-height: {viewport}px; overflow-y: auto; position: relative")
            on:scroll=move |_| {
                if let Some(el) = root.get_untracked() {
                    scroll_top.set(f64::from(el.scroll_top()));
                }
            }
        >
            <style>{ROW_RULE}</style>
            <div class="virtual-spacer" style:position="relative" style:height=total>
                {slice}
            </div>
        </div>
    }
}
