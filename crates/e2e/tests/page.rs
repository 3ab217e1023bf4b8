//! The page as a user first sees it: the release build loads (a broken wasm-opt would
//! leave it blank), names the product, and says which endpoint `/score` reaches.

use std::time::Duration;

use fantoccini::Locator;
use medinsight_e2e::{start_emulator, Browser};

#[tokio::test]
async fn release_page_shows_product_and_endpoint() -> anyhow::Result<()> {
    let (_emulator, url) = start_emulator(&[])?;
    let browser = Browser::start().await?;
    let outcome = async {
        browser.client.goto(&url).await?;
        let status = browser
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(".endpoint-status[data-state='ok']"))
            .await?;
        let status_text = status.text().await?;
        let title = browser
            .client
            .find(Locator::Css("h1.product-name"))
            .await?
            .text()
            .await?;
        browser.screenshot("page-loads").await?;
        // ensure!, not assert!: an error still reaches browser.close() below.
        anyhow::ensure!(title == "MedImageInsight Explorer", "header says {title:?}");
        anyhow::ensure!(
            status_text.contains("/score") && status_text.contains("local emulator"),
            "status line says {status_text:?}"
        );
        let page_title = browser.client.title().await?;
        anyhow::ensure!(
            page_title == "MedImageInsight Explorer",
            "page title is {page_title:?}"
        );
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    outcome
}
