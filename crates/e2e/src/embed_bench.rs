//! The benchmark of `medinsight embed` (issue 16): how fast the command line prepares
//! and sends compared with the app in Chromium on the same machine, in one run.
//!
//! 1. **Preparation.** One corpus of realistic files (`embed_corpus.py`: CT, MR and CR
//!    DICOMs, 8- and 16-bit PNG radiographs, RGB tiles and photographs as PNG and JPEG,
//!    made from the shared test images) is prepared by the release `medinsight embed` on
//!    every core (the baseline), on one thread, and by the release app in headless
//!    Chromium from the file input's `change` event until the gallery counts every
//!    image ready or failed. `embed` cannot prepare without sending, so it sends to a
//!    separate release emulator with no latency and no in-flight limit, whose CPU time
//!    is reported beside the figure (it shares the cores); the figure is `embed`'s own
//!    "files/s prepared" (from its start to the last file prepared).
//! 2. **Sending.** Small images (`medinsight generate --images`: 64×64 PNGs, so that
//!    preparation does not limit) are embedded against `medinsight emulate
//!    --max-in-flight K --latency-ms 300`, whose capacity is K × 8 rows / 0.3 s: rows/s
//!    of the whole `embed` process (wall clock), and of the app's run (from pressing
//!    Embed, every image already prepared, to the run over), as a share of it.
//!
//! Every figure is the median of `runs` runs after one warm-up run that is not counted;
//! each browser run is a fresh Chromium (empty storage). No figure is asserted: this is
//! a benchmark (`scripts/bench --embed`), not a test.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};

use fantoccini::wd::TimeoutConfiguration;

use crate::app::open;
use crate::{built, release_medinsight, workspace_root, Browser, Spawned};

/// Rows per request (the app's and `embed`'s default batch).
const ROWS: usize = 8;
/// The emulator's latency in the sending part.
const LATENCY_MS: u64 = 300;

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Files in the preparation corpus.
    pub files: usize,
    pub seed: u64,
    /// Counted runs per figure (after one warm-up).
    pub runs: usize,
    /// The emulator's `--max-in-flight` values of the sending part.
    pub ks: Vec<usize>,
    /// Requests per unit of K in the sending part: K × 8 × rounds images.
    pub rounds: usize,
    /// Also measure the app's sending (loads every small image into the browser first).
    pub app_send: bool,
    /// Longest one run may take.
    pub timeout: Duration,
}

/// One measured configuration: its runs' milliseconds and what the rate counts.
#[derive(Clone, Debug)]
struct Measured {
    what: String,
    /// Milliseconds of each counted run (or why it failed).
    runs: Vec<Result<f64, String>>,
    /// Items per run (files prepared, rows sent).
    items: usize,
    unit: &'static str,
    /// Extra facts (CPU, 429s, window).
    note: String,
}

impl Measured {
    fn median_ms(&self) -> Option<f64> {
        let mut ok: Vec<f64> = self
            .runs
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .copied()
            .collect();
        if ok.len() != self.runs.len() || ok.is_empty() {
            return None;
        }
        ok.sort_by(f64::total_cmp);
        Some(ok[ok.len() / 2])
    }

    fn rate(&self) -> Option<f64> {
        self.median_ms().map(|ms| self.items as f64 * 1000.0 / ms)
    }
}

/// The machine's load average, for the record.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is the first,
    // utime the 12th and stime the 13th.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf reads a constant of the system; no memory is touched.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| ticks / hz as f64)
}

/// CPU seconds used by the children this process has waited for.
fn children_cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

/// The release `medinsight emulate` on a free loopback port; its base URL.
fn emulator(medinsight: &Path, args: &[&str], dist: Option<&Path>) -> Result<(Spawned, String)> {
    let mut cmd = Command::new(medinsight);
    cmd.args(["emulate", "--listen", "127.0.0.1:0"]).args(args);
    if let Some(dist) = dist {
        cmd.arg("--dist").arg(dist);
    }
    let mut proc = Spawned::new("medinsight emulate", cmd.stdout(Stdio::piped()))?;
    let line = proc.stdout_line(Duration::from_secs(20))?;
    let url = line
        .strip_prefix("listening on ")
        .ok_or_else(|| anyhow!("medinsight emulate said {line:?}, expected `listening on URL`"))?
        .trim_end_matches('/')
        .to_string();
    Ok((proc, url))
}

/// The Python that scripts/bootstrap set up (numpy, pydicom, Pillow).
fn python() -> PathBuf {
    std::env::var_os("MEDINSIGHT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/venv/bin/python"))
}

/// The preparation corpus (made once per size and seed, then reused); its files, sorted.
fn corpus(o: &Options) -> Result<Vec<PathBuf>> {
    let dir = workspace_root().join(format!(
        "target/e2e/generated/embed-corpus-n{}-seed{}",
        o.files, o.seed
    ));
    let complete = dir.join(".complete");
    if !complete.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let testdata = crate::testdata("");
        let mut child = Command::new(python())
            .arg("-")
            .arg(&dir)
            .args([o.files.to_string(), o.seed.to_string()])
            .arg(&testdata)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting Python for the corpus (run scripts/bootstrap)")?;
        std::io::Write::write_all(
            child.stdin.as_mut().context("Python's stdin")?,
            include_str!("embed_corpus.py").as_bytes(),
        )?;
        drop(child.stdin.take());
        let output = child.wait_with_output()?;
        ensure!(output.status.success(), "making the corpus failed");
        std::fs::write(&complete, &output.stdout)?;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    ensure!(
        files.len() == o.files,
        "{} holds {} files",
        dir.display(),
        files.len()
    );
    Ok(files)
}

/// `medinsight generate --images`: `n` 64×64 PNGs; their folder and paths.
fn small_images(medinsight: &Path, n: usize, seed: u64) -> Result<(PathBuf, Vec<PathBuf>)> {
    let dir = workspace_root().join(format!("target/e2e/generated/embed-small-n{n}-seed{seed}"));
    if !dir.join("images").exists() {
        let status = Command::new(medinsight)
            .args([
                "generate",
                "--n",
                &n.to_string(),
                "--seed",
                &seed.to_string(),
                "--images",
                "--out",
            ])
            .arg(&dir)
            .stdout(Stdio::null())
            .status()?;
        ensure!(status.success(), "medinsight generate --images failed");
    }
    let images = dir.join("images");
    let mut files = Vec::new();
    let mut stack = vec![images.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    ensure!(
        files.len() == n,
        "{} holds {} images, not {n}",
        images.display(),
        files.len()
    );
    Ok((images, files))
}

/// What one `medinsight embed` run said.
#[derive(Debug)]
struct EmbedRun {
    wall_ms: f64,
    embedded: usize,
    failed: usize,
    prepared_per_s: f64,
    throttled: u64,
    retries: u64,
    /// CPU seconds of the embed process.
    cpu_s: f64,
}

/// Runs the release `medinsight embed` on `input` against `url` into a fresh folder.
fn embed(medinsight: &Path, input: &Path, url: &str, extra: &[&str]) -> Result<EmbedRun> {
    let out = workspace_root().join("target/e2e/embed-bench-out");
    let _ = std::fs::remove_dir_all(&out);
    let cpu_before = children_cpu_seconds();
    let start = Instant::now();
    let output = Command::new(medinsight)
        .arg("embed")
        .arg(input)
        .arg("--out")
        .arg(&out)
        .args(["--upstream", &format!("{url}/score")])
        .args(extra)
        .output()?;
    let wall_ms = start.elapsed().as_secs_f64() * 1000.0;
    let cpu_s = children_cpu_seconds() - cpu_before;
    let text = String::from_utf8_lossy(&output.stdout);
    let number_after = |prefix: &str| -> Option<f64> {
        let at = text.find(prefix)? + prefix.len();
        text[at..]
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()?
            .parse()
            .ok()
    };
    let parsed = (|| {
        Some(EmbedRun {
            wall_ms,
            embedded: number_after("embedded ")? as usize,
            failed: number_after("failed ")? as usize,
            prepared_per_s: number_after("files/s embedded, ")?,
            throttled: number_after("throttled (429/503) ")? as u64,
            retries: number_after("retries ")? as u64,
            cpu_s,
        })
    })();
    parsed.ok_or_else(|| {
        anyhow!(
            "medinsight embed ({}) said: {text}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Warm-up plus `o.runs` runs of `one`, each returning (ms, note).
async fn repeat<F>(o: &Options, what: &str, mut one: F) -> (Vec<Result<f64, String>>, String)
where
    F: AsyncFnMut() -> Result<(f64, String)>,
{
    let mut runs = Vec::new();
    let mut notes = Vec::new();
    for i in 0..=o.runs {
        let r = one().await;
        let label = if i == 0 {
            "warm-up".to_string()
        } else {
            format!("run {i}")
        };
        match &r {
            Ok((ms, note)) => eprintln!("  {what}, {label}: {ms:.0} ms {note}"),
            Err(e) => eprintln!("  {what}, {label}: failed: {e:#}"),
        }
        if i > 0 {
            match r {
                Ok((ms, note)) => {
                    runs.push(Ok(ms));
                    notes.push(note);
                }
                // One line, for the table.
                Err(e) => runs.push(Err(format!("{e:#}").replace('\n', " "))),
            }
        }
    }
    // The median run's note (its CPU, its 429s), or the first.
    let mut order: Vec<(f64, String)> = runs
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .zip(notes)
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    let note = order
        .get(order.len() / 2)
        .map(|x| x.1.clone())
        .unwrap_or_default();
    (runs, note)
}

/// Part 1, natively: `embed` on the corpus against a fast emulator.
async fn native_prepare(
    o: &Options,
    medinsight: &Path,
    corpus_dir: &Path,
    threads: Option<usize>,
) -> Result<Measured> {
    let (emu, url) = emulator(medinsight, &[], None)?;
    let threads_arg = threads.map(|t| t.to_string());
    let extra: Vec<&str> = threads_arg
        .as_deref()
        .map(|t| vec!["--threads", t])
        .unwrap_or_default();
    let what = match threads {
        None => format!("native embed, all {} cores", cores()),
        Some(t) => format!("native embed, --threads {t}"),
    };
    let n = o.files;
    let (runs, note) = repeat(o, &what, async || {
        let emu_before = cpu_seconds(emu.id()).unwrap_or(0.0);
        let r = embed(medinsight, corpus_dir, &url, &extra)?;
        let emu_cpu = cpu_seconds(emu.id()).unwrap_or(0.0) - emu_before;
        ensure!(
            r.embedded == n && r.failed == 0,
            "{} of {n} embedded, {} failed",
            r.embedded,
            r.failed
        );
        Ok((
            n as f64 * 1000.0 / r.prepared_per_s,
            format!(
                "(embed CPU {:.1} s, emulator CPU {:.1} s, whole run {:.1} s)",
                r.cpu_s,
                emu_cpu,
                r.wall_ms / 1000.0
            ),
        ))
    })
    .await;
    Ok(Measured {
        what,
        runs,
        items: n,
        unit: "files/s",
        note,
    })
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Waits, inside the page, until the gallery counts `n` images none of which is queued
/// or preparing; returns the page's clock then, and the counts' text.
fn until_prepared_js(n: usize, timeout: Duration) -> String {
    format!(
        "const done = arguments[arguments.length - 1];
         const deadline = performance.now() + {ms};
         const tick = () => {{
           const el = document.querySelector('.gallery-counts');
           const text = el ? el.textContent : '';
           const m = text.match(/^(\\d+) images: (.*)$/);
           if (m && Number(m[1]) === {n}) {{
             const parts = m[2].split(' · ').map(p => p.split(' '));
             if (parts.every(([, w]) => w === 'ready' || w === 'failed' || w === 'embedded')) {{
               const failed = parts.filter(([, w]) => w === 'failed').reduce((s, [c]) => s + Number(c), 0);
               return done({{ at: performance.now(), failed, text }});
             }}
           }}
           if (performance.now() > deadline) return done({{ error: 'timed out; the gallery says: ' + text }});
           setTimeout(tick, 15);
         }};
         tick();",
        ms = timeout.as_millis()
    )
}

/// Opens the app, with WebDriver's script timeout (30 s by default) raised above the
/// runs' own, so that a long wait inside the page ends by our deadline, not by its.
async fn open_for(b: &Browser, url: &str, timeout: Duration) -> Result<()> {
    let limit = timeout + Duration::from_secs(30);
    b.client
        .update_timeouts(TimeoutConfiguration::new(Some(limit), Some(limit), None))
        .await?;
    open(b, url).await
}

/// Opens the app in a fresh Chromium and chooses `files`; returns the time from the
/// input's `change` to every card prepared, the page's worker count and the failures.
async fn app_prepare(url: &str, files: &[PathBuf], timeout: Duration) -> Result<(f64, f64, i64)> {
    let b = Browser::start().await?;
    let outcome = async {
        open_for(&b, url, timeout).await?;
        // On the window, capturing: before the app's own handler sees the change.
        b.js::<Option<bool>>(
            "window.__eb = {}; window.addEventListener('change', () => { if (__eb.t0 === undefined) __eb.t0 = performance.now(); }, true); return null;",
        )
        .await?;
        b.choose_files(files).await?;
        let v = b
            .client
            .execute_async(&until_prepared_js(files.len(), timeout), vec![])
            .await?;
        if let Some(e) = v["error"].as_str() {
            bail!("{e}");
        }
        let t0: f64 = b.js("return window.__eb.t0 === undefined ? null : window.__eb.t0").await?;
        let at = v["at"].as_f64().context("the page's clock")?;
        let cores: f64 = b.js("return navigator.hardwareConcurrency").await?;
        Ok((at - t0, cores, v["failed"].as_i64().unwrap_or(-1)))
    }
    .await;
    b.close().await;
    outcome
}

/// Part 1 in the browser.
async fn browser_prepare(o: &Options, medinsight: &Path, files: &[PathBuf]) -> Result<Measured> {
    let (_emu, url) = emulator(medinsight, &[], Some(&built().dist))?;
    let what = "app in headless Chromium".to_string();
    let (runs, note) = repeat(o, &what, async || {
        let (ms, cores, failed) = app_prepare(&url, files, o.timeout).await?;
        ensure!(failed == 0, "{failed} files failed in the app");
        let workers = (cores as usize).saturating_sub(1).clamp(1, 4);
        Ok((
            ms,
            format!("(hardwareConcurrency {cores}: {workers} preparing worker(s))"),
        ))
    })
    .await;
    Ok(Measured {
        what,
        runs,
        items: files.len(),
        unit: "files/s",
        note,
    })
}

/// Part 2 in the browser: prepare every small image (untimed), press Embed, time the run.
async fn app_send(url: &str, files: &[PathBuf], timeout: Duration) -> Result<(f64, String)> {
    let b = Browser::start().await?;
    let outcome = async {
        open_for(&b, url, timeout).await?;
        b.js::<Option<bool>>("window.__eb = {}; window.addEventListener('change', () => { __eb.t0 = performance.now(); }, true); return null;")
            .await?;
        b.choose_files(files).await?;
        let v = b
            .client
            .execute_async(&until_prepared_js(files.len(), timeout), vec![])
            .await?;
        if let Some(e) = v["error"].as_str() {
            bail!("preparing: {e}");
        }
        let script = format!(
            "const done = arguments[arguments.length - 1];
             const deadline = performance.now() + {ms};
             const button = document.querySelector('button.run');
             const t0 = performance.now();
             button.click();
             const tick = () => {{
               const f = document.querySelector('.run-figures');
               if (f && f.dataset.running === 'false' && Number(f.dataset.embedded) === {n})
                 return done({{ millis: performance.now() - t0, text: f.textContent }});
               if (performance.now() > deadline) return done({{ error: 'timed out: ' + (f ? f.textContent : '') }});
               setTimeout(tick, 15);
             }};
             setTimeout(tick, 15);",
            ms = timeout.as_millis(),
            n = files.len()
        );
        let v = b.client.execute_async(&script, vec![]).await?;
        if let Some(e) = v["error"].as_str() {
            bail!("sending: {e}");
        }
        let ms = v["millis"].as_f64().context("the run's time")?;
        let text = v["text"].as_str().unwrap_or_default();
        // "… · N requests · R retries (T throttled) · …": the part worth keeping.
        let brief = text
            .split(" · ")
            .filter(|p| p.contains("requests") || p.contains("retries"))
            .collect::<Vec<_>>()
            .join(", ");
        Ok((ms, format!("({brief})")))
    }
    .await;
    b.close().await;
    outcome
}

/// Part 2 at one K: capacity, native `embed`, and the app if asked.
async fn sending(o: &Options, medinsight: &Path, k: usize) -> Result<Vec<Measured>> {
    let n = k * ROWS * o.rounds;
    let (images, files) = small_images(medinsight, n, o.seed)?;
    let dist = built().dist.clone();
    let k_arg = k.to_string();
    let latency = LATENCY_MS.to_string();
    let (_emu, url) = emulator(
        medinsight,
        &["--max-in-flight", &k_arg, "--latency-ms", &latency],
        Some(&dist),
    )?;
    let mut out = Vec::new();
    let what = format!("K = {k}: native embed ({n} 64×64 PNGs)");
    let (runs, note) = repeat(o, &what, async || {
        let r = embed(medinsight, &images, &url, &[])?;
        ensure!(
            r.embedded == n && r.failed == 0,
            "{} of {n} embedded, {} failed",
            r.embedded,
            r.failed
        );
        Ok((
            r.wall_ms,
            format!(
                "({} throttled, {} retries; embed CPU {:.1} s)",
                r.throttled, r.retries, r.cpu_s
            ),
        ))
    })
    .await;
    out.push(Measured {
        what,
        runs,
        items: n,
        unit: "rows/s",
        note,
    });
    if o.app_send {
        let what = format!("K = {k}: app in headless Chromium ({n} 64×64 PNGs)");
        let (runs, note) = repeat(o, &what, async || app_send(&url, &files, o.timeout).await).await;
        out.push(Measured {
            what,
            runs,
            items: n,
            unit: "rows/s",
            note,
        });
    }
    Ok(out)
}

/// Runs both parts and writes the table to `out` (progress goes to stderr).
pub async fn run(o: &Options, mut out: impl std::io::Write) -> Result<()> {
    let load_before = loadavg();
    eprintln!("building the release medinsight and the release app…");
    let medinsight = release_medinsight()?;
    let _ = built();
    eprintln!("the corpus of {} files…", o.files);
    let files = corpus(o)?;
    let corpus_dir = files[0]
        .parent()
        .context("the corpus folder")?
        .to_path_buf();
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();

    eprintln!("1. preparation");
    let native = native_prepare(o, &medinsight, &corpus_dir, None).await?;
    let one = native_prepare(o, &medinsight, &corpus_dir, Some(1)).await?;
    let app = browser_prepare(o, &medinsight, &files).await?;

    eprintln!("2. sending");
    let mut sends = Vec::new();
    for &k in &o.ks {
        sends.push((k, sending(o, &medinsight, k).await?));
    }
    let load_after = loadavg();

    let mut s = String::new();
    writeln!(
        s,
        "\n`medinsight embed` benchmark: {} files ({:.0} MB) prepared; medians of {} runs after a warm-up; {} cores; load average {load_before} before, {load_after} after.\n",
        o.files,
        bytes as f64 / 1e6,
        o.runs,
        cores()
    )?;
    writeln!(
        s,
        "| measurement | runs (ms) | median | rate | ratio | notes (median run) |"
    )?;
    writeln!(s, "|---|---|---|---|---|---|")?;
    let row = |s: &mut String, m: &Measured, ratio: String| -> std::fmt::Result {
        let runs = m
            .runs
            .iter()
            .map(|r| r.as_ref().map_or("failed".into(), |ms| format!("{ms:.0}")))
            .collect::<Vec<_>>()
            .join(" / ");
        let median = m.median_ms().map_or("—".into(), |ms| format!("{ms:.0} ms"));
        let rate = m
            .rate()
            .map_or("—".into(), |r| format!("{r:.1} {}", m.unit));
        let failures: Vec<&String> = m.runs.iter().filter_map(|r| r.as_ref().err()).collect();
        let note = if failures.is_empty() {
            m.note.clone()
        } else {
            format!(
                "{} {}",
                m.note,
                failures
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        writeln!(
            s,
            "| {} | {runs} | {median} | {rate} | {ratio} | {note} |",
            m.what
        )
    };
    let ratio = |a: Option<f64>, b: Option<f64>, label: &str| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2} {label}", a / b),
        _ => "—".into(),
    };
    row(&mut s, &native, "1.00 (baseline)".into())?;
    row(&mut s, &one, ratio(one.rate(), native.rate(), "× baseline"))?;
    row(
        &mut s,
        &app,
        ratio(native.rate(), app.rate(), "native ÷ browser"),
    )?;
    for (k, measured) in &sends {
        let capacity = *k as f64 * ROWS as f64 / (LATENCY_MS as f64 / 1000.0);
        writeln!(
            s,
            "| K = {k}: emulator's capacity, {k} × {ROWS} rows / {:.1} s | — | — | {capacity:.1} rows/s | 1.00 (baseline) | `--max-in-flight {k} --latency-ms {LATENCY_MS}` |",
            LATENCY_MS as f64 / 1000.0
        )?;
        for m in measured {
            row(&mut s, m, ratio(m.rate(), Some(capacity), "of capacity"))?;
        }
    }
    writeln!(
        s,
        "\nPreparation: `embed`'s own files/s prepared (its start to the last file prepared; it also sends, to an emulator with no latency or limit on this machine, whose CPU is noted); the app from the file input's change to every card ready. Sending: the whole `embed` process (wall clock, preparation of the small images overlapped); the app from pressing Embed, every image already prepared, to the run over."
    )?;
    write!(out, "{s}")?;
    out.flush()?;
    Ok(())
}
