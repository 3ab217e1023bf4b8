//! Two thousand images in one session, end to end (issue 12; release build,
//! `medinsight emulate`, Chromium): a session made by `medinsight generate`, imported
//! through the app's own "Import vectors", survives a reload whole, and the views built
//! for long sessions hold their structural promises: a gallery with a bounded DOM, a
//! label filter showing exactly that label's images, a box on the map selecting images
//! in the gallery, a heatmap summary with a working drill-down.
//!
//! Structural facts only: speed is the benchmark's business (`scripts/bench`), never a
//! timed test's.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::Locator;
use medinsight_e2e::app::{open, with_browser};
use medinsight_e2e::scale::{self, gallery_nodes, wait_saved, wait_usable, GALLERY_STATE};
use medinsight_e2e::{start_emulator, Browser};

const N: usize = 2_000;
/// Generous for a shared 2-core machine; the benchmark reports the real times.
const VIEW: Duration = Duration::from_secs(60);

/// The first element matching `css`, for actions and geometry.
async fn find(b: &Browser, css: &str) -> Result<fantoccini::elements::Element> {
    b.client
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("no {css} on the page"))
}

async fn count(b: &Browser, css: &str) -> Result<i64> {
    b.js(&format!(
        "const e = document.querySelector({css:?}); return e ? Number(e.dataset.count) : -1"
    ))
    .await
}

#[tokio::test]
async fn two_thousand_imported_vectors_survive_a_reload_and_every_view_holds() -> Result<()> {
    let generated = scale::generate(N, 12, 8)?;
    let (_emulator, url) = start_emulator(&[])?;
    with_browser(async |b| {
        open(b, &url).await?;
        scale::open_import(b).await?;
        scale::choose_vectors(b, &generated).await?;
        b.click("button.import-vectors").await?;
        wait_usable(b, N, Duration::from_secs(120)).await?;

        // The reload comes first, once the page has stopped saving: every later check
        // then runs on the restored session, as a user coming back to it would.
        wait_saved(b, Duration::from_secs(2), Duration::from_secs(120)).await?;
        open(b, &url).await?;
        wait_usable(b, N, Duration::from_secs(120))
            .await
            .context("a reload must restore all 2 000 vectors")?;
        b.screenshot("scale-reloaded").await?;

        // The gallery draws only what is in view.
        let nodes = gallery_nodes(b).await?;
        ensure!((0..1_500).contains(&nodes), "{nodes} DOM nodes under the gallery");

        // A box across the top half of the map selects images, and the gallery's
        // selection holds exactly those.
        b.click("button[data-tab='Map']").await?;
        b.wait_until(
            "the map is drawn",
            VIEW,
            "return !!document.querySelector('canvas.map-canvas') && !document.querySelector('[data-busy]')",
            "return (document.querySelector('.tab-panel') || document.body).innerText.slice(0, 300)",
        )
        .await?;
        b.click("button.map-tool[data-tool=box]").await?;
        let canvas = find(b, "canvas.map-canvas").await?;
        let (_, _, w, h) = canvas.rectangle().await?;
        let to = |fx: f64, fy: f64, ms: u64| PointerAction::MoveToElement {
            element: canvas.clone(),
            duration: Some(Duration::from_millis(ms)),
            x: (w * fx).round(),
            y: (h * fy).round(),
        };
        let drag = MouseActions::new("mouse".into())
            .then(to(-0.47, -0.47, 0))
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(to(0.0, -0.2, 150))
            .then(to(0.47, 0.0, 150))
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        b.client.perform_actions(drag).await?;
        b.wait_until(
            "the box selected images",
            VIEW,
            "const m = document.querySelector('.map-selection-count'); return !!m && Number(m.dataset.count) > 0",
            "return [(document.querySelector('.map-selection-count') || {}).outerHTML, (document.querySelector('.selection-bar') || {}).outerHTML]",
        )
        .await?;
        let on_map = count(b, ".map-selection-count").await?;
        let in_gallery = count(b, ".selection-bar").await?;
        b.screenshot("scale-map-box").await?;
        ensure!(
            on_map > 0 && (on_map as usize) < N,
            "the box over half the map selected {on_map} of {N}"
        );
        ensure!(
            in_gallery == on_map,
            "the map selected {on_map}, the gallery's selection holds {in_gallery}"
        );

        // The heatmap's summary (blocks aggregated to the screen) says how many rows it
        // stands for, and a block opens to its cells.
        b.click("button[data-tab='Similarity']").await?;
        b.wait_until(
            "the heatmap summary of 2 000 rows",
            VIEW,
            &format!("return !!document.querySelector('.heatmap-summary[data-rows=\"{N}\"]') && !document.querySelector('[data-busy]')"),
            "return (document.querySelector('.tab-panel') || document.body).innerText.slice(0, 300)",
        )
        .await?;
        let block = find(b, ".heatmap-summary canvas, canvas.heatmap-summary, .heatmap-summary").await?;
        block.click().await?;
        b.wait_until(
            "a block drilled into",
            VIEW,
            "const d = document.querySelector('.heatmap-drill');
             return !!d && Number(d.dataset.rows) > 0 && Number(d.dataset.cols) > 0 && !document.querySelector('[data-busy]')",
            "return (document.querySelector('.tab-panel') || document.body).innerText.slice(0, 300)",
        )
        .await?;
        b.screenshot("scale-heatmap-drill").await?;
        b.click(".drill-back").await?;
        b.wait_until(
            "back to the summary",
            VIEW,
            "return !document.querySelector('.heatmap-drill') && !!document.querySelector('.heatmap-summary')",
            "return (document.querySelector('.tab-panel') || document.body).innerText.slice(0, 300)",
        )
        .await?;

        // Filtering by a label shows exactly the images generated with it.
        let (label, expected) = generated
            .label_counts
            .iter()
            .min_by_key(|(_, n)| **n)
            .map(|(l, n)| (l.clone(), *n))
            .context("no labels generated")?;
        find(b, "select[name=gallery-label]")
            .await?
            // The filter's values say what they filter: `is:<label>`, `none`, `any`.
            .select_by_value(&format!("is:{label}"))
            .await
            .with_context(|| format!("choosing {label} in the label filter"))?;
        b.wait_until(
            &format!("the gallery shows the {expected} images of {label}"),
            VIEW,
            &format!("const s = document.querySelector('.gallery-shown'); return !!s && Number(s.dataset.count) === {expected}"),
            GALLERY_STATE,
        )
        .await?;
        let shown_labels: Vec<String> = b
            .js("return [...document.querySelectorAll('.gallery .image-card input.truth, .gallery-scroll .image-card input.truth')].map(i => i.value)")
            .await?;
        b.screenshot("scale-filtered").await?;
        ensure!(
            !shown_labels.is_empty() && shown_labels.iter().all(|l| *l == label),
            "filtered by {label}, the cards drawn carry {shown_labels:?}"
        );
        let nodes = gallery_nodes(b).await?;
        ensure!((0..1_500).contains(&nodes), "{nodes} DOM nodes under the filtered gallery");
        Ok(())
    })
    .await
}
