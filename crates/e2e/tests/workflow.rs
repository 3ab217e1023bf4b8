//! What a user does with the app, end to end: load images, write labels, embed, read
//! the results; against `medinsight emulate` (real HTTP, real faults), in Chromium, on
//! the release build. Each test saves a screenshot under `target/e2e/screenshots`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use medinsight_e2e::app::{
    add_labels, open, set_settings as set, stages, wait_for_run, with_browser, FIGURES, LONG,
};
use medinsight_e2e::{start_emulator, testdata, workspace_root};

#[tokio::test]
async fn six_images_three_labels_embedded_compared_and_scored() -> Result<()> {
    let (_emulator, url) = start_emulator(&[])?;
    with_browser(async |b| {
        open(b, &url).await?;
        b.choose_files(&[
            testdata("xray_chest_pa.png"),
            testdata("ct_head.png"),
            testdata("dicom/CT_small.dcm"),
            testdata("fundus_retina.png"),
            testdata("mri_abdomen.png"),
        ])
        .await?;
        // The same PNG once more: its pair must read exactly 1.000.
        b.choose_files(&[testdata("xray_chest_pa.png")]).await?;
        add_labels(
            b,
            &[
                "x-ray chest posteroanterior No Finding",
                "ct head axial hemorrhage",
                "fundus photograph retina diabetic retinopathy",
            ],
        )
        .await?;
        b.click("button.run").await?;
        wait_for_run(b, 9).await?;

        let rows: Vec<(String, usize)> = b
            .js("return [...document.querySelectorAll('tr.embedding-row')].map(r => [r.dataset.kind, Number(r.dataset.dim)])")
            .await?;
        let images = rows.iter().filter(|r| r.0 == "image").count();
        let texts = rows.iter().filter(|r| r.0 == "text").count();
        ensure!(images == 6 && texts == 3, "embedding rows: {rows:?}");
        ensure!(rows.iter().all(|r| r.1 == 1024), "dimensions: {rows:?}");

        b.click("button[data-tab='Similarity']").await?;
        let (n_rows, n_cols, values, names): (usize, usize, String, String) = b
            .js("const c = document.querySelector('canvas.heatmap');
                 return [Number(c.dataset.rows), Number(c.dataset.cols), c.dataset.values, c.dataset.rowNames]")
            .await?;
        let values: Vec<&str> = values.split(',').collect();
        let names: Vec<String> = serde_json::from_str(&names)?;
        ensure!(n_rows == 6 && n_cols == 6 && values.len() == 36, "{n_rows}×{n_cols}, {} values", values.len());
        let twins: Vec<usize> = (0..6).filter(|&i| names[i] == "xray_chest_pa.png").collect();
        ensure!(twins.len() == 2, "names: {names:?}");
        let pair = values[twins[0] * 6 + twins[1]];
        ensure!(pair == "1.000", "the duplicate pair reads {pair}");
        let other = values[twins[0] * 6 + (0..6).find(|i| !twins.contains(i)).unwrap_or(0)];
        ensure!(other != "1.000", "a different image also reads 1.000");

        // Select the DICOM: its preview, bytes on the wire and window are shown. A
        // tall window shows the gallery, the inspector and the map at once (the
        // README's screenshot).
        b.client.set_window_size(1600, 1240).await?;
        b.click(".image-card[data-name='CT_small.dcm'] button.thumb").await?;
        let wire: String = b
            .js("return document.querySelector('.wire-bytes').textContent")
            .await?;
        ensure!(wire.contains("512×512") && wire.contains("base64"), "wire line: {wire}");
        b.screenshot("workflow-similarity").await?;

        b.click("button[data-tab='Zero-shot']").await?;
        let sums: Vec<f64> = b
            .js("return [...document.querySelectorAll('.zs-row')].map(r => r.dataset.probs.split(',').map(Number).reduce((a, b) => a + b, 0))")
            .await?;
        ensure!(sums.len() == 6, "zero-shot rows: {sums:?}");
        ensure!(sums.iter().all(|s| (s - 1.0).abs() < 1e-6), "row sums: {sums:?}");
        let banner: bool = b.js("return !!document.querySelector('.emulator-banner')").await?;
        ensure!(banner, "no banner saying the vectors come from the emulator");
        b.screenshot("workflow-zero-shot").await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_busy_endpoint_throttles_and_the_run_still_completes_exactly() -> Result<()> {
    let (_emulator, url) = start_emulator(&["--max-in-flight", "1", "--latency-ms", "200"])?;
    with_browser(async |b| {
        open(b, &url).await?;
        set(b, &[("images-per-request", "1"), ("in-flight", "3"), ("retries", "12")]).await?;
        b.choose_files(&[
            testdata("xray_chest_pa.png"),
            testdata("ct_abdomen.png"),
            testdata("us_doppler.png"),
            testdata("histo_he_tile.png"),
        ])
        .await?;
        add_labels(b, &["x-ray chest No Finding", "ultrasound doppler"]).await?;
        b.click("button.run").await?;
        wait_for_run(b, 6).await?;
        let (retries, failed): (usize, String) = b
            .js("const f = document.querySelector('.run-figures'); return [Number(f.dataset.retries), f.textContent]")
            .await?;
        b.screenshot("workflow-throttled").await?;
        ensure!(retries > 0, "no retry shown: {failed}");
        ensure!(failed.contains("0 failed"), "figures: {failed}");
        let stats = b.emulator_stats().await?;
        ensure!(stats["throttled"].as_u64() > Some(0), "the emulator never throttled: {stats}");
        ensure!(stats["rows_embedded"].as_u64() == Some(6), "rows embedded at the emulator (lost or duplicated?): {stats}");
        let embedded = stages(b).await?;
        ensure!(embedded.iter().all(|s| s.1 == "embedded"), "stages: {embedded:?}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn images_and_labels_go_in_separate_requests_that_the_strict_endpoint_accepts() -> Result<()>
{
    // The emulator refuses a request that mixes image rows and text rows with 424, as
    // Azure's scoring wrapper does; 5 images + 3 labels fit in one request of 8 rows,
    // so a planner that mixed kinds would fail all 8.
    let (_emulator, url) = start_emulator(&[])?;
    with_browser(async |b| {
        open(b, &url).await?;
        set(b, &[("images-per-request", "8")]).await?;
        b.choose_files(&[
            testdata("xray_chest_pa.png"),
            testdata("xray_tibia.png"),
            testdata("ct_head.png"),
            testdata("mri_shoulder.png"),
            testdata("dicom/MR_small.dcm"),
        ])
        .await?;
        add_labels(b, &["x-ray chest", "ct head", "mri shoulder"]).await?;
        b.click("button.run").await?;
        wait_for_run(b, 8).await?;
        let figures: String = b.js(FIGURES).await?;
        ensure!(
            figures.contains("0 failed") && figures.contains("window"),
            "figures: {figures}"
        );
        let stats = b.emulator_stats().await?;
        ensure!(
            stats["requests"].as_u64() == Some(2) && stats["rows_embedded"].as_u64() == Some(8),
            "one request of images and one of texts, 8 rows: {stats}"
        );
        Ok(())
    })
    .await
}

/// A directory of bad files made by the test (never in the repository).
fn bad_files() -> Result<(PathBuf, PathBuf)> {
    let dir = workspace_root().join("target/e2e/bad-files");
    std::fs::create_dir_all(&dir)?;
    let empty = dir.join("empty.png");
    let text = dir.join("notes.dcm");
    std::fs::write(&empty, b"")?;
    std::fs::write(&text, b"Patient called back, see the report.\n")?;
    Ok((empty, text))
}

#[tokio::test]
async fn bad_files_say_why_and_the_good_one_is_embedded() -> Result<()> {
    let (empty, text) = bad_files()?;
    let (_emulator, url) = start_emulator(&[])?;
    with_browser(async |b| {
        open(b, &url).await?;
        b.choose_files(&[empty, text, testdata("xray_tibia.png")])
            .await?;
        b.click("button.run").await?;
        wait_for_run(b, 1).await?;
        let s = stages(b).await?;
        b.screenshot("workflow-bad-files").await?;
        let find = |name: &str| {
            s.iter()
                .find(|x| x.0 == name)
                .cloned()
                .context(format!("no card for {name}: {s:?}"))
        };
        let (_, stage, reason) = find("empty.png")?;
        ensure!(
            stage == "failed" && reason.contains("empty"),
            "empty.png: {stage} {reason:?}"
        );
        let (_, stage, reason) = find("notes.dcm")?;
        ensure!(
            stage == "failed" && reason.contains("not an image"),
            "notes.dcm: {stage} {reason:?}"
        );
        let (_, stage, _) = find("xray_tibia.png")?;
        ensure!(stage == "embedded", "xray_tibia.png: {stage}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn cancel_sends_nothing_more_and_keeps_what_finished() -> Result<()> {
    let (_emulator, url) = start_emulator(&["--latency-ms", "1500"])?;
    with_browser(async |b| {
        open(b, &url).await?;
        set(b, &[("images-per-request", "1"), ("in-flight", "1")]).await?;
        b.choose_files(&[
            testdata("xray_chest_pa.png"),
            testdata("ct_head.png"),
            testdata("mri_shoulder.png"),
            testdata("histo_ihc_colon.png"),
            testdata("us_doppler.png"),
        ])
        .await?;
        b.click("button.run").await?;
        b.wait_until(
            "one image embedded",
            LONG,
            "return Number(document.querySelector('.run-figures').dataset.embedded) >= 1",
            FIGURES,
        )
        .await?;
        b.click("button.cancel").await?;
        let at_cancel = b.emulator_stats().await?["requests"].as_u64();
        b.wait_until(
            "the run stops",
            LONG,
            "return document.querySelector('.run-figures').dataset.running === 'false'",
            FIGURES,
        )
        .await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let later = b.emulator_stats().await?["requests"].as_u64();
        ensure!(
            at_cancel == later,
            "requests after cancel: {at_cancel:?} → {later:?}"
        );
        let s = stages(b).await?;
        b.screenshot("workflow-cancelled").await?;
        let embedded = s.iter().filter(|x| x.1 == "embedded").count();
        ensure!((1..5).contains(&embedded), "stages after cancel: {s:?}");
        ensure!(
            s.iter().all(|x| x.1 == "embedded" || x.1 == "ready"),
            "stages after cancel: {s:?}"
        );
        let rows: usize = b
            .js("return document.querySelectorAll('tr.embedding-row').length")
            .await?;
        ensure!(
            rows == embedded,
            "{rows} embedding rows for {embedded} embedded images"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_label_over_77_tokens_is_flagged_with_what_is_cut() -> Result<()> {
    let (_emulator, url) = start_emulator(&[])?;
    with_browser(async |b| {
        open(b, &url).await?;
        let long = format!(
            "x-ray chest anteroposterior {} pneumothorax",
            "with a small left apical lucency ".repeat(12)
        );
        add_labels(b, &["x-ray chest anteroposterior Atelectasis", &long]).await?;
        let rows: Vec<(usize, bool, String)> = b
            .js("return [...document.querySelectorAll('.label-row')].map(r => [Number(r.dataset.tokens),
                    !!r.querySelector('.token-warning'), (r.querySelector('.token-warning mark') || {}).textContent || ''])")
            .await?;
        b.screenshot("workflow-long-label").await?;
        ensure!(rows.len() == 2, "label rows: {rows:?}");
        ensure!(!rows[0].1 && rows[0].0 < 20, "the short label: {:?}", rows[0]);
        ensure!(rows[1].1 && rows[1].0 > 75, "the long label: {:?}", rows[1]);
        ensure!(rows[1].2.ends_with("pneumothorax"), "the cut part shown: {:?}", rows[1].2);
        Ok(())
    })
    .await
}
