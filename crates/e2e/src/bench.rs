//! The scale benchmark (issue 12): the release build in headless Chromium, a synthetic
//! session of N images imported through the app's own imports, and the figures a user
//! feels, per N: import-to-usable, the gallery's DOM nodes, scroll frame times, the time
//! from clicking each tab to its content painted, the longest task that froze the page
//! in each phase, the page's heap, reload-to-usable.
//!
//! Times are taken on the page's own clock (`performance.now()`), inside one script
//! that clicks and then waits, so WebDriver's round trips are not in them: a phase
//! starts just before the click and ends two animation frames after its content is
//! there (the frame it is painted in) and no element carries `data-busy` (the app's
//! contract for work still under way). A reload's phase starts at navigation (the new
//! document's time origin). Long tasks come from a `PerformanceObserver` registered with
//! `buffered: true` after each navigation, so the tasks of page load are in it too; a
//! phase's longest is the longest task overlapping it, the "never frozen > 100 ms"
//! figure. Heap is `performance.memory.usedJSHeapSize` (Chromium, exact with
//! `--enable-precise-memory-info`) plus the page's wasm memory, reached through Trunk's
//! `window.wasmBindings`; the compute worker's own heap is not visible from the page.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fantoccini::wd::TimeoutConfiguration;

use crate::app::open;
use crate::scale::{self, Generated};
use crate::{start_emulator, Browser};

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    pub sizes: Vec<usize>,
    pub seed: u64,
    pub clusters: usize,
    /// Longest any one phase may take before it is reported as timed out.
    pub phase_timeout: Duration,
}

/// A phase's duration (or why there is none) and the longest task during it.
#[derive(Clone, Debug)]
pub struct Timed {
    pub millis: Result<f64, String>,
    pub longest_task_ms: f64,
    /// The worker job's own time, when the panel states it ("… ms in a worker").
    pub worker_ms: Option<f64>,
}

/// The scripted scroll of the gallery.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Scroll {
    pub p95: f64,
    pub median: f64,
    pub max: f64,
    pub frames: usize,
    pub travelled: f64,
    /// Which element scrolled.
    pub container: String,
    #[serde(skip)]
    pub longest_task_ms: f64,
}

/// Bytes of the page's heap.
#[derive(Clone, Copy, Debug, Default, serde::Deserialize)]
pub struct Heap {
    pub js: Option<f64>,
    pub wasm: Option<f64>,
}

impl Heap {
    fn total(&self) -> f64 {
        self.js.unwrap_or(0.0) + self.wasm.unwrap_or(0.0)
    }
}

/// Everything measured at one N.
#[derive(Clone, Debug)]
pub struct Figures {
    pub n: usize,
    pub import: Timed,
    /// Records in the browser's storage once saving stopped, and when it stopped
    /// (from the import's click, measured from outside the page to ±0.3 s).
    pub saved: Result<(i64, f64), String>,
    pub dom_nodes: i64,
    pub scroll: Result<Scroll, String>,
    /// Each tab's figures, by the name the table gives it.
    pub tabs: Vec<(&'static str, Timed)>,
    pub reload: Timed,
    /// The largest heap sampled (after import, after each tab, after the reload).
    pub heap_max: Heap,
    pub heap_after_reload: Heap,
}

/// One step of a timed phase, run inside the page.
enum Step {
    /// Click the first element matching this selector, once it exists and is enabled.
    Click(String),
    /// Wait until this function body returns true; a string it returns is an error.
    Until(String),
}

/// Whether the tab titled `title` is the selected one (a JS expression).
fn tab_selected(title: &str) -> String {
    format!(
        "(document.querySelector(\"button[data-tab='{title}']\") || {{ getAttribute: () => null }}).getAttribute('aria-selected') === 'true'"
    )
}

/// A readiness check for the tab panel: an alert in it is an error; otherwise the tab
/// must be selected, nothing busy, and `content` (a JS expression over `panel`) true.
fn panel_ready(title: &str, content: &str) -> String {
    format!(
        "const panel = document.querySelector('.tab-panel');
         if (!panel || !({selected})) return false;
         const alert = panel.querySelector('[role=alert], .error');
         if (alert && alert.textContent.trim()) return 'the panel says: ' + alert.textContent.trim();
         if (document.querySelector('[data-busy]')) return false;
         return !!({content});",
        selected = tab_selected(title),
    )
}

/// A tab timed: its title, how the figures name it, the button pressed once it is open
/// (if any), and what shows its content is there (a JS expression over `panel`).
struct Tab {
    title: &'static str,
    heading: &'static str,
    press: Option<&'static str>,
    content: &'static str,
}

/// The tabs timed, in order.
const TABS: [Tab; 6] = [
    Tab {
        title: "Similarity",
        heading: "Similarity",
        press: None,
        content: "panel.querySelector('.heatmap-summary') || [...panel.querySelectorAll('canvas.heatmap')].some(c => Number(c.dataset.rows) > 0)",
    },
    Tab {
        title: "Zero-shot",
        heading: "Zero-shot",
        press: None,
        content: "panel.querySelector('.zero-shot-summary, .zs-row')",
    },
    Tab {
        title: "Map",
        heading: "Map",
        press: None,
        content: "[...panel.querySelectorAll('canvas.map-canvas, canvas.map')].some(c => c.dataset.points === undefined || Number(c.dataset.points) > 0)",
    },
    Tab {
        title: "Outliers",
        heading: "Outliers (+Score)",
        press: Some("button.score-outliers"),
        content: "panel.querySelector('.outlier-ranking > *')",
    },
    Tab {
        title: "Classifier",
        heading: "Classifier (+Train)",
        press: Some("button.train"),
        content: "panel.querySelector('.cv-result')",
    },
    Tab {
        title: "Embeddings",
        heading: "Embeddings",
        press: None,
        content: "panel.querySelector('.embedding-row, table.embeddings tbody tr')",
    },
];

/// Registers the long-task observer (after every navigation); says whether it could.
const PROBES_JS: &str = "if (!window.__bench) {
       window.__bench = { longtasks: [] };
       try {
         new PerformanceObserver(l => { for (const e of l.getEntries()) __bench.longtasks.push([e.startTime, e.duration]); })
           .observe({ type: 'longtask', buffered: true });
         __bench.observing = true;
       } catch (e) { __bench.observing = String(e); }
     }
     return __bench.observing === true ? null : String(__bench.observing);";

/// The page's heap: JS (`performance.memory`) and the page's wasm memory. Trunk's loader
/// sets `window.wasmBindings` to wasm-bindgen's module, whose default export (`init`)
/// returns the running instance's exports once initialised (its first line returns
/// them), `memory` among them.
const HEAP_JS: &str = "const done = arguments[arguments.length - 1];
    (async () => {
      const js = performance.memory ? performance.memory.usedJSHeapSize : null;
      let wasm = null;
      // Only once the app runs: before, init() would start a second instance.
      const init = window.wasmBindings && window.wasmBindings.default;
      if (init && document.querySelector('input.file-input')) {
        const exports = await init();
        if (exports && exports.memory) wasm = exports.memory.buffer.byteLength;
      }
      return { js, wasm };
    })().then(done, () => done({ js: null, wasm: null }));";

/// Scrolls the gallery's scrolling container (`.gallery-scroll`, else the nearest
/// element from `.gallery` up that scrolls, else the page) by 90 px a frame for 180
/// frames, reversing at either end, and reports the frame-to-frame times.
const SCROLL_JS: &str = "const done = arguments[arguments.length - 1];
    const FRAMES = 180, STEP = 90;
    const scrolls = e => !!e && e.scrollHeight > e.clientHeight + 1 && /(auto|scroll)/.test(getComputedStyle(e).overflowY);
    const describe = e => e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
    let el = document.querySelector('.gallery-scroll'), how = el && scrolls(el) ? '.gallery-scroll' : null;
    if (!how) for (let e = document.querySelector('.gallery'); e; e = e.parentElement) if (scrolls(e)) { el = e; how = describe(e); break; }
    if (!how) { el = document.scrollingElement; how = 'the page (nothing under it scrolls)'; }
    el.scrollTop = 0;
    let dir = 1, last = null, travelled = 0;
    const deltas = [];
    const tick = now => {
      if (last !== null) deltas.push(now - last);
      last = now;
      if (deltas.length >= FRAMES) {
        const s = [...deltas].sort((a, b) => a - b);
        const at = q => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
        done({ p95: at(0.95), median: at(0.5), max: s[s.length - 1], frames: s.length, travelled, container: how });
        return;
      }
      const before = el.scrollTop;
      el.scrollTop = before + dir * STEP;
      if (el.scrollTop === before) { dir = -dir; el.scrollTop = before + dir * STEP; }
      travelled += Math.abs(el.scrollTop - before);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);";

/// The worker job's time as the open panel states it: "818 ms in a worker" (map,
/// classifier) or "in 523 ms (in a worker)" (outliers); null when it says none.
const WORKER_MS_JS: &str = "const p = document.querySelector('.tab-panel');
    const m = p && p.innerText.match(/(\\d[\\d,.]*)\\s*ms\\s*\\(?in a worker/);
    return m ? Number(m[1].replace(/,/g, '')) : null;";

/// The page's clock now.
async fn now(b: &Browser) -> Result<f64> {
    b.js("return performance.now()").await
}

/// The longest task overlapping `[from, now]` on the page's clock, read after the
/// observer has had time to hear of the last ones.
async fn longest_task_since(b: &Browser, from: f64) -> Result<f64> {
    tokio::time::sleep(Duration::from_millis(250)).await;
    let script = format!(
        "const to = performance.now();
         return Math.max(0, ...((window.__bench || {{}}).longtasks || [])
           .filter(([s, d]) => s + d >= {from} && s <= to).map(([s, d]) => d));"
    );
    b.js(&script).await
}

/// Runs `steps` inside the page and times them (see the module's documentation);
/// `from_navigation` starts the clock at the document's time origin instead of at the
/// first click. Returns the phase and its start on the page's clock.
async fn timed(
    b: &Browser,
    steps: &[Step],
    from_navigation: bool,
    timeout: Duration,
) -> Result<(Timed, f64)> {
    let mut body = String::new();
    for step in steps {
        match step {
            Step::Click(css) => writeln!(
                body,
                "{{ const e = await until({css:?}, () => {{ const e = document.querySelector({css:?}); return !!e && !e.disabled && e; }});
                   if (t0 === null) t0 = performance.now();
                   e.click(); }}"
            ),
            Step::Until(check) => writeln!(body, "await until('the content', () => {{ {check} }});"),
        }
        .expect("writing to a String");
    }
    let script = format!(
        "const done = arguments[arguments.length - 1];
         const deadline = performance.now() + {timeout_ms};
         const sleep = ms => new Promise(r => setTimeout(r, ms));
         const frame = () => new Promise(r => requestAnimationFrame(() => r()));
         async function until(what, f) {{
           for (;;) {{
             const r = f();
             if (typeof r === 'string') throw new Error(r);
             if (r) return r;
             if (performance.now() > deadline) throw new Error('timed out after {timeout_s} s waiting for ' + what);
             await sleep(15);
           }}
         }}
         let t0 = {start};
         (async () => {{
           {body}
           await frame(); await frame();
           return {{ start: t0, millis: performance.now() - t0 }};
         }})().then(done, e => done({{ start: t0 === null ? performance.now() : t0, error: String(e && e.message || e) }}));",
        timeout_ms = timeout.as_millis(),
        timeout_s = timeout.as_secs(),
        start = if from_navigation { "0" } else { "null" },
    );
    let value = b.client.execute_async(&script, vec![]).await?;
    let start = value["start"].as_f64().unwrap_or(0.0);
    let millis = match (value["millis"].as_f64(), value["error"].as_str()) {
        (Some(ms), _) => Ok(ms),
        (None, Some(e)) => Err(e.to_string()),
        (None, None) => Err(format!("the page answered {value}")),
    };
    let longest_task_ms = longest_task_since(b, start).await?;
    Ok((
        Timed {
            millis,
            longest_task_ms,
            worker_ms: None,
        },
        start,
    ))
}

async fn heap(b: &Browser) -> Result<Heap> {
    Ok(serde_json::from_value(
        b.client.execute_async(HEAP_JS, vec![]).await?,
    )?)
}

fn bigger(a: Heap, b: Heap) -> Heap {
    if b.total() > a.total() {
        b
    } else {
        a
    }
}

/// Installs the probes; fails if the long-task observer is refused.
async fn probes(b: &Browser) -> Result<()> {
    let refused: Option<String> = b.js(PROBES_JS).await?;
    match refused {
        None => Ok(()),
        Some(e) => anyhow::bail!("the long-task observer could not be registered: {e}"),
    }
}

/// Measures one N in a fresh browser (fresh profile, empty storage).
pub async fn measure(url: &str, g: &Generated, o: &Options) -> Result<Figures> {
    let b = Browser::start_with(&["--enable-precise-memory-info"]).await?;
    let outcome = measure_in(&b, url, g, o).await;
    if outcome.is_err() {
        let _ = b.screenshot(&format!("scale-bench-{}-failed", g.n)).await;
    }
    b.close().await;
    outcome
}

async fn measure_in(b: &Browser, url: &str, g: &Generated, o: &Options) -> Result<Figures> {
    let n = g.n;
    // Scripts wait inside the page up to the phase timeout; WebDriver must wait longer.
    let script_timeout = o.phase_timeout + Duration::from_secs(60);
    b.client
        .update_timeouts(TimeoutConfiguration::new(
            Some(script_timeout),
            Some(script_timeout),
            Some(Duration::ZERO),
        ))
        .await?;
    open(b, url).await?;
    probes(b).await?;
    scale::open_import(b).await?;
    scale::import_labels(b, g).await?;
    scale::choose_vectors(b, g).await?;

    let clicked = Instant::now();
    let (import, import_start) = timed(
        b,
        &[
            Step::Click("button.import-vectors".into()),
            Step::Until(scale::usable_js(n)),
        ],
        false,
        o.phase_timeout,
    )
    .await?;
    import
        .millis
        .as_ref()
        .map_err(|e| anyhow::anyhow!("the import did not finish: {e}"))?;
    // Saving follows the import; what freezes the page meanwhile belongs to the import.
    let saved = scale::wait_saved(b, Duration::from_secs(2), o.phase_timeout)
        .await
        .map(|(records, at)| (records, (at - clicked).as_secs_f64() * 1000.0))
        .map_err(|e| e.to_string());
    let import = Timed {
        longest_task_ms: longest_task_since(b, import_start).await?,
        ..import
    };
    let mut heap_max = heap(b).await?;
    let dom_nodes = scale::gallery_nodes(b).await?;
    b.screenshot(&format!("scale-bench-{n}-imported")).await?;

    let scroll_start = now(b).await?;
    let scroll = match b.client.execute_async(SCROLL_JS, vec![]).await {
        Ok(v) => serde_json::from_value::<Scroll>(v.clone())
            .with_context(|| format!("the scroll returned {v}"))
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let scroll_task = longest_task_since(b, scroll_start).await?;
    let scroll = scroll.map(|s| Scroll {
        longest_task_ms: scroll_task,
        ..s
    });

    let mut tabs = Vec::new();
    for tab in &TABS {
        let mut steps = vec![Step::Click(format!("button[data-tab='{}']", tab.title))];
        steps.extend(tab.press.map(|css| Step::Click(css.to_string())));
        steps.push(Step::Until(panel_ready(tab.title, tab.content)));
        let (t, _) = timed(b, &steps, false, o.phase_timeout).await?;
        let worker_ms = b.js(WORKER_MS_JS).await?;
        tabs.push((tab.heading, Timed { worker_ms, ..t }));
        heap_max = bigger(heap_max, heap(b).await?);
        b.screenshot(&format!("scale-bench-{n}-{}", tab.title.to_lowercase()))
            .await?;
    }

    // Whatever the tabs changed (outlier marks, …) is saved before the reload.
    let _ = scale::wait_saved(b, Duration::from_secs(2), o.phase_timeout).await;
    b.client.refresh().await?;
    probes(b).await?;
    let (reload, _) = timed(
        b,
        &[Step::Until(scale::usable_js(n))],
        true,
        o.phase_timeout,
    )
    .await?;
    let heap_after_reload = heap(b).await?;
    heap_max = bigger(heap_max, heap_after_reload);
    b.screenshot(&format!("scale-bench-{n}-reloaded")).await?;
    Ok(Figures {
        n,
        import,
        saved,
        dom_nodes,
        scroll,
        tabs,
        reload,
        heap_max,
        heap_after_reload,
    })
}

/// Generates and measures every size in turn (one browser at a time), printing each
/// size's figures as soon as they are known, then the summary table.
pub async fn run(o: &Options, mut out: impl std::io::Write) -> Result<Vec<Figures>> {
    let (_emulator, url) = start_emulator(&[])?;
    let mut all = Vec::new();
    for &n in &o.sizes {
        let g = scale::generate(n, o.seed, o.clusters)?;
        writeln!(
            out,
            "\nN = {n}: measuring (vectors in {})…",
            g.dir.display()
        )?;
        out.flush()?;
        let f = measure(&url, &g, o)
            .await
            .with_context(|| format!("measuring N = {n}"))?;
        write!(out, "{}", block(&f))?;
        out.flush()?;
        all.push(f);
    }
    writeln!(out, "\n{}", summary(&all))?;
    Ok(all)
}

fn seconds(t: &Timed) -> String {
    match &t.millis {
        Ok(ms) => format!("{:.2} s", ms / 1000.0),
        Err(e) if e.starts_with("timed out") => "timeout".into(),
        Err(_) => "error".into(),
    }
}

fn mb(bytes: Option<f64>) -> String {
    bytes.map_or("n/a".into(), |b| format!("{:.0} MB", b / 1e6))
}

fn heap_text(h: &Heap) -> String {
    format!(
        "{} (JS {} + wasm {})",
        mb(Some(h.total())),
        mb(h.js),
        mb(h.wasm)
    )
}

/// One N's figures, one per line.
pub fn block(f: &Figures) -> String {
    let mut s = format!("  {:<32} {:<34} longest task\n", "phase", "time");
    let mut line = |what: &str, value: String, task: Option<f64>| {
        let task = task.map_or(String::new(), |t| format!("{t:>9.0} ms"));
        writeln!(s, "  {what:<32} {value:<34} {task}").expect("writing to a String");
    };
    let timed = |t: &Timed| match &t.millis {
        Err(e) => format!("{} ({e})", seconds(t)),
        Ok(_) => seconds(t),
    };
    line(
        "import to usable",
        timed(&f.import),
        Some(f.import.longest_task_ms),
    );
    match &f.saved {
        Ok((records, ms)) => line(
            "saved (records, after click)",
            format!("{records} records, {:.1} s", ms / 1000.0),
            None,
        ),
        Err(e) => line("saved", format!("not settled: {e}"), None),
    }
    line("gallery DOM nodes", f.dom_nodes.to_string(), None);
    match &f.scroll {
        Ok(sc) => line(
            "scroll frame p95 / median / max",
            format!(
                "{:.1} / {:.1} / {:.1} ms ({} frames, {:.0} px, {})",
                sc.p95, sc.median, sc.max, sc.frames, sc.travelled, sc.container
            ),
            Some(sc.longest_task_ms),
        ),
        Err(e) => line("scroll", format!("failed: {e}"), None),
    }
    for (heading, t) in &f.tabs {
        let worker = t.worker_ms.map_or(String::new(), |ms| {
            format!(" (worker job {:.2} s)", ms / 1000.0)
        });
        line(
            &format!("open {heading}"),
            format!("{}{worker}", timed(t)),
            Some(t.longest_task_ms),
        );
    }
    line(
        "reload to usable",
        timed(&f.reload),
        Some(f.reload.longest_task_ms),
    );
    line("heap, largest sample", heap_text(&f.heap_max), None);
    line("heap after reload", heap_text(&f.heap_after_reload), None);
    s
}

/// The README's table: one row per N.
pub fn summary(all: &[Figures]) -> String {
    let mut s = String::from(
        "| N | import | DOM nodes | scroll p95 | Similarity | Zero-shot | Map | Outliers (+Score) | Classifier (+Train) | Embeddings | worker jobs (Map / Outliers / Classifier) | reload | longest task | heap (JS + wasm) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for f in all {
        let find = |heading: &str| f.tabs.iter().find(|(h, _)| *h == heading).map(|(_, t)| t);
        let tab = |title: &str| find(title).map_or("—".into(), seconds);
        let worker = |title: &str| {
            find(title)
                .and_then(|t| t.worker_ms)
                .map_or("—".into(), |ms| format!("{:.2} s", ms / 1000.0))
        };
        let longest = f
            .tabs
            .iter()
            .map(|(_, t)| t.longest_task_ms)
            .chain([f.import.longest_task_ms, f.reload.longest_task_ms])
            .chain(f.scroll.as_ref().ok().map(|s| s.longest_task_ms))
            .fold(0.0, f64::max);
        writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} / {} | {} | {:.0} ms | {} |",
            f.n,
            seconds(&f.import),
            f.dom_nodes,
            f.scroll
                .as_ref()
                .map_or("—".into(), |sc| format!("{:.1} ms", sc.p95)),
            tab("Similarity"),
            tab("Zero-shot"),
            tab("Map"),
            tab("Outliers (+Score)"),
            tab("Classifier (+Train)"),
            tab("Embeddings"),
            worker("Map"),
            worker("Outliers (+Score)"),
            worker("Classifier (+Train)"),
            seconds(&f.reload),
            longest,
            mb(Some(f.heap_max.total())),
        )
        .expect("writing to a String");
    }
    s
}
