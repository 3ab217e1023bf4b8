//! Sessions of thousands of images, end to end (issue 12): a synthetic session written
//! by `medinsight generate`, brought in through the app's own imports ("Import vectors"
//! for the `.npy` + TSV, "Import session" for the labels with their vectors and the
//! scaling factor), and the page's facts both the scale test and the benchmark read:
//! when the session is usable, how many DOM nodes the gallery holds, when the browser's
//! storage has caught up.
//!
//! The selectors are the page's contract for long sessions: `.gallery-counts` (its text
//! says "N embedded"), `.gallery-shown[data-count]` (the images the gallery shows after
//! filtering), `.gallery` / `.gallery-scroll` (the gallery's root and its scrolling
//! container). They live here once so that a change in the page changes one place.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use fantoccini::Locator;

use crate::{built, workspace_root, Browser};

/// A session written by `medinsight generate`.
#[derive(Clone, Debug)]
pub struct Generated {
    pub dir: PathBuf,
    pub n: usize,
    /// Images per ground-truth label, read back from the metadata written.
    pub label_counts: BTreeMap<String, usize>,
    /// How many prompts `labels.json` holds (one per cluster).
    pub labels: usize,
}

impl Generated {
    pub fn npy(&self) -> PathBuf {
        self.dir.join("vectors.npy")
    }
    pub fn tsv(&self) -> PathBuf {
        self.dir.join("metadata.tsv")
    }
    pub fn labels_json(&self) -> PathBuf {
        self.dir.join("labels.json")
    }
}

/// Runs the built `medinsight generate` for `n` images in `clusters` clusters into
/// `target/e2e/generated/n<N>-seed<S>` (written afresh: the output is deterministic and
/// takes seconds).
pub fn generate(n: usize, seed: u64, clusters: usize) -> Result<Generated> {
    let dir = workspace_root().join(format!("target/e2e/generated/n{n}-seed{seed}-k{clusters}"));
    let output = Command::new(&built().medinsight)
        .arg("generate")
        .args(["--n", &n.to_string(), "--seed", &seed.to_string()])
        .args(["--clusters", &clusters.to_string(), "--out"])
        .arg(&dir)
        .output()
        .context("running medinsight generate")?;
    ensure!(
        output.status.success(),
        "medinsight generate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tsv = std::fs::read_to_string(dir.join("metadata.tsv"))?;
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let label = header
        .iter()
        .position(|h| *h == "label")
        .context("metadata.tsv has no label column")?;
    let mut label_counts = BTreeMap::new();
    let mut rows = 0;
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let field = line.split('\t').nth(label).unwrap_or_default().to_string();
        *label_counts.entry(field).or_default() += 1;
        rows += 1;
    }
    ensure!(rows == n, "metadata.tsv has {rows} rows for {n} images");
    let labels = clusters.min(n);
    Ok(Generated {
        dir: dir.canonicalize()?,
        n,
        label_counts,
        labels,
    })
}

/// Opens the "Export / import" tab.
pub async fn open_import(b: &Browser) -> Result<()> {
    b.click("button[data-tab='Export / import']").await
}

/// Chooses a file in the file input `css` of the import panel.
async fn choose(b: &Browser, css: &str, path: &std::path::Path) -> Result<()> {
    b.client
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("no {css} on the page"))?
        .send_keys(&path.display().to_string())
        .await
        .with_context(|| format!("choosing {} in {css}", path.display()))?;
    Ok(())
}

/// Imports `labels.json` (prompts, their vectors, the scaling factor) with "Import
/// session" and waits for the panel to confirm. The import tab must be open.
pub async fn import_labels(b: &Browser, g: &Generated) -> Result<()> {
    choose(b, "input.import-session-file", &g.labels_json()).await?;
    b.click("button.import-session").await?;
    let said = format!("Imported 0 images and {} labels", g.labels);
    b.wait_until(
        "the labels are imported",
        Duration::from_secs(60),
        &format!(
            "const s = document.querySelector('.export-status');
             return !!s && s.textContent.includes({said:?})"
        ),
        "return document.querySelector('.export-status').textContent",
    )
    .await
}

/// Chooses `vectors.npy` and `metadata.tsv` for "Import vectors" (the import tab must be
/// open); pressing `button.import-vectors` is left to the caller, which may time it.
pub async fn choose_vectors(b: &Browser, g: &Generated) -> Result<()> {
    choose(b, "input.import-npy-file", &g.npy()).await?;
    choose(b, "input.import-tsv-file", &g.tsv()).await
}

/// A script body returning true once the gallery says `n` images are embedded: its
/// counts line reads "… N embedded …", or `.gallery-shown` counts N (right after an
/// import of vectors every image is embedded).
pub fn usable_js(n: usize) -> String {
    format!(
        "const c = document.querySelector('.gallery-counts');
         if (c && /(^|\\D){n} embedded/.test(c.textContent)) return true;
         const s = document.querySelector('.gallery-shown');
         return !!s && Number(s.dataset.count) === {n};"
    )
}

/// What the page says about the gallery, for failure messages.
pub const GALLERY_STATE: &str = "const c = document.querySelector('.gallery-counts');
     const s = document.querySelector('.gallery-shown');
     return [c && c.textContent, s && s.dataset.count,
             (document.querySelector('.export-status') || {}).textContent,
             document.body.innerText.slice(0, 300)]";

/// Waits until the gallery says `n` images are embedded.
pub async fn wait_usable(b: &Browser, n: usize, timeout: Duration) -> Result<()> {
    b.wait_until(
        &format!("the gallery shows {n} embedded"),
        timeout,
        &usable_js(n),
        GALLERY_STATE,
    )
    .await
}

/// A script body returning how many elements the gallery holds (everything under its
/// root `.gallery` and under its scrolling container `.gallery-scroll`, each counted
/// once), or -1 without a gallery.
pub const GALLERY_NODES_JS: &str =
    "if (!document.querySelector('.gallery, .gallery-scroll')) return -1;
     return document.querySelectorAll('.gallery *, .gallery-scroll *').length";

pub async fn gallery_nodes(b: &Browser) -> Result<i64> {
    b.js(GALLERY_NODES_JS).await
}

/// Records in every IndexedDB database of the page (each object store counted), or -1
/// if they could not be read. Schema-agnostic on purpose: how the session is stored is
/// another part's business; that writes have stopped is all a reload test needs.
const STORED_RECORDS_JS: &str = "const done = arguments[arguments.length - 1];
    const req = r => new Promise((ok, ko) => { r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
    (async () => {
      let total = 0;
      for (const d of await indexedDB.databases()) {
        const db = await req(indexedDB.open(d.name));
        const names = [...db.objectStoreNames];
        if (names.length) {
          const tx = db.transaction(names, 'readonly');
          for (const s of names) total += await req(tx.objectStore(s).count());
        }
        db.close();
      }
      return total;
    })().then(done, () => done(-1));";

/// Waits until the page has finished saving: no element carries `data-saving` and the
/// number of records stored has not changed for `quiet` (the app has no "saved"
/// indicator yet; writes are asynchronous, and a reload in their middle would test the
/// reload of a half-saved session, a different fact). Returns the records stored and
/// when their number last changed (to the polling's 0.25 s).
pub async fn wait_saved(b: &Browser, quiet: Duration, timeout: Duration) -> Result<(i64, Instant)> {
    let start = Instant::now();
    let (mut last, mut since) = (-2i64, Instant::now());
    loop {
        let saving: bool = b
            .js("return !!document.querySelector('[data-saving]')")
            .await?;
        let count: i64 =
            serde_json::from_value(b.client.execute_async(STORED_RECORDS_JS, vec![]).await?)?;
        if saving || count != last {
            (last, since) = (count, Instant::now());
        } else if count > 0 && since.elapsed() >= quiet {
            return Ok((count, since));
        }
        if start.elapsed() > timeout {
            bail!("the page was still saving after {timeout:?} ({count} records stored)");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
