//! The installable app: the build hook that writes its service worker (`scripts/pwa-hook`,
//! natively), and in Chromium: the page reloaded with no network mounts with its saved
//! session and says the endpoint cannot be reached; `/score` and `/endpoint-info` never
//! come from the worker's cache; a new build's worker waits, the page offers to reload,
//! and the reload switches to it.
//!
//! "No network" is Chromium's own network emulation (DevTools' Offline, through
//! chromedriver), with the server still running: requests fail as on a train, and
//! nothing passes only because the server went away.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use base64::Engine;
use medinsight_e2e::app::{open, with_browser, LONG};
use medinsight_e2e::{
    built, start_emulator, start_emulator_serving, testdata, workspace_root, Browser,
};
use sha2::{Digest, Sha256};

/// The cards' (name, stage, reason), for failure messages.
const CARDS: &str = "return [...document.querySelectorAll('.image-card')].map(c => [c.dataset.name, c.dataset.stage,
    (c.querySelector('.reason') || {}).textContent || ''])";

/// Runs the hook over `dir` as Trunk does after a build of `profile`.
fn run_hook(dir: &Path, profile: &str, public_url: &str) -> std::process::Output {
    Command::new("bash")
        .arg(workspace_root().join("scripts/pwa-hook"))
        .env("TRUNK_STAGING_DIR", dir)
        .env("TRUNK_PROFILE", profile)
        .env("TRUNK_PUBLIC_URL", public_url)
        .output()
        .expect("bash runs scripts/pwa-hook")
}

/// sw.js's VERSION and FILES (path → integrity).
fn worker_manifest(sw: &str) -> (String, BTreeMap<String, String>) {
    let version = sw
        .lines()
        .find_map(|l| l.strip_prefix("const VERSION = \""))
        .and_then(|v| v.strip_suffix("\";"))
        .unwrap_or_default()
        .to_string();
    let files = sw
        .lines()
        .skip_while(|l| *l != "const FILES = [")
        .skip(1)
        .take_while(|l| *l != "];")
        .filter_map(|l| {
            let parts: Vec<&str> = l.split('"').collect();
            (parts.len() == 5).then(|| (parts[1].to_string(), parts[3].to_string()))
        })
        .collect();
    (version, files)
}

fn integrity(bytes: &[u8]) -> String {
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
    )
}

#[test]
fn the_build_hook_lists_every_file_by_its_hash_and_a_new_build_is_a_new_worker() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("snippets/x"))?;
    std::fs::write(dir.join("index.html"), "<title>app</title>")?;
    std::fs::write(dir.join("main.css"), "body{}")?;
    std::fs::write(dir.join("snippets/x/inline0.js"), "export {}")?;

    let out = run_hook(dir, "release", "/");
    ensure!(
        out.status.success(),
        "hook failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = std::fs::read_to_string(dir.join("sw.js"))?;
    let (version, files) = worker_manifest(&first);
    ensure!(version.len() == 16, "VERSION {version:?} in:\n{first:.400}");
    let mut expected = BTreeMap::new();
    for name in ["index.html", "main.css", "snippets/x/inline0.js"] {
        expected.insert(
            format!("/{name}"),
            integrity(&std::fs::read(dir.join(name))?),
        );
    }
    ensure!(files == expected, "FILES {files:?}, expected {expected:?}");
    ensure!(
        first.contains("addEventListener(\"fetch\""),
        "pwa/sw.js follows the constants"
    );

    // The same build gives the same bytes (no worker reinstalled for nothing)…
    ensure!(run_hook(dir, "release", "/").status.success());
    ensure!(
        std::fs::read_to_string(dir.join("sw.js"))? == first,
        "same files, other sw.js"
    );
    // …any changed file another worker.
    std::fs::write(dir.join("main.css"), "body{color:red}")?;
    ensure!(run_hook(dir, "release", "/").status.success());
    let (changed, files) = worker_manifest(&std::fs::read_to_string(dir.join("sw.js"))?);
    ensure!(
        changed != version,
        "a changed main.css kept VERSION {version}"
    );
    ensure!(
        files["/main.css"] == integrity(b"body{color:red}"),
        "{files:?}"
    );

    // Served under a prefix, the paths carry it.
    ensure!(run_hook(dir, "release", "/explorer").status.success());
    let (_, files) = worker_manifest(&std::fs::read_to_string(dir.join("sw.js"))?);
    ensure!(files.contains_key("/explorer/index.html"), "{files:?}");

    // Development builds get the worker that retires a release build's.
    ensure!(run_hook(dir, "debug", "/").status.success());
    let retire = std::fs::read_to_string(workspace_root().join("pwa/sw-retire.js"))?;
    ensure!(
        std::fs::read_to_string(dir.join("sw.js"))? == retire,
        "debug sw.js is not the retiring worker"
    );

    // A name sw.js cannot quote is refused, not written half-escaped.
    std::fs::write(dir.join("a\"b.js"), "x")?;
    let out = run_hook(dir, "release", "/");
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success() && err.contains("rename it"),
        "status {}, said {err}",
        out.status
    );
    Ok(())
}

/// Waits until the service worker controls the page and holds the build.
async fn wait_for_offline_copy(b: &Browser) -> Result<()> {
    b.wait_until(
        "the service worker controls the page",
        Duration::from_secs(30),
        "return !!(navigator.serviceWorker && navigator.serviceWorker.controller)",
        "return {sw: !!navigator.serviceWorker, controller: !!(navigator.serviceWorker && navigator.serviceWorker.controller)}",
    )
    .await
}

/// Every cache of the origin: its name → the paths it holds.
async fn cached(b: &Browser) -> Result<BTreeMap<String, Vec<String>>> {
    let value = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             (async () => {
               const out = {};
               for (const name of await caches.keys()) {
                 const cache = await caches.open(name);
                 out[name] = (await cache.keys()).map(r => new URL(r.url).pathname).sort();
               }
               return out;
             })().then(done, e => done({error: [String(e)]}));",
            vec![],
        )
        .await?;
    serde_json::from_value(value.clone()).with_context(|| format!("caches: {value}"))
}

/// Waits until the session's IndexedDB holds `n` images with their thumbnails (the
/// writer is debounced: a reload before it ran would lose them, which is another test's).
async fn wait_saved(b: &Browser, n: u64) -> Result<()> {
    let start = std::time::Instant::now();
    loop {
        let counts = b
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const open = indexedDB.open('medinsight-session');
                 open.onerror = () => done([-1, -1]);
                 open.onsuccess = () => {
                   const db = open.result;
                   const tx = db.transaction(['images', 'thumbnails'], 'readonly');
                   const images = tx.objectStore('images').count();
                   const thumbs = tx.objectStore('thumbnails').count();
                   tx.oncomplete = () => { db.close(); done([images.result, thumbs.result]); };
                   tx.onerror = () => { db.close(); done([-2, -2]); };
                 };",
                vec![],
            )
            .await?;
        if counts == serde_json::json!([n, n]) {
            return Ok(());
        }
        ensure!(
            start.elapsed() < LONG,
            "{n} images not saved; IndexedDB holds {counts}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The body of a fetch from the page, or `{"error": …}` when it failed.
async fn page_fetch(b: &Browser, path: &str, method: &str) -> Result<serde_json::Value> {
    Ok(b.client
        .execute_async(
            "const [path, method, done] = arguments;
             const init = method === 'POST'
               ? {method, headers: {'content-type': 'application/json'}, body: '{\"input_data\": {\"columns\": [\"image\", \"text\"], \"index\": [0], \"data\": [[\"\", \"x\"]]}}'}
               : {method};
             fetch(path, init).then(r => done({status: r.status}), e => done({error: String(e)}));",
            vec![serde_json::json!(path), serde_json::json!(method)],
        )
        .await?)
}

#[tokio::test]
async fn offline_reload_mounts_the_app_with_its_session_and_embed_says_unreachable() -> Result<()> {
    let (_emulator, url) = start_emulator(&[])?;
    with_browser(async |b| {
        open(b, &url).await?;
        wait_for_offline_copy(b).await?;
        b.choose_files(&[testdata("xray_chest_pa.png"), testdata("ct_head.png")]).await?;
        b.wait_until(
            "both images prepared",
            LONG,
            "return [...document.querySelectorAll('.image-card')].filter(c => c.dataset.stage === 'ready').length === 2",
            CARDS,
        )
        .await?;
        wait_saved(b, 2).await?;

        b.set_offline(true).await?;
        ensure!(!b.js::<bool>("return navigator.onLine").await?, "navigator.onLine stays true under network emulation");
        // Without a worker this navigation fails (Chromium's "no internet" page).
        open(b, &url).await?;
        b.wait_until(
            "the saved images are back, thumbnails shown",
            Duration::from_secs(30),
            "const cards = [...document.querySelectorAll('.image-card')];
             return cards.length === 2 && cards.every(c => { const i = c.querySelector('.thumb img'); return i && i.complete && i.naturalWidth > 0; })",
            CARDS,
        )
        .await?;
        let status: (String, String) = b
            .js("const s = document.querySelector('.endpoint-status'); return [s.dataset.state, s.textContent]")
            .await?;
        ensure!(status.0 == "offline" && status.1.contains("cannot be reached"), "status line: {status:?}");

        b.click("button.run").await?;
        b.wait_until(
            "Embed says the endpoint cannot be reached",
            LONG,
            "const f = document.querySelector('.run-fatal'); return !!f && f.textContent.includes('cannot be reached')",
            CARDS,
        )
        .await?;
        b.screenshot("pwa-offline-reload").await?;
        let cards: Vec<(String, String, String)> = b.js(CARDS).await?;
        ensure!(
            cards.len() == 2 && cards.iter().all(|c| c.1 == "failed" && c.2.contains("offline")),
            "cards after Embed offline: {cards:?}"
        );
        let running: String = b.js("return document.querySelector('.run-figures').dataset.running").await?;
        ensure!(running == "false", "the run goes on offline (running = {running})");
        let figures: String = b.js("return document.querySelector('.run-figures').textContent").await?;
        ensure!(
            figures.contains(" 0 requests"),
            "a request never sent is counted: {figures}"
        );

        // Back online, the same session embeds: nothing was lost.
        b.set_offline(false).await?;
        b.wait_until(
            "the status line finds the endpoint again",
            Duration::from_secs(20),
            "return document.querySelector('.endpoint-status').dataset.state === 'ok'",
            "return document.querySelector('.endpoint-status').textContent",
        )
        .await?;
        b.click("button.run").await?;
        b.wait_until(
            "both embedded once online",
            LONG,
            "return document.querySelectorAll(\".image-card[data-stage='embedded']\").length === 2",
            CARDS,
        )
        .await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn score_and_endpoint_info_never_come_from_the_offline_copy() -> Result<()> {
    let (_emulator, url) = start_emulator(&[])?;
    with_browser(async |b| {
        open(b, &url).await?;
        wait_for_offline_copy(b).await?;
        let caches = cached(b).await?;
        ensure!(caches.len() == 1, "one cache per build: {caches:?}");
        let paths: Vec<&String> = caches.values().flatten().collect();
        for path in [
            "/index.html",
            "/medinsight-web_bg.wasm",
            "/compute-worker_loader.js",
            "/manifest.webmanifest",
        ] {
            ensure!(
                paths.iter().any(|p| *p == path),
                "{path} not kept: {paths:?}"
            );
        }

        // Online, every request reaches the server, the second as the first.
        let before = b.emulator_stats().await?["requests"].as_u64().unwrap_or(0);
        for _ in 0..2 {
            let answer = page_fetch(b, "/score", "POST").await?;
            ensure!(answer.get("status").is_some(), "/score: {answer}");
            let answer = page_fetch(b, "/endpoint-info", "GET").await?;
            ensure!(answer["status"] == 200, "/endpoint-info: {answer}");
        }
        let after = b.emulator_stats().await?["requests"].as_u64().unwrap_or(0);
        ensure!(
            after == before + 2,
            "the emulator saw {} of 2 scoring requests",
            after - before
        );

        // Offline, the app's files still come from the worker, these two never.
        b.set_offline(true).await?;
        let css = page_fetch(b, "/main.css", "GET").await?;
        ensure!(css["status"] == 200, "/main.css offline: {css}");
        for (path, method) in [
            ("/score", "POST"),
            ("/endpoint-info", "GET"),
            ("/score", "GET"),
        ] {
            let answer = page_fetch(b, path, method).await?;
            ensure!(
                answer.get("error").is_some(),
                "{method} {path} answered offline: {answer}"
            );
        }
        let caches = cached(b).await?;
        ensure!(
            caches
                .values()
                .flatten()
                .all(|p| p != "/score" && p != "/endpoint-info"),
            "{caches:?}"
        );
        Ok(())
    })
    .await
}

/// A copy of the release build, for a test that makes a "new build" of it.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn version_of(dist: &Path) -> Result<String> {
    let (version, _) = worker_manifest(&std::fs::read_to_string(dist.join("sw.js"))?);
    ensure!(
        !version.is_empty(),
        "{} has no VERSION: not a release build?",
        dist.display()
    );
    Ok(version)
}

#[tokio::test]
async fn a_new_build_waits_until_the_user_reloads_into_it() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let dist: PathBuf = tmp.path().join("dist");
    copy_dir(&built().dist, &dist)?;
    let old = version_of(&dist)?;
    let (_emulator, url) = start_emulator_serving(&dist, &[])?;
    with_browser(async |b| {
        open(b, &url).await?;
        wait_for_offline_copy(b).await?;
        let names: Vec<String> = cached(b).await?.into_keys().collect();
        ensure!(names == [format!("medinsight-{old}")], "caches {names:?}");
        ensure!(b.js::<bool>("return !document.querySelector('.update-banner')").await?, "a banner before any new build");

        // A new build: one file changes and the hook runs, as `trunk build` would.
        let manifest = dist.join("manifest.webmanifest");
        let text = std::fs::read_to_string(&manifest)?.replace("MedImageInsight Explorer", "MedImageInsight Explorer 2");
        std::fs::write(&manifest, text)?;
        let out = run_hook(&dist, "release", "/");
        ensure!(out.status.success(), "hook: {}", String::from_utf8_lossy(&out.stderr));
        let new = version_of(&dist)?;
        ensure!(new != old, "the new build kept VERSION {old}");

        // What the browser does by itself at the next navigation, or once a day.
        b.client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 navigator.serviceWorker.getRegistration().then(r => r.update()).then(() => done(null), e => done(String(e)));",
                vec![],
            )
            .await?;
        b.wait_until(
            "the page says a new version is ready",
            Duration::from_secs(30),
            "const p = document.querySelector('.update-banner'); return !!p && p.textContent.includes('new version')",
            "return document.body.innerText.slice(0, 300)",
        )
        .await?;
        b.screenshot("pwa-update-ready").await?;
        // Still the old build's page and cache until the user says so.
        let names: Vec<String> = cached(b).await?.into_keys().collect();
        ensure!(names.contains(&format!("medinsight-{old}")), "old cache gone before the reload: {names:?}");

        b.js::<serde_json::Value>("window.__beforeReload = true; return null").await?;
        b.click("button.reload-update").await?;
        b.wait_until(
            "the page reloaded under the new worker",
            Duration::from_secs(30),
            "return !window.__beforeReload && !!document.querySelector('input.file-input')
                && !!navigator.serviceWorker.controller",
            "return {old: !!window.__beforeReload, banner: !!document.querySelector('.update-banner')}",
        )
        .await?;
        let names: Vec<String> = cached(b).await?.into_keys().collect();
        ensure!(names == [format!("medinsight-{new}")], "caches after the reload: {names:?}");
        let banner: bool = b.js("return !!document.querySelector('.update-banner')").await?;
        ensure!(!banner, "the banner is still there after switching");
        let served: String = b
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch('/manifest.webmanifest').then(r => r.json()).then(m => done(m.name), e => done(String(e)));",
                vec![],
            )
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string();
        ensure!(served == "MedImageInsight Explorer 2", "the page's manifest is {served:?}");
        Ok(())
    })
    .await
}
