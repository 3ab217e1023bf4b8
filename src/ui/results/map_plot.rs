//! The map's plot: the points of a 2-D projection on one `<canvas>`, with the tools to
//! explore them. Built for 10 000 points: the dots are drawn in a dozen batched fills
//! (one per colour and state, squares once thousands are on screen), hovering asks a grid
//! for the point under the pointer instead of measuring all of them, and ids find their
//! point through a map built once per projection — nothing on a redraw is per point in
//! the DOM or quadratic. The viewport and the lookups are
//! `medinsight_core::view::plane`; this file only listens and draws.
//!
//! The wheel zooms about the pointer, a drag pans (pan tool) or picks what a box or a
//! lasso encloses into the session's selection (shift adds), which the gallery shows
//! too; a click names the image for the inspector, and the inspector's image is ringed.
//! With the canvas focused, + and − zoom, the arrows pan, 0 resets the view and Escape
//! drops a drag. Up to 300 points may be thumbnails instead of dots.

use std::collections::HashMap;
use std::sync::Arc;

use leptos::html;
use leptos::prelude::*;
use medinsight_core::view::plane::{Grid, Rect, Viewport, Xy};
use medinsight_core::view::selection::Selection;
use web_sys::{KeyboardEvent, MouseEvent, PointerEvent, WheelEvent};

use crate::platform::canvas::DotLayer;
use crate::platform::clock::now_ms;
use crate::state::Images;

/// The plot's own size: the canvas is drawn in these units whatever size CSS gives it.
pub const W: f64 = 640.0;
pub const H: f64 = 440.0;
const PAD: f64 = 16.0;
/// Above this many images, thumbnails would bury each other: dots only.
pub const MAX_THUMBS: usize = 300;
/// How far from a dot (a thumbnail) the pointer still names it, in plot pixels.
const HOVER_DOT: f64 = 8.0;
const HOVER_THUMB: f64 = 21.0;
/// Zoom limits relative to the fitted view: half of it out, 500× in.
const MIN_ZOOM: f64 = 0.5;
const MAX_ZOOM: f64 = 500.0;
/// A press that moves less than this (plot pixels) is a click, not a drag.
const CLICK_SLOP: f64 = 4.0;
/// A lasso adds a vertex once the pointer is this far from the last one: a smooth loop
/// with a few hundred vertices, not one per pointer event.
const LASSO_STEP: f64 = 3.0;
/// Above this many dots on screen they are drawn as squares, which fill ~3× faster than
/// discs (see `platform::canvas::DotLayer::square`); zoomed in, fewer are on screen and
/// they are discs again.
const SQUARES_ABOVE: usize = 2500;
/// Keyboard steps: zoom factor per + or −, pan per arrow (plot pixels).
const KEY_ZOOM: f64 = 1.25;
const KEY_PAN: f64 = 40.0;

/// Eight colours told apart by most colour-blind readers (Okabe–Ito); a point's colour is
/// its slot in this list, the last slot ([`UNLABELLED_SLOT`]) being gray for "no label".
pub const PALETTE: [[u8; 3]; 9] = [
    [230, 159, 0],
    [86, 180, 233],
    [0, 158, 115],
    [240, 228, 66],
    [0, 114, 178],
    [213, 94, 0],
    [204, 121, 167],
    [200, 200, 200],
    [120, 120, 120],
];
/// Colours for labels: all but the last slot (labels beyond share the last of them).
pub const LABEL_SLOTS: usize = PALETTE.len() - 1;
pub const UNLABELLED_SLOT: u8 = (PALETTE.len() - 1) as u8;

fn css(rgb: [u8; 3]) -> String {
    format!("rgb({},{},{})", rgb[0], rgb[1], rgb[2])
}

/// A projection ready to draw and query: built once per projection.
pub struct MapPoints {
    ids: Vec<u64>,
    /// The points in data units, bucketed for lookups.
    grid: Grid,
    /// id → index into `ids` and the grid's points.
    index: HashMap<u64, usize>,
    /// The view that shows everything: the start, and what "Reset view" returns to.
    fit: Viewport,
}

impl MapPoints {
    /// Image `ids[i]` at `points[i]` (data units: the two components).
    pub fn new(ids: Vec<u64>, points: Vec<Xy>) -> Self {
        let index = ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
        let fit = Viewport::fit(&points, [W, H], PAD);
        Self {
            ids,
            grid: Grid::new(points),
            index,
            fit,
        }
    }

    pub fn ids(&self) -> &[u64] {
        &self.ids
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The view that shows every point on the plot.
    pub fn fitted(&self) -> Viewport {
        self.fit
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    Pan,
    Box,
    Lasso,
}

const TOOLS: [(Tool, &str, &str, &str); 3] = [
    (Tool::Pan, "pan", "Pan", "Drag to move the map"),
    (
        Tool::Box,
        "box",
        "Box",
        "Drag a box to select the images in it (shift adds)",
    ),
    (
        Tool::Lasso,
        "lasso",
        "Lasso",
        "Draw around images to select them (shift adds)",
    ),
];

/// What a press on the canvas is doing until it is released, in plot pixels.
enum Drag {
    Pan { start: Xy, last: Xy },
    Box { start: Xy, shift: bool },
    Lasso { path: Vec<Xy>, shift: bool },
}

/// The shape shown while a box or a lasso is being drawn.
#[derive(Clone, PartialEq)]
enum Outline {
    Box(Rect),
    Lasso(Vec<Xy>),
}

fn distance(a: Xy, b: Xy) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// Where an event happened, in plot pixels: from the client coordinates and the
/// canvas's box (unlike `offsetX`, not rounded to the canvas's own CSS pixels).
fn plot_point(canvas: &web_sys::HtmlCanvasElement, e: &MouseEvent) -> Xy {
    let r = canvas.get_bounding_client_rect();
    let scale = W / r.width().max(1.0);
    [
        (f64::from(e.client_x()) - r.left()) * scale,
        (f64::from(e.client_y()) - r.top()) * scale,
    ]
}

/// Dot radius: smaller the more points there are (10 000 dots of 4 px are a blot),
/// growing a little as one zooms in.
fn dot_radius(points: usize, zoom: f64) -> f64 {
    let base = match points {
        0..=500 => 4.0,
        501..=3000 => 3.0,
        _ => 2.0,
    };
    base * zoom.sqrt().clamp(1.0, 2.5)
}

/// Draws the map: the dots batched by colour (dimmed when some are selected), the
/// selected ones on top with an outline, the inspector's image ringed. Only what is on
/// screen is drawn.
fn draw(
    canvas: &web_sys::HtmlCanvasElement,
    p: &MapPoints,
    colours: &[u8],
    view: Viewport,
    selection: &Selection,
    inspected: Option<u64>,
    dots: bool,
) -> Result<(), crate::platform::BrowserError> {
    if !dots {
        return crate::platform::canvas::scatter(canvas, W, H, &[]);
    }
    let radius = dot_radius(p.ids.len(), view.scale / p.fit.scale);
    // What is on screen, widened by a dot, in data units: the rest is not drawn.
    let seen = {
        let r = view.visible();
        let m = radius / view.scale;
        Rect {
            min: [r.min[0] - m, r.min[1] - m],
            max: [r.max[0] + m, r.max[1] + m],
        }
    };
    let mut plain: Vec<Vec<Xy>> = vec![Vec::new(); PALETTE.len()];
    let mut picked: Vec<Vec<Xy>> = vec![Vec::new(); PALETTE.len()];
    let mut all_picked = Vec::new();
    // Whether any point of the map is selected, on screen or not (a selection made in
    // the gallery may hold none of them: then nothing is dimmed).
    let mut any_picked = false;
    for (i, (&point, &id)) in p.grid.points().iter().zip(&p.ids).enumerate() {
        let is_picked = !selection.is_empty() && selection.contains(id);
        any_picked |= is_picked;
        if !seen.contains(point) {
            continue;
        }
        let at = view.to_screen(point);
        let slot =
            usize::from(colours.get(i).copied().unwrap_or(UNLABELLED_SLOT)).min(PALETTE.len() - 1);
        if is_picked {
            picked[slot].push(at);
            all_picked.push(at);
        } else {
            plain[slot].push(at);
        }
    }
    let fills = PALETTE.map(css);
    let square = plain.iter().map(Vec::len).sum::<usize>() + all_picked.len() > SQUARES_ABOVE;
    let dim = if any_picked { 0.35 } else { 1.0 };
    let mut layers: Vec<DotLayer<'_>> = (0..PALETTE.len())
        .map(|s| DotLayer {
            centres: &plain[s],
            radius,
            square,
            fill: Some(&fills[s]),
            stroke: None,
            alpha: dim,
        })
        .collect();
    // Selected: a dark halo, then the dot with a white edge (seen on either theme).
    layers.push(DotLayer {
        centres: &all_picked,
        radius: radius + 1.0,
        square,
        fill: None,
        stroke: Some(("rgba(0,0,0,0.75)", 3.0)),
        alpha: 1.0,
    });
    layers.extend((0..PALETTE.len()).map(|s| DotLayer {
        centres: &picked[s],
        radius: radius + 1.0,
        square,
        fill: Some(&fills[s]),
        stroke: Some(("#ffffff", 1.2)),
        alpha: 1.0,
    }));
    let ring = inspected.and_then(|id| p.index.get(&id)).map(|&i| {
        let slot =
            usize::from(colours.get(i).copied().unwrap_or(UNLABELLED_SLOT)).min(PALETTE.len() - 1);
        ([view.to_screen(p.grid.points()[i])], slot)
    });
    if let Some((at, slot)) = &ring {
        layers.push(DotLayer {
            centres: at,
            radius: 6.5,
            square: false,
            fill: Some(&fills[*slot]),
            stroke: Some(("rgba(0,0,0,0.75)", 4.5)),
            alpha: 1.0,
        });
        layers.push(DotLayer {
            centres: at,
            radius: 6.5,
            square: false,
            fill: None,
            stroke: Some(("#ffffff", 2.5)),
            alpha: 1.0,
        });
    }
    crate::platform::canvas::scatter(canvas, W, H, &layers)
}

/// The plot of `points`, each coloured by its slot in [`PALETTE`] (`colours`, by index),
/// or shown as its thumbnail when `thumbnails` holds and there are at most
/// [`MAX_THUMBS`].
#[component]
pub fn MapPlot(
    #[prop(into)] points: Signal<Option<Arc<MapPoints>>>,
    #[prop(into)] colours: Signal<Arc<Vec<u8>>>,
    #[prop(into)] thumbnails: Signal<bool>,
    #[prop(into)] images: Signal<Images>,
    selected: RwSignal<Option<u64>>,
    selection: RwSignal<Selection>,
) -> impl IntoView {
    let canvas = NodeRef::<html::Canvas>::new();
    let hover = RwSignal::new(None::<usize>);
    let tool = RwSignal::new(Tool::Pan);
    // The view the user zoomed or panned to; `None` is the fitted view.
    let moved_view = RwSignal::new(None::<Viewport>);
    let drag = StoredValue::new_local(None::<Drag>);
    let outline = RwSignal::new(None::<Outline>);
    // Why the last drawing failed, if it did; how long the last one took.
    let draw_error = RwSignal::new(None::<String>);
    let draw_ms = RwSignal::new(0.0);
    let placed = move || points.get();
    let placed_now = move || points.get_untracked();
    // A new projection starts from the fitted view, hovering nothing.
    Effect::new(move |_| {
        points.track();
        moved_view.set(None);
        hover.set(None);
    });
    let fallback = Viewport {
        size: [W, H],
        centre: [0.0, 0.0],
        scale: 1.0,
    };
    let view = Memo::new(move |_| {
        moved_view
            .get()
            .or_else(|| placed().map(|p| p.fit))
            .unwrap_or(fallback)
    });
    let thumbs_shown = move || thumbnails.get() && placed().is_some_and(|p| p.len() <= MAX_THUMBS);

    // Redraws when the points, their colours, the view, the selection or the
    // inspector's image change — never on hover, whose tip is a single element.
    Effect::new(move |_| {
        let Some(p) = placed() else { return };
        let Some(c) = canvas.get() else { return };
        let dots = !thumbs_shown();
        let (v, inspected) = (view.get(), selected.get());
        let started = now_ms();
        let drawn = colours
            .with(|colours| selection.with(|s| draw(&c, &p, colours, v, s, inspected, dots)));
        draw_ms.set(now_ms() - started);
        // Written only when it changes, so a redraw with the same outcome re-renders
        // nothing.
        let error = drawn
            .err()
            .map(|e| format!("The map could not be drawn: {e}"));
        if draw_error.with_untracked(|d| *d != error) {
            draw_error.set(error);
        }
    });

    let zoom = move |at: Xy, factor: f64| {
        let Some(p) = placed_now() else { return };
        let (lo, hi) = (p.fit.scale * MIN_ZOOM, p.fit.scale * MAX_ZOOM);
        moved_view.set(Some(view.get_untracked().zoom_about(at, factor, lo, hi)));
    };
    let pan = move |by: Xy| moved_view.set(Some(view.get_untracked().pan(by)));
    let nearest = move |at: Xy| -> Option<usize> {
        let p = placed_now()?;
        let v = view.get_untracked();
        let reach = if untrack(thumbs_shown) {
            HOVER_THUMB
        } else {
            HOVER_DOT
        };
        p.grid.nearest(v.to_data(at), reach / v.scale)
    };
    let set_hover = move |h: Option<usize>| {
        if hover.get_untracked() != h {
            hover.set(h);
        }
    };
    // Puts the points found by a box or a lasso into the selection.
    let pick = move |found: Vec<usize>, add: bool| {
        let Some(p) = placed_now() else { return };
        let ids = found.into_iter().filter_map(|i| p.ids.get(i).copied());
        selection.update(|s| if add { s.add(ids) } else { s.replace(ids) });
    };
    let click = move |at: Xy| {
        if let Some(id) = nearest(at).and_then(|i| placed_now()?.ids.get(i).copied()) {
            selected.set(Some(id));
        }
    };

    let on_down = move |e: PointerEvent| {
        if e.button() != 0 {
            return;
        }
        let Some(c) = canvas.get_untracked() else {
            return;
        };
        // Best effort: without the capture a drag that leaves the canvas just ends
        // there (pointerleave), which is harmless.
        let _ = c.set_pointer_capture(e.pointer_id());
        let at = plot_point(&c, &e);
        let shift = e.shift_key();
        drag.set_value(Some(match tool.get_untracked() {
            Tool::Pan => Drag::Pan {
                start: at,
                last: at,
            },
            Tool::Box => Drag::Box { start: at, shift },
            Tool::Lasso => Drag::Lasso {
                path: vec![at],
                shift,
            },
        }));
    };
    let on_move = move |e: PointerEvent| {
        let Some(c) = canvas.get_untracked() else {
            return;
        };
        let at = plot_point(&c, &e);
        // A drag whose release we never saw (let go outside the window, no capture):
        // the button is up now, so it is over.
        if e.buttons() & 1 == 0 && drag.with_value(Option::is_some) {
            drag.set_value(None);
            outline.set(None);
        }
        let mut panned = None;
        let dragging = drag.try_update_value(|d| {
            match d {
                None => return false,
                Some(Drag::Pan { last, .. }) => {
                    panned = Some([at[0] - last[0], at[1] - last[1]]);
                    *last = at;
                }
                Some(Drag::Box { start, .. }) => {
                    outline.set(Some(Outline::Box(Rect::spanning(*start, at))));
                }
                Some(Drag::Lasso { path, .. }) => {
                    if path.last().is_none_or(|&l| distance(l, at) >= LASSO_STEP) {
                        path.push(at);
                        outline.set(Some(Outline::Lasso(path.clone())));
                    }
                }
            }
            true
        });
        if let Some(by) = panned {
            pan(by);
        }
        set_hover(if dragging == Some(true) {
            None
        } else {
            nearest(at)
        });
    };
    let on_up = move |e: PointerEvent| {
        let Some(d) = drag.try_update_value(Option::take).flatten() else {
            return;
        };
        outline.set(None);
        let Some(c) = canvas.get_untracked() else {
            return;
        };
        let at = plot_point(&c, &e);
        let Some(p) = placed_now() else { return };
        let v = view.get_untracked();
        match d {
            Drag::Pan { start, .. } if distance(start, at) < CLICK_SLOP => click(at),
            Drag::Pan { .. } => {}
            Drag::Box { start, .. } if distance(start, at) < CLICK_SLOP => click(at),
            Drag::Box { start, shift, .. } => {
                let r = Rect::spanning(v.to_data(start), v.to_data(at));
                pick(p.grid.in_rect(r), shift || e.shift_key());
            }
            Drag::Lasso { mut path, shift } => {
                path.push(at);
                let extent = Rect::bounding(&path).map_or(0.0, |b| distance(b.min, b.max));
                if path.len() < 3 || extent < CLICK_SLOP {
                    click(at);
                } else {
                    let polygon: Vec<Xy> = path.iter().map(|&q| v.to_data(q)).collect();
                    pick(p.grid.in_polygon(&polygon), shift || e.shift_key());
                }
            }
        }
    };
    let on_cancel = move |_: PointerEvent| {
        drag.set_value(None);
        outline.set(None);
    };
    let on_wheel = move |e: WheelEvent| {
        let Some(c) = canvas.get_untracked() else {
            return;
        };
        e.prevent_default();
        // Lines (Firefox) and pages to pixels, then e^(−Δ/500): a notch (~100 px) is ×0.82.
        let pixels = match e.delta_mode() {
            1 => e.delta_y() * 16.0,
            2 => e.delta_y() * H,
            _ => e.delta_y(),
        };
        zoom(plot_point(&c, &e), (-pixels / 500.0).exp());
    };
    let on_key = move |e: KeyboardEvent| {
        let centre = [W / 2.0, H / 2.0];
        match e.key().as_str() {
            "+" | "=" => zoom(centre, KEY_ZOOM),
            "-" | "_" => zoom(centre, 1.0 / KEY_ZOOM),
            "0" => moved_view.set(None),
            "Escape" => {
                drag.set_value(None);
                outline.set(None);
            }
            // The arrow shows more of that side: the content moves the other way.
            "ArrowLeft" => pan([KEY_PAN, 0.0]),
            "ArrowRight" => pan([-KEY_PAN, 0.0]),
            "ArrowUp" => pan([0.0, KEY_PAN]),
            "ArrowDown" => pan([0.0, -KEY_PAN]),
            _ => return,
        }
        e.prevent_default();
    };
    let percent = |q: Xy| {
        format!(
            "left: {:.2}%; top: {:.2}%",
            q[0] / W * 100.0,
            q[1] / H * 100.0
        )
    };

    view! {
        <div class="map-toolbar" role="toolbar" aria-label="Map tools">
            {TOOLS.map(|(t, key, name, hint)| view! {
                <button class="map-tool" data-tool=key title=hint
                    aria-pressed=move || (tool.get() == t).to_string()
                    on:click=move |_| tool.set(t)>{name}</button>
            })}
            <button class="map-reset" title="Show every point (0)"
                disabled=move || moved_view.with(Option::is_none)
                on:click=move |_| moved_view.set(None)>"Reset view"</button>
            <span class="map-selection-count" aria-live="polite"
                data-count=move || selection.with(Selection::len)>
                {move || format!("{} selected", selection.with(Selection::len))}
            </span>
            <button class="map-select-clear" disabled=move || selection.with(Selection::is_empty)
                on:click=move |_| selection.update(Selection::clear)>"Clear selection"</button>
        </div>
        {move || draw_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <div class="map-frame" style=format!("aspect-ratio: {W} / {H}")>
            <canvas
                class="map map-canvas"
                node_ref=canvas
                tabindex="0"
                role="img"
                aria-label="Images placed by their first two principal components; click a point to inspect the image, drag to pan or select, wheel or + and − to zoom, arrows to pan"
                data-tool=move || TOOLS.iter().find(|x| x.0 == tool.get()).map_or("pan", |x| x.1)
                data-points=move || placed().map_or(0, |p| p.len())
                data-draw-ms=move || format!("{:.1}", draw_ms.get())
                on:pointerdown=on_down
                on:pointermove=on_move
                on:pointerup=on_up
                on:pointercancel=on_cancel
                on:pointerleave=move |_| if drag.with_value(Option::is_none) { set_hover(None) }
                on:wheel=on_wheel
                on:keydown=on_key
            ></canvas>
            <svg class="map-overlay" viewBox=format!("0 0 {W} {H}") aria-hidden="true">
                {move || outline.get().map(|o| match o {
                    Outline::Box(r) => view! {
                        <rect class="map-box" x=r.min[0] y=r.min[1]
                            width=r.max[0] - r.min[0] height=r.max[1] - r.min[1] />
                    }.into_any(),
                    Outline::Lasso(path) => {
                        let points = path.iter()
                            .map(|q| format!("{:.1},{:.1}", q[0], q[1]))
                            .collect::<Vec<_>>()
                            .join(" ");
                        view! { <polygon class="map-lasso" points=points /> }.into_any()
                    }
                })}
            </svg>
            <div class="map-thumb-layer">
                {move || thumbs_shown().then(placed).flatten().map(|p| {
                    p.ids.iter().zip(p.grid.points()).filter_map(|(&id, &point)| {
                        let item = images.with(|v| v.get(id))?;
                        let url = item.preview_url.get()?;
                        Some(view! {
                            <img class="map-thumb" class:selected=move || selected.get() == Some(id)
                                class:picked=move || selection.with(|s| s.contains(id)) src=url alt=""
                                style=move || percent(view.get().to_screen(point)) />
                        })
                    }).collect_view()
                })}
            </div>
            {move || hover.get().and_then(|i| placed().map(|p| (i, p))).and_then(|(i, p)| {
                // The hover index may be from the previous projection.
                let id = *p.ids.get(i)?;
                let item = images.with(|v| v.get(id))?;
                let at = view.get().to_screen(*p.grid.points().get(i)?);
                Some(view! {
                    <div class="map-tip" style=percent(at)>
                        {item.preview_url.get().map(|u| view! { <img src=u alt="" width="96" height="96" /> })}
                        <span>{item.name.get_value()}</span>
                        <span class="muted">{item.label.get()}</span>
                    </div>
                })
            })}
        </div>
    }
}
