//! Exploring embedded images, end to end (release build, `medinsight emulate`,
//! Chromium): neighbours, outliers, the map, the classifier, the `.npy` export checked
//! with numpy and imported back with the session file, and a reload in the middle of a
//! run.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use medinsight_e2e::app::{open, run as run_until, set_settings, with_browser, FIGURES, LONG};
use medinsight_e2e::{start_emulator, testdata};

#[tokio::test]
async fn neighbours_outliers_map_and_classifier_on_a_mixed_set() -> Result<()> {
    let (_emulator, url) = start_emulator(&[])?;
    with_browser(async |b| {
        open(b, &url).await?;
        b.choose_files(&[
            testdata("xray_chest_pa.png"),
            testdata("xray_tibia.png"),
            testdata("dicom/RG3_UNCR.dcm"),
            testdata("ct_head.png"),
            testdata("ct_abdomen.png"),
            testdata("fundus_retina.png"),
        ])
        .await?;
        b.choose_files(&[testdata("xray_chest_pa.png")]).await?;
        run_until(b, 7).await?;

        // Neighbours of the first chest X-ray: its duplicate, at 1.000.
        b.click(".image-card[data-name='xray_chest_pa.png'] button.thumb").await?;
        b.click("button[data-tab='Neighbours']").await?;
        let first: (String, String) = b
            .js("const c = document.querySelector('.chips.of-image .chip'); return [c.dataset.name, c.dataset.figure]")
            .await?;
        ensure!(first == ("xray_chest_pa.png".into(), "1.000".into()), "first neighbour: {first:?}");
        b.screenshot("explore-neighbours").await?;

        // Outliers among grayscale X-rays and CTs: the colour fundus photograph first.
        b.click("button[data-tab='Outliers']").await?;
        b.fill("input.outlier-k", "2").await?;
        b.click("button.score-outliers").await?;
        b.wait_until("outliers scored", LONG, "return !!document.querySelector('.outlier-ranking .chip')", "return document.querySelector('.outliers').innerText").await?;
        let ranking: Vec<String> = b
            .js("return [...document.querySelectorAll('.outlier-ranking .chip')].map(c => c.dataset.name)")
            .await?;
        ensure!(ranking.first().map(String::as_str) == Some("fundus_retina.png"), "outlier ranking: {ranking:?}");
        let marked: usize = b.js("return document.querySelectorAll('.image-card.outlier').length").await?;
        ensure!(marked >= 1, "no image marked in the gallery");
        b.screenshot("explore-outliers").await?;

        // The map: one point per embedded image.
        b.click("button[data-tab='Map']").await?;
        b.wait_until("the map is drawn", LONG, "const c = document.querySelector('canvas.map'); return !!c && Number(c.dataset.points) > 0", "return document.querySelector('.pca-map').innerText").await?;
        let points: usize = b.js("return Number(document.querySelector('canvas.map').dataset.points)").await?;
        ensure!(points == 7, "{points} points for 7 images");
        b.screenshot("explore-map").await?;

        // The classifier: X-rays and CTs labelled on their thumbnails, the fundus not.
        for (name, label) in [("xray_tibia.png", "x-ray"), ("RG3_UNCR.dcm", "x-ray"), ("ct_head.png", "ct"), ("ct_abdomen.png", "ct")] {
            b.fill(&format!(".image-card[data-name='{name}'] input.truth"), label).await?;
        }
        b.client
            .execute(
                "for (const i of document.querySelectorAll(\".image-card[data-name='xray_chest_pa.png'] input.truth\")) {
                     i.value = 'x-ray'; i.dispatchEvent(new Event('change', {bubbles: true})); }",
                vec![],
            )
            .await?;
        b.click("button[data-tab='Classifier']").await?;
        b.click("button.train").await?;
        b.wait_until("the classifier reports", LONG, "return !!document.querySelector('.cv-result')", "return document.querySelector('.classifier').innerText").await?;
        let (logistic, knn, text, predictions): (f64, f64, String, Vec<String>) = b
            .js("const r = document.querySelector('.cv-result');
                 return [Number(r.dataset.logistic), Number(r.dataset.knn), r.textContent,
                         [...document.querySelectorAll('.predictions tbody td:first-child')].map(t => t.textContent)]")
            .await?;
        ensure!((0.0..=1.0).contains(&logistic) && (0.0..=1.0).contains(&knn), "{text}");
        ensure!(text.contains("held-out accuracy"), "{text}");
        ensure!(predictions == vec!["fundus_retina.png".to_string()], "predictions for {predictions:?}");
        b.screenshot("explore-classifier").await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_npy_export_loads_in_numpy_and_exports_import_back() -> Result<()> {
    let (_emulator, url) = start_emulator(&[])?;
    with_browser(async |b| {
        open(b, &url).await?;
        b.choose_files(&[
            testdata("xray_chest_pa.png"),
            testdata("mri_shoulder.png"),
            testdata("dicom/MR_small.dcm"),
        ])
        .await?;
        run_until(b, 3).await?;
        b.click("button[data-tab='Export / import']").await?;
        b.click("button.export-npy").await?;
        b.click("button.export-json").await?;
        let npy = b
            .downloaded("medinsight-embeddings.npy", Duration::from_secs(20))
            .await?;
        let json = b
            .downloaded("medinsight-session.json", Duration::from_secs(20))
            .await?;
        let meta = b
            .downloaded(
                "medinsight-embeddings-metadata.tsv",
                Duration::from_secs(20),
            )
            .await?;
        let dir = b.downloads.clone();
        let python = std::env::var("MEDINSIGHT_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = "import json, sys, numpy as np\n\
                      a = np.load(sys.argv[1])\n\
                      s = json.load(open(sys.argv[2]))\n\
                      want = np.array([i['vector'] for i in s['images']], dtype=np.float32)\n\
                      print(a.dtype, a.shape, bool(np.array_equal(a, want)))\n";
        let out = std::process::Command::new(&python)
            .args(["-c", script])
            .arg(dir.join("medinsight-embeddings.npy"))
            .arg(dir.join("medinsight-session.json"))
            .output()
            .with_context(|| format!("running {python}"))?;
        ensure!(
            out.status.success(),
            "numpy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
        ensure!(
            said == "float32 (3, 1024) True",
            "numpy says {said:?} ({} bytes .npy, {} bytes JSON)",
            npy.len(),
            json.len()
        );
        let meta = String::from_utf8(meta)?;
        ensure!(
            meta.starts_with("name\tlabel\tpath\n") && meta.lines().count() == 4,
            "metadata: {meta:?}"
        );

        // And back in: the .npy with its metadata, then the session file.
        let input = |css: &'static str| b.client.find(fantoccini::Locator::Css(css));
        input("input.import-npy-file")
            .await?
            .send_keys(&dir.join("medinsight-embeddings.npy").display().to_string())
            .await?;
        input("input.import-tsv-file")
            .await?
            .send_keys(&dir.join("medinsight-embeddings-metadata.tsv").display().to_string())
            .await?;
        b.click("button.import-vectors").await?;
        b.wait_until(
            "the imported vectors are images",
            Duration::from_secs(20),
            "return document.querySelectorAll(\".image-card[data-stage='embedded']\").length === 6",
            "return document.querySelector('.export-status').textContent",
        )
        .await?;
        input("input.import-session-file")
            .await?
            .send_keys(&dir.join("medinsight-session.json").display().to_string())
            .await?;
        b.click("button.import-session").await?;
        b.wait_until(
            "the imported session is back",
            Duration::from_secs(20),
            "return document.querySelectorAll(\".image-card[data-stage='embedded']\").length === 9",
            "return document.querySelector('.export-status').textContent",
        )
        .await?;
        let status: String = b.js("return document.querySelector('.export-status').textContent").await?;
        ensure!(status.contains("Imported 3 images"), "import status: {status}");
        // Imported images have no pixels: their cards say so (the 3 loaded ones show theirs).
        let vector_only: usize = b
            .js("return document.querySelectorAll('.image-card .vector-only').length")
            .await?;
        ensure!(vector_only == 6, "{vector_only} vector-only cards, expected 6");
        // Imported vectors are the exported ones: each name's twin reads 1.000.
        b.click("button[data-tab='Similarity']").await?;
        let (values, names): (String, String) = b
            .js("const c = document.querySelector('canvas.heatmap'); return [c.dataset.values, c.dataset.rowNames]")
            .await?;
        let values: Vec<&str> = values.split(',').collect();
        let names: Vec<String> = serde_json::from_str(&names)?;
        ensure!(names.len() == 9, "heatmap rows: {names:?}");
        ensure!(values[3] == "1.000" && values[6] == "1.000", "first row: {:?}", &values[..9]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_reload_in_the_middle_of_a_run_keeps_every_finished_vector() -> Result<()> {
    let (_emulator, url) = start_emulator(&["--latency-ms", "1200"])?;
    with_browser(async |b| {
        open(b, &url).await?;
        set_settings(b, &[("images-per-request", "1"), ("in-flight", "1")]).await?;
        b.choose_files(&[
            testdata("xray_chest_pa.png"),
            testdata("ct_head.png"),
            testdata("histo_he_tile.png"),
            testdata("us_doppler.png"),
            testdata("mri_abdomen.png"),
        ])
        .await?;
        b.click("button.run").await?;
        b.wait_until("two embedded", LONG, "return Number(document.querySelector('.run-figures').dataset.embedded) >= 2", FIGURES).await?;
        let before: Vec<(String, String)> = b
            .js("return [...document.querySelectorAll('.image-card')].map(c => [c.dataset.name, c.dataset.stage])")
            .await?;
        let done: Vec<String> = before.iter().filter(|s| s.1 == "embedded").map(|s| s.0.clone()).collect();
        ensure!(done.len() >= 2 && done.len() < 5, "before the reload: {before:?}");

        open(b, &url).await?;
        b.wait_until("the five images are back", Duration::from_secs(20), "return document.querySelectorAll('.image-card').length === 5", "return document.body.innerText.slice(0, 400)").await?;
        let after: Vec<(String, String)> = b
            .js("return [...document.querySelectorAll('.image-card')].map(c => [c.dataset.name, c.dataset.stage])")
            .await?;
        b.screenshot("explore-reloaded").await?;
        for name in &done {
            ensure!(after.iter().any(|s| &s.0 == name && s.1 == "embedded"), "{name} lost its vector: {after:?}");
        }
        ensure!(after.iter().all(|s| s.1 == "embedded" || s.1 == "ready"), "after the reload: {after:?}");
        let rows: usize = b.js("return document.querySelectorAll('tr.embedding-row').length").await?;
        ensure!(rows >= done.len(), "{rows} embedding rows after the reload");
        let settings: String = b.js("return document.querySelector('details.settings input.images-per-request').value").await?;
        ensure!(settings == "1", "settings not remembered: {settings}");

        // Resume: only the rest is sent.
        let remaining = after.iter().filter(|s| s.1 == "ready").count();
        run_until(b, remaining).await?;
        let all: usize = b.js("return document.querySelectorAll(\".image-card[data-stage='embedded']\").length").await?;
        ensure!(all == 5, "{all} of 5 embedded after resuming");
        let stats = b.emulator_stats().await?;
        let rows = stats["rows_embedded"].as_u64().unwrap_or(0);
        // The request in flight at the reload may have been answered to a closed tab.
        ensure!((5..=6).contains(&rows), "rows embedded at the emulator: {stats}");
        Ok(())
    })
    .await
}
