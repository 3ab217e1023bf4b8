//! The Map tab: every embedded image placed by its first two principal components,
//! computed in the analyses worker, coloured by ground-truth label. This panel runs the
//! job (showing `data-busy` while it does), says what the axes explain, keeps the
//! colours and the legend; the plot itself — drawing, hover, zoom, pan, box and lasso
//! selection — is [`MapPlot`].

use std::sync::Arc;

use leptos::prelude::*;
use medinsight_core::view::selection::Selection;

use crate::state::{distinct_labels, embedded, Images};
use crate::ui::results::map_plot::{MapPlot, MapPoints, LABEL_SLOTS, PALETTE, UNLABELLED_SLOT};
use crate::work::analyses::Analyst;
use crate::worker::protocol::Projection;

/// A projection and what the worker said about it.
struct Placed {
    points: Arc<MapPoints>,
    explained: [f64; 2],
    millis: f64,
}

#[component]
pub fn PcaMap(
    #[prop(into)] images: Signal<Images>,
    selected: RwSignal<Option<u64>>,
    selection: RwSignal<Selection>,
    analyst: Analyst,
) -> impl IntoView {
    let thumbs = RwSignal::new(false);
    // While the worker computes (the contract: an element with `data-busy`).
    let busy = RwSignal::new(true);
    let map = LocalResource::new(move || {
        let e = images.with(|v| embedded(v));
        let ids: Vec<u64> = e.iter().map(|(i, _)| i.id).collect();
        let vectors: Vec<Vec<f32>> = e.into_iter().map(|(_, v)| v.to_vec()).collect();
        async move {
            busy.set(true);
            let placed = async move {
                if vectors.len() < 2 {
                    return Err("The map needs at least two embedded images.".to_string());
                }
                let (Projection { points, explained }, millis) =
                    analyst.map(vectors).await.map_err(|e| e.to_string())?;
                Ok(Arc::new(Placed {
                    points: Arc::new(MapPoints::new(ids, points)),
                    explained,
                    millis,
                }))
            }
            .await;
            busy.set(false);
            placed
        }
    });
    let placed = move || map.get().and_then(Result::ok);
    let points = Signal::derive(move || placed().map(|p| p.points.clone()));
    let labels = Memo::new(move |_| images.with(|v| distinct_labels(v)));
    // Each point's colour slot, recomputed when the map or a label changes (not on every
    // redraw): labels are sorted, so a binary search finds each.
    let colours = Memo::new(move |_| -> Arc<Vec<u8>> {
        let Some(p) = points.get() else {
            return Arc::default();
        };
        labels.with(|l| {
            images.with(|v| {
                Arc::new(
                    p.ids()
                        .iter()
                        .map(|&id| {
                            v.get(id)
                                .and_then(|i| i.label.with(|label| l.binary_search(label).ok()))
                                .map_or(UNLABELLED_SLOT, |s| s.min(LABEL_SLOTS - 1) as u8)
                        })
                        .collect(),
                )
            })
        })
    });
    view! {
        <div class="pca-map">
            <div class="controls">
                <label><input type="checkbox" class="map-thumbs" prop:checked=move || thumbs.get()
                    on:change=move |e| thumbs.set(event_target_checked(&e)) />" thumbnails (up to 300 images)"</label>
                {move || placed().map(|p| view! {
                    <span class="muted">{format!(
                        "PC1 {:.1} %, PC2 {:.1} % of the variance · {} images · {:.0} ms in a worker",
                        p.explained[0] * 100.0, p.explained[1] * 100.0, p.points.len(), p.millis
                    )}</span>
                })}
            </div>
            {move || busy.get().then(|| view! { <p class="busy muted" data-busy="">"Computing the map…"</p> })}
            {move || match map.get() {
                Some(Err(e)) if !busy.get() => Some(view! { <p class="muted">{e}</p> }),
                _ => None,
            }}
            <MapPlot
                points=points
                colours=colours
                thumbnails=thumbs
                images=images
                selected=selected
                selection=selection
            />
            <ul class="legend">
                {move || labels.get().into_iter().enumerate().map(|(i, l)| {
                    let [r, g, b] = PALETTE[i.min(LABEL_SLOTS - 1)];
                    view! { <li><span class="swatch" style=format!("background: rgb({r},{g},{b})")></span>{l}</li> }
                }).collect_view()}
                {
                    let [r, g, b] = PALETTE[usize::from(UNLABELLED_SLOT)];
                    view! { <li><span class="swatch" style=format!("background: rgb({r},{g},{b})")></span>"no label"</li> }
                }
            </ul>
        </div>
    }
}
