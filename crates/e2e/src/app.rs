//! What the tests do with the app, in the app's own terms: open it, choose settings,
//! add labels, run and wait for the run, read the thumbnails' states. Shared by every
//! end-to-end test file so that a change in the page changes one place here.

use std::time::Duration;

use anyhow::Result;

use crate::Browser;

/// Long enough for a run over a few images with retries on a shared 2-core machine.
pub const LONG: Duration = Duration::from_secs(90);

/// The run's figures line, for failure messages.
pub const FIGURES: &str =
    "const f = document.querySelector('.run-figures'); return f ? f.textContent : null";

/// Runs `body` with a fresh browser, closing the browser whatever happens (an error
/// from `body` comes back after the browser is closed).
pub async fn with_browser(body: impl AsyncFnOnce(&Browser) -> Result<()>) -> Result<()> {
    let browser = Browser::start().await?;
    let outcome = body(&browser).await;
    browser.close().await;
    outcome
}

/// Opens the app and waits until it is mounted and the saved session is restored.
pub async fn open(b: &Browser, url: &str) -> Result<()> {
    b.client.goto(url).await?;
    b.wait_until(
        "the app is mounted and the saved session restored",
        Duration::from_secs(30),
        "return !!document.querySelector('input.file-input')
            && ![...document.querySelectorAll('.notice')].some(n => n.textContent.includes('Restoring'))",
        "return document.body.innerText.slice(0, 400)",
    )
    .await
}

/// Types labels, one per line, and adds them.
pub async fn add_labels(b: &Browser, labels: &[&str]) -> Result<()> {
    let area = b
        .client
        .find(fantoccini::Locator::Css("textarea.new-labels"))
        .await?;
    area.send_keys(&labels.join("\n")).await?;
    b.click("button.add-labels").await
}

/// Opens the settings and sets `(field class, value)` pairs.
pub async fn set_settings(b: &Browser, fields: &[(&str, &str)]) -> Result<()> {
    b.click("details.settings > summary").await?;
    for (class, value) in fields {
        b.fill(&format!("details.settings input.{class}"), value)
            .await?;
    }
    Ok(())
}

/// Waits until a run is over with exactly `expected` items embedded.
pub async fn wait_for_run(b: &Browser, expected: usize) -> Result<()> {
    b.wait_until(
        &format!("{expected} items embedded and the run over"),
        LONG,
        &format!(
            "const f = document.querySelector('.run-figures');
             return f.dataset.running === 'false' && Number(f.dataset.embedded) === {expected}"
        ),
        FIGURES,
    )
    .await
}

/// Presses Embed and waits for the run to embed `expected` items.
pub async fn run(b: &Browser, expected: usize) -> Result<()> {
    b.click("button.run").await?;
    wait_for_run(b, expected).await
}

/// Every thumbnail's (name, stage, failure reason).
pub async fn stages(b: &Browser) -> Result<Vec<(String, String, String)>> {
    b.js("return [...document.querySelectorAll('.image-card')].map(c => [c.dataset.name, c.dataset.stage,
            (c.querySelector('.reason') || {}).textContent || ''])")
        .await
}
