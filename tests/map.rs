//! The map in headless Chromium: dots batched into layers land where the plot says, in
//! their colours, at the canvas's displayed size times the device pixel ratio; the plot
//! of 10 000 points, mounted, picks what a box or a lasso drawn with pointer events
//! encloses (as brute force over the points says), names the clicked and the hovered
//! image, zooms with the wheel and the keyboard and resets. An ignored measurement prints what a redraw of 10 000 points costs (the
//! viewport transform, the batching and the canvas, flushed to pixels) and the PCA job
//! at 10 000 × 1024 in wasm. Run it with:
//! `. scripts/env.sh && cargo test -p medinsight-web --release --target wasm32-unknown-unknown --test map -- --include-ignored --nocapture`
#![cfg(target_arch = "wasm32")]

mod common;

use std::sync::Arc;

use common::{now, sleep_ms};
use leptos::prelude::*;
use medinsight_core::lifecycle::Stage;
use medinsight_core::pipeline::PrepareOptions;
use medinsight_core::view::plane::{point_in_polygon, Grid, Rect, Viewport, Xy};
use medinsight_core::view::selection::Selection;
use medinsight_web::platform::canvas::{scatter, DotLayer};
use medinsight_web::state::{ImageItem, Images, Origin};
use medinsight_web::ui::results::map_plot::{MapPlot, MapPoints, W};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{console_log, *};

wasm_bindgen_test_configure!(run_in_browser);

/// A canvas in the page, shown at `css_width` × `css_height` CSS pixels.
fn shown_canvas(css_width: u32, css_height: u32) -> web_sys::HtmlCanvasElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let canvas: web_sys::HtmlCanvasElement = document
        .create_element("canvas")
        .unwrap()
        .dyn_into()
        .unwrap();
    canvas
        .set_attribute(
            "style",
            &format!("display: block; width: {css_width}px; height: {css_height}px"),
        )
        .unwrap();
    document.body().unwrap().append_child(&canvas).unwrap();
    canvas
}

fn pixel(canvas: &web_sys::HtmlCanvasElement, x: f64, y: f64) -> [u8; 4] {
    let context: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    let d = context.get_image_data(x, y, 1.0, 1.0).unwrap().data().0;
    [d[0], d[1], d[2], d[3]]
}

#[wasm_bindgen_test]
fn dots_land_where_the_plot_says_at_the_displayed_size_and_pixel_ratio() {
    let ratio = web_sys::window().unwrap().device_pixel_ratio().max(1.0);
    // A 100 × 50 plot shown at 200 × 100 CSS pixels: two backing pixels per plot unit
    // (times the ratio).
    let canvas = shown_canvas(200, 100);
    let red = [[20.0, 20.0], [80.0, 30.0]];
    let blue = [[50.0, 25.0]];
    scatter(
        &canvas,
        100.0,
        50.0,
        &[
            DotLayer {
                centres: &red,
                radius: 4.0,
                square: false,
                fill: Some("rgb(255,0,0)"),
                stroke: None,
                alpha: 1.0,
            },
            DotLayer {
                centres: &blue,
                radius: 4.0,
                square: false,
                fill: Some("rgb(0,0,255)"),
                stroke: None,
                alpha: 1.0,
            },
            // An empty layer is skipped, an outline drawn without a fill.
            DotLayer {
                centres: &[],
                radius: 4.0,
                square: false,
                fill: Some("rgb(0,255,0)"),
                stroke: None,
                alpha: 1.0,
            },
            DotLayer {
                centres: &blue,
                radius: 10.0,
                square: false,
                fill: None,
                stroke: Some(("rgb(0,255,0)", 2.0)),
                alpha: 1.0,
            },
        ],
    )
    .unwrap();
    let k = 2.0 * ratio;
    assert_eq!(
        (canvas.width(), canvas.height()),
        ((100.0 * k).round() as u32, (50.0 * k).round() as u32)
    );
    assert_eq!(pixel(&canvas, 20.0 * k, 20.0 * k), [255, 0, 0, 255]);
    assert_eq!(pixel(&canvas, 80.0 * k, 30.0 * k), [255, 0, 0, 255]);
    assert_eq!(pixel(&canvas, 50.0 * k, 25.0 * k), [0, 0, 255, 255]);
    // The ring around the blue dot, and nothing between dots.
    assert_eq!(pixel(&canvas, 60.0 * k, 25.0 * k), [0, 255, 0, 255]);
    assert_eq!(pixel(&canvas, 35.0 * k, 40.0 * k)[3], 0);
    // A square of the disc's area reaches corners the disc does not.
    let corner = [[50.0, 25.0]];
    let disc_or_square = |square| {
        scatter(
            &canvas,
            100.0,
            50.0,
            &[DotLayer {
                centres: &corner,
                radius: 4.0,
                square,
                fill: Some("rgb(255,0,0)"),
                stroke: None,
                alpha: 1.0,
            }],
        )
        .unwrap();
        pixel(&canvas, 53.0 * k, 28.0 * k)[3]
    };
    assert_eq!((disc_or_square(false), disc_or_square(true)), (0, 255));
    // Redrawn with nothing: cleared, the backing store kept.
    scatter(&canvas, 100.0, 50.0, &[]).unwrap();
    assert_eq!(pixel(&canvas, 20.0 * k, 20.0 * k)[3], 0);
    assert_eq!(canvas.width(), (100.0 * k).round() as u32);
    canvas.remove();
}

fn rng(seed: u64) -> impl FnMut() -> f64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[wasm_bindgen_test]
#[ignore]
fn redraw_and_pca_at_ten_thousand() {
    const N: usize = 10_000;
    let mut r = rng(7);
    let points: Vec<Xy> = (0..N)
        .map(|i| {
            let c = (i % 9) as f64;
            [c.cos() * 3.0 + r(), c.sin() * 2.0 + r()]
        })
        .collect();
    let t = now();
    let grid = Grid::new(points.clone());
    console_log!("grid of {N} points built: {:.2} ms", now() - t);
    let fit = Viewport::fit(&points, [640.0, 440.0], 16.0);
    let t = now();
    let mut hits = 0;
    for i in 0..N {
        let at = [(i % 640) as f64, (i / 640 * 28 % 440) as f64];
        hits += usize::from(grid.nearest(fit.to_data(at), 8.0 / fit.scale).is_some());
    }
    console_log!(
        "{N} hover lookups: {:.2} µs each ({hits} hits)",
        (now() - t) * 1000.0 / N as f64
    );

    let canvas = shown_canvas(640, 440);
    let fills: Vec<String> = (0..9)
        .map(|k| format!("hsl({}, 70%, 50%)", k * 40))
        .collect();
    for square in [false, true] {
        let mut times = Vec::new();
        let mut flushed = Vec::new();
        for step in 0..15 {
            // A slightly different view each time, as a pan or zoom makes.
            let view = fit.zoom_about([320.0, 220.0], 1.0 + step as f64 * 0.01, 0.0, 1e9);
            let t = now();
            let seen = view.visible();
            let mut layers: Vec<Vec<Xy>> = vec![Vec::new(); 9];
            for (i, &p) in grid.points().iter().enumerate() {
                if seen.contains(p) {
                    layers[i % 9].push(view.to_screen(p));
                }
            }
            let dots: Vec<DotLayer<'_>> = layers
                .iter()
                .zip(&fills)
                .map(|(c, f)| DotLayer {
                    centres: c,
                    radius: 2.0,
                    square,
                    fill: Some(f),
                    stroke: None,
                    alpha: 1.0,
                })
                .collect();
            scatter(&canvas, 640.0, 440.0, &dots).unwrap();
            times.push(now() - t);
            // Reading a pixel makes the browser rasterise what was queued.
            pixel(&canvas, 1.0, 1.0);
            flushed.push(now() - t);
        }
        console_log!(
            "redraw of {N} {}: {:.1} ms (median of 15), {:.1} ms with the pixels flushed",
            if square { "squares" } else { "discs" },
            median(times),
            median(flushed)
        );
    }
    canvas.remove();

    // Unit vectors around k centres: five well apart (a spectrum with a clear gap), or
    // forty overlapping (the slowest case measured: it stops at the 60-step budget).
    for (k, noise) in [(5, 1.5f32), (40, 1.0)] {
        let mut r = rng(0x9e37_79b9_7f4a_7c15);
        let centres: Vec<Vec<f32>> = (0..k)
            .map(|_| (0..1024).map(|_| r() as f32).collect())
            .collect();
        let vectors: Vec<Vec<f32>> = (0..N)
            .map(|i| {
                let mut v: Vec<f32> = centres[i % k]
                    .iter()
                    .map(|c| c + noise * r() as f32)
                    .collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter_mut().for_each(|x| *x /= norm);
                v
            })
            .collect();
        let t = now();
        let p = medinsight_core::analysis::pca::fit(&vectors).unwrap();
        let fit = now() - t;
        let t = now();
        medinsight_web::worker::handler::analyse(
            &vectors,
            &medinsight_web::worker::protocol::Analysis::Map,
        )
        .unwrap();
        console_log!(
            "PCA map of {N} × 1024, {k} clusters: {:.0} ms as the worker runs it; pca::fit {fit:.0} ms, {} steps",
            now() - t,
            p.iterations
        );
    }
}

/// `n` points in nine clusters, ids 1000 + index.
fn cluster_points(n: usize) -> (Vec<u64>, Vec<Xy>) {
    let mut r = rng(42);
    let points = (0..n)
        .map(|i| {
            let c = (i % 9) as f64;
            [c.cos() * 3.0 + r(), c.sin() * 2.0 + r()]
        })
        .collect();
    ((0..n as u64).map(|i| 1000 + i).collect(), points)
}

struct Mounted {
    /// Owns the signals and the mounted view: dropped, it would dispose them.
    _owner: Owner,
    host: web_sys::HtmlElement,
    canvas: web_sys::HtmlCanvasElement,
    selection: RwSignal<Selection>,
    selected: RwSignal<Option<u64>>,
    fit: Viewport,
    ids: Vec<u64>,
    points: Vec<Xy>,
}

impl Mounted {
    fn q(&self, selector: &str) -> web_sys::HtmlElement {
        self.host
            .query_selector(selector)
            .unwrap()
            .unwrap_or_else(|| panic!("no {selector}"))
            .dyn_into()
            .unwrap()
    }

    fn count(&self) -> usize {
        let c = self.q(".map-selection-count");
        let n: usize = c.get_attribute("data-count").unwrap().parse().unwrap();
        assert_eq!(c.text_content().unwrap().trim(), format!("{n} selected"));
        n
    }

    /// CSS pixels per plot pixel, as the canvas is shown.
    fn css_per_plot(&self) -> f64 {
        self.canvas.get_bounding_client_rect().width() / W
    }

    /// The client coordinates of an event aimed at plot pixel `at` (whole pixels).
    fn client(&self, at: Xy) -> (i32, i32) {
        let (rect, k) = (self.canvas.get_bounding_client_rect(), self.css_per_plot());
        (
            (rect.left() + at[0] * k).round() as i32,
            (rect.top() + at[1] * k).round() as i32,
        )
    }

    /// Where the plot sees an event aimed at `at`, once rounded to whole client pixels.
    fn effective(&self, at: Xy) -> Xy {
        let (rect, k) = (self.canvas.get_bounding_client_rect(), self.css_per_plot());
        let (x, y) = self.client(at);
        [
            (f64::from(x) - rect.left()) / k,
            (f64::from(y) - rect.top()) / k,
        ]
    }

    /// A pointer event at plot pixel `at` (rounded to a CSS pixel, see [`Self::effective`]).
    fn pointer(&self, kind: &str, at: Xy, buttons: u16, shift: bool) {
        let init = web_sys::PointerEventInit::new();
        init.set_bubbles(true);
        init.set_pointer_id(1);
        init.set_is_primary(true);
        init.set_button(if kind == "pointermove" { -1 } else { 0 });
        init.set_buttons(buttons);
        init.set_shift_key(shift);
        let (x, y) = self.client(at);
        init.set_client_x(x);
        init.set_client_y(y);
        let e = web_sys::PointerEvent::new_with_event_init_dict(kind, &init).unwrap();
        self.canvas.dispatch_event(&e).unwrap();
    }

    /// A press, moves through `path`, a release at its end.
    fn drag(&self, path: &[Xy], shift: bool) {
        self.pointer("pointerdown", path[0], 1, shift);
        for &at in &path[1..] {
            self.pointer("pointermove", at, 1, shift);
        }
        self.pointer("pointerup", *path.last().unwrap(), 0, shift);
    }

    fn screen(&self, i: usize) -> Xy {
        self.fit.to_screen(self.points[i])
    }
}

fn mount_plot(n: usize, images: Images, owner: Owner) -> Mounted {
    let document = web_sys::window().unwrap().document().unwrap();
    // The app's stylesheet, once: the canvas fills its frame as in the app.
    if document.get_element_by_id("app-style").is_none() {
        let style = document.create_element("style").unwrap();
        style.set_id("app-style");
        style.set_text_content(Some(include_str!("../style/main.css")));
        document.body().unwrap().append_child(&style).unwrap();
    }
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().dyn_into().unwrap();
    host.set_attribute("style", &format!("width: {W}px"))
        .unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    owner.set();
    let selection = RwSignal::new(Selection::default());
    let selected = RwSignal::new(None::<u64>);
    let (ids, points) = cluster_points(n);
    let plotted = Arc::new(MapPoints::new(ids.clone(), points.clone()));
    let fit = plotted.fitted();
    let colours = Arc::new((0..n).map(|i| (i % 9) as u8).collect::<Vec<_>>());
    leptos::mount::mount_to(host.clone(), move || {
        view! {
            <MapPlot
                points=Signal::derive(move || Some(plotted.clone()))
                colours=Signal::derive(move || colours.clone())
                thumbnails=Signal::derive(|| false)
                images=Signal::derive(move || images.clone())
                selected=selected
                selection=selection
            />
        }
    })
    .forget();
    let canvas = host
        .query_selector("canvas.map")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    // The canvas is shown at the plot's own size: one CSS pixel per plot pixel.
    Mounted {
        _owner: owner,
        host,
        canvas,
        selection,
        selected,
        fit,
        ids,
        points,
    }
}

#[wasm_bindgen_test]
async fn a_box_and_a_lasso_over_ten_thousand_points_pick_what_they_enclose() {
    const N: usize = 10_000;
    let m = mount_plot(N, Images::default(), Owner::new());
    sleep_ms(50).await;
    assert_eq!(
        m.canvas.get_attribute("data-points").as_deref(),
        Some("10000")
    );
    assert_eq!(m.count(), 0);
    assert!(m.q(".map-select-clear").has_attribute("disabled"));

    m.q("button.map-tool[data-tool='box']").click();
    sleep_ms(20).await;
    assert_eq!(
        m.q("button.map-tool[data-tool='box']")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        m.q("button.map-tool[data-tool='pan']")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("false")
    );
    // Where cluster `c` sits on the plot.
    let centre = |c: f64| m.fit.to_screen([c.cos() * 3.0, c.sin() * 2.0]);
    let around = |c: f64, dx: f64, dy: f64| {
        let p = centre(c);
        ([p[0] - dx, p[1] - dy], [p[0] + dx, p[1] + dy])
    };
    // Part of cluster 0, dragged from bottom right to top left.
    let (b, a) = around(0.0, 30.0, 45.0);
    let a = [a[0] + 10.0, a[1]];
    m.drag(&[a, [(a[0] + b[0]) / 2.0, a[1]], b], false);
    let (a, b) = (m.effective(a), m.effective(b));
    sleep_ms(50).await;
    let in_box = |r: Rect| -> Vec<u64> {
        (0..N)
            .filter(|&i| r.contains(m.screen(i)))
            .map(|i| m.ids[i])
            .collect()
    };
    let first = in_box(Rect::spanning(a, b));
    assert!(
        first.len() > 100,
        "the box should hold a cluster: {}",
        first.len()
    );
    assert_eq!(m.count(), first.len());
    assert!(first
        .iter()
        .all(|&id| m.selection.with_untracked(|s| s.contains(id))));
    assert!(!m.q(".map-select-clear").has_attribute("disabled"));
    let drawn: f64 = m
        .canvas
        .get_attribute("data-draw-ms")
        .unwrap()
        .parse()
        .unwrap();
    console_log!(
        "redraw of {N} points with {} selected: {drawn:.1} ms",
        first.len()
    );

    // Shift adds a second box; without shift a box replaces.
    let (c, d) = around(4.0, 50.0, 50.0);
    m.drag(&[c, d], true);
    sleep_ms(50).await;
    let (c, d) = (m.effective(c), m.effective(d));
    let second = in_box(Rect::spanning(c, d));
    let union: std::collections::HashSet<u64> = first.iter().chain(&second).copied().collect();
    assert!(second.len() > 10);
    assert_eq!(m.count(), union.len());
    m.drag(&[c, d], false);
    sleep_ms(50).await;
    assert_eq!(m.count(), second.len());

    // A lasso: a triangle drawn in 3-pixel steps.
    m.q("button.map-tool[data-tool='lasso']").click();
    sleep_ms(20).await;
    let o = centre(2.0);
    let corners = [
        [o[0] - 60.0, o[1] + 40.0],
        [o[0], o[1] - 70.0],
        [o[0] + 50.0, o[1] + 30.0],
    ];
    let mut path: Vec<Xy> = Vec::new();
    for k in 0..3 {
        let (p, q) = (corners[k], corners[(k + 1) % 3]);
        for t in 0..40 {
            let f = t as f64 / 40.0;
            path.push([
                (p[0] + (q[0] - p[0]) * f).round(),
                (p[1] + (q[1] - p[1]) * f).round(),
            ]);
        }
    }
    path.push(corners[0]);
    m.drag(&path, false);
    sleep_ms(50).await;
    let lassoed: Vec<u64> = (0..N)
        .filter(|&i| point_in_polygon(m.screen(i), &corners))
        .map(|i| m.ids[i])
        .collect();
    assert!(lassoed.len() > 100);
    // The drawn loop follows the triangle to within a rounded pixel: points that close
    // to its edges may go either way.
    let near_edge = (0..N)
        .filter(|&i| {
            let p = m.screen(i);
            (0..3).any(|k| {
                let (a, b) = (corners[k], corners[(k + 1) % 3]);
                let (ab, ap) = ([b[0] - a[0], b[1] - a[1]], [p[0] - a[0], p[1] - a[1]]);
                let t = ((ap[0] * ab[0] + ap[1] * ab[1]) / (ab[0] * ab[0] + ab[1] * ab[1]))
                    .clamp(0.0, 1.0);
                (ap[0] - t * ab[0]).hypot(ap[1] - t * ab[1]) < 1.5
            })
        })
        .count();
    let got = m.count();
    assert!(
        got.abs_diff(lassoed.len()) <= near_edge,
        "lasso picked {got}, the triangle holds {} ({near_edge} on its edge)",
        lassoed.len()
    );

    m.q("button.map-select-clear").click();
    sleep_ms(20).await;
    assert_eq!(m.count(), 0);
    m.host.remove();
}

#[wasm_bindgen_test]
async fn a_click_names_the_nearest_image_and_wheel_or_keys_zoom_until_reset() {
    const N: usize = 2_000;
    let m = mount_plot(N, Images::default(), Owner::new());
    sleep_ms(50).await;
    // Clicking (pan tool, no movement) on a point selects it for the inspector.
    let target = m.screen(123);
    m.drag(&[target], false);
    let at = m.effective(target);
    sleep_ms(20).await;
    let nearest = (0..N)
        .min_by(|&i, &j| {
            let d = |k: usize| {
                let p = m.screen(k);
                (p[0] - at[0]).hypot(p[1] - at[1])
            };
            d(i).total_cmp(&d(j)).then(i.cmp(&j))
        })
        .unwrap();
    assert_eq!(m.selected.get_untracked(), Some(m.ids[nearest]));
    // Far from every point: nothing changes.
    m.drag(&[[2.0, 2.0]], false);
    sleep_ms(20).await;
    assert_eq!(m.selected.get_untracked(), Some(m.ids[nearest]));

    let reset = m.q("button.map-reset");
    assert!(reset.has_attribute("disabled"), "nothing to reset yet");
    let init = web_sys::WheelEventInit::new();
    init.set_bubbles(true);
    init.set_cancelable(true);
    init.set_delta_y(-300.0);
    let (x, y) = m.client(target);
    init.set_client_x(x);
    init.set_client_y(y);
    let wheel = web_sys::WheelEvent::new_with_event_init_dict("wheel", &init).unwrap();
    m.canvas.dispatch_event(&wheel).unwrap();
    assert!(wheel.default_prevented(), "the page must not scroll");
    sleep_ms(20).await;
    assert!(!reset.has_attribute("disabled"));
    // Zoomed about the pointer: the point under it is still there, so a click there
    // still names it.
    m.selected.set(None);
    m.drag(&[target], false);
    sleep_ms(20).await;
    assert_eq!(m.selected.get_untracked(), Some(m.ids[nearest]));
    reset.click();
    sleep_ms(20).await;
    assert!(reset.has_attribute("disabled"));

    let key = |k: &str| {
        let init = web_sys::KeyboardEventInit::new();
        init.set_key(k);
        init.set_bubbles(true);
        init.set_cancelable(true);
        let e =
            web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
        m.canvas.dispatch_event(&e).unwrap();
        e.default_prevented()
    };
    assert!(key("+"));
    sleep_ms(20).await;
    assert!(!reset.has_attribute("disabled"));
    assert!(key("0"));
    sleep_ms(20).await;
    assert!(reset.has_attribute("disabled"));
    assert!(key("ArrowLeft"));
    sleep_ms(20).await;
    assert!(!reset.has_attribute("disabled"));
    assert!(!key("x"), "other keys are left alone");
    m.host.remove();
}

#[wasm_bindgen_test]
async fn hovering_names_the_image_under_the_pointer() {
    let mut images = Images::default();
    let owner = Owner::new();
    owner.set();
    images.extend((0..5u64).map(|i| {
        ImageItem::new(
            1000 + i,
            Origin {
                name: format!("image-{i}.png"),
                path: format!("Normal/image-{i}.png"),
                label: "Normal".into(),
            },
            Stage::Embedded,
            PrepareOptions::default(),
            None,
            None,
        )
    }));
    let m = mount_plot(5, images, owner);
    sleep_ms(50).await;
    let p = m.screen(3);
    m.pointer("pointermove", p, 0, false);
    sleep_ms(20).await;
    let tip = m.q(".map-tip");
    assert!(
        tip.inner_text().contains("image-3.png"),
        "{}",
        tip.inner_text()
    );
    m.pointer("pointermove", [1.0, 1.0], 0, false);
    sleep_ms(20).await;
    assert!(m.host.query_selector(".map-tip").unwrap().is_none());
    m.host.remove();
}
