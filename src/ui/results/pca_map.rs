//! The 2-D map: every embedded image placed by its first two principal components
//! (computed in the worker), as dots coloured by ground-truth label or as thumbnails.
//! Hover shows the image; clicking a point selects it in the gallery, and the gallery's
//! selection is ringed on the map — the link works both ways. Should the canvas refuse
//! to draw (no 2D context), the reason is shown under the controls, not dropped.

use leptos::html;
use leptos::prelude::*;
use web_sys::MouseEvent;

use crate::platform::canvas::Dot;
use crate::state::{distinct_labels, embedded, Images};
use crate::work::analyses::Analyst;
use crate::worker::protocol::Projection;

const W: f64 = 640.0;
const H: f64 = 440.0;
const PAD: f64 = 16.0;
/// Above this many images, thumbnails would bury each other: dots only.
const MAX_THUMBS: usize = 300;

/// Eight colours told apart by most colour-blind readers (Okabe–Ito), then gray.
const PALETTE: [[u8; 3]; 8] = [
    [230, 159, 0],
    [86, 180, 233],
    [0, 158, 115],
    [240, 228, 66],
    [0, 114, 178],
    [213, 94, 0],
    [204, 121, 167],
    [200, 200, 200],
];
const UNLABELLED: [u8; 3] = [120, 120, 120];

#[derive(Clone, PartialEq)]
struct Placed {
    item_ids: Vec<u64>,
    xy: Vec<(f64, f64)>,
    explained: [f64; 2],
    millis: f64,
}

#[component]
pub fn PcaMap(
    #[prop(into)] images: Signal<Images>,
    selected: RwSignal<Option<u64>>,
    analyst: Analyst,
) -> impl IntoView {
    let canvas = NodeRef::<html::Canvas>::new();
    let thumbs = RwSignal::new(false);
    let hover = RwSignal::new(None::<usize>);
    // Why the last drawing failed, if it did.
    let draw_error = RwSignal::new(None::<String>);
    let map = LocalResource::new(move || {
        let e = images.with(|v| embedded(v));
        let ids: Vec<u64> = e.iter().map(|(i, _)| i.id).collect();
        let vectors: Vec<Vec<f32>> = e.into_iter().map(|(_, v)| v.to_vec()).collect();
        async move {
            if vectors.len() < 2 {
                return Err("The map needs at least two embedded images.".to_string());
            }
            let (Projection { points, explained }, millis) =
                analyst.map(vectors).await.map_err(|e| e.to_string())?;
            // Fit the points into the canvas, keeping the axes' proportions.
            let (min_x, max_x) = points
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p[0]), b.max(p[0])));
            let (min_y, max_y) = points
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p[1]), b.max(p[1])));
            let span = ((max_x - min_x) / (W - 2.0 * PAD))
                .max((max_y - min_y) / (H - 2.0 * PAD))
                .max(1e-12);
            let (cx, cy) = ((min_x + max_x) / 2.0, (min_y + max_y) / 2.0);
            let xy = points
                .iter()
                .map(|p| (W / 2.0 + (p[0] - cx) / span, H / 2.0 - (p[1] - cy) / span))
                .collect();
            Ok(Placed {
                item_ids: ids,
                xy,
                explained,
                millis,
            })
        }
    });
    let placed = move || map.get().and_then(|r| r.ok());
    let labels = Memo::new(move |_| images.with(|v| distinct_labels(v)));
    let colour_of = move |id: u64| -> [u8; 3] {
        let label = images
            .with(|v| v.get(id).map(|i| i.label.get()))
            .unwrap_or_default();
        labels
            .with(|l| l.iter().position(|x| *x == label))
            .map_or(UNLABELLED, |i| PALETTE[i.min(PALETTE.len() - 1)])
    };
    // Draws the dots whenever the map, the labels or the selection change.
    Effect::new(move |_| {
        let Some(p) = placed() else { return };
        let Some(c) = canvas.get() else { return };
        let sel = selected.get();
        let dots: Vec<Dot> = p
            .item_ids
            .iter()
            .zip(&p.xy)
            .map(|(&id, &(x, y))| Dot {
                x,
                y,
                rgb: colour_of(id),
                ring: sel == Some(id),
            })
            .collect();
        let drawn = crate::platform::canvas::scatter(
            &c,
            W,
            H,
            if thumbs.get() && p.item_ids.len() <= MAX_THUMBS {
                &[]
            } else {
                &dots
            },
        );
        // Written only when it changes, so a redraw with the same outcome re-renders
        // nothing.
        let error = drawn
            .err()
            .map(|e| format!("The map could not be drawn: {e}"));
        if draw_error.with_untracked(|d| *d != error) {
            draw_error.set(error);
        }
    });
    let nearest = move |e: &MouseEvent| -> Option<usize> {
        let p = placed()?;
        let c = canvas.get()?;
        let scale = W / f64::from(c.client_width().max(1));
        let (mx, my) = (
            f64::from(e.offset_x()) * scale,
            f64::from(e.offset_y()) * scale,
        );
        let (i, d) =
            p.xy.iter()
                .enumerate()
                .map(|(i, (x, y))| (i, (x - mx).powi(2) + (y - my).powi(2)))
                .min_by(|a, b| a.1.total_cmp(&b.1))?;
        (d < 144.0).then_some(i)
    };
    view! {
        <div class="pca-map">
            <div class="controls">
                <label><input type="checkbox" class="map-thumbs" prop:checked=move || thumbs.get()
                    on:change=move |e| thumbs.set(event_target_checked(&e)) />" thumbnails (up to 300 images)"</label>
                {move || placed().map(|p| view! {
                    <span class="muted">{format!(
                        "PC1 {:.1} %, PC2 {:.1} % of the variance · {} images · {:.0} ms in a worker",
                        p.explained[0] * 100.0, p.explained[1] * 100.0, p.item_ids.len(), p.millis
                    )}</span>
                })}
            </div>
            {move || match map.get() {
                None => view! { <p class="muted">"Computing the map…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="muted">{e}</p> }.into_any(),
                Some(Ok(_)) => ().into_any(),
            }}
            {move || draw_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="map-frame" style=format!("aspect-ratio: {W} / {H}")>
                <canvas
                    class="map"
                    node_ref=canvas
                    role="img"
                    aria-label="Images placed by their first two principal components; click a point to select the image"
                    data-points=move || placed().map_or(0, |p| p.xy.len())
                    on:mousemove=move |e| hover.set(nearest(&e))
                    on:mouseleave=move |_| hover.set(None)
                    on:click=move |e| if let Some(id) = nearest(&e).and_then(|i| placed()?.item_ids.get(i).copied()) { selected.set(Some(id)) }
                ></canvas>
                {move || thumbs.get().then(placed).flatten().filter(|p| p.item_ids.len() <= MAX_THUMBS).map(|p| {
                    p.item_ids.iter().zip(&p.xy).filter_map(|(&id, &(x, y))| {
                        let item = images.with(|v| v.get(id))?;
                        let url = item.preview_url.get()?;
                        Some(view! {
                            <img class="map-thumb" class:selected=move || selected.get() == Some(id) src=url alt=""
                                style=format!("left: {:.2}%; top: {:.2}%", x / W * 100.0, y / H * 100.0)
                                on:click=move |_| selected.set(Some(id)) />
                        })
                    }).collect_view()
                })}
                {move || hover.get().and_then(|i| placed().map(|p| (i, p))).and_then(|(i, p)| {
                    // The hover index may be from the previous map.
                    let id = *p.item_ids.get(i)?;
                    let item = images.with(|v| v.get(id))?;
                    let (x, y) = *p.xy.get(i)?;
                    Some(view! {
                        <div class="map-tip" style=format!("left: {:.2}%; top: {:.2}%", x / W * 100.0, y / H * 100.0)>
                            {item.preview_url.get().map(|u| view! { <img src=u alt="" width="96" height="96" /> })}
                            <span>{item.name.get_value()}</span>
                            <span class="muted">{item.label.get()}</span>
                        </div>
                    })
                })}
            </div>
            <ul class="legend">
                {move || labels.get().into_iter().enumerate().map(|(i, l)| {
                    let [r, g, b] = PALETTE[i.min(PALETTE.len() - 1)];
                    view! { <li><span class="swatch" style=format!("background: rgb({r},{g},{b})")></span>{l}</li> }
                }).collect_view()}
                <li><span class="swatch" style="background: rgb(120,120,120)"></span>"no label"</li>
            </ul>
        </div>
    }
}
