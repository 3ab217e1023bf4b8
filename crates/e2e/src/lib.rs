//! The end-to-end harness: builds the release app with Trunk, starts the real
//! `medinsight` binary and chromedriver on loopback, and drives headless Chromium.
//!
//! Every process started here is owned by a [`Spawned`] guard that kills it on drop,
//! so a failing assertion (a panic) still stops it. The release build is what users
//! get, and it is where a broken `wasm-opt` shows up as a blank page, so these tests
//! never run against a debug build.

pub mod app;
pub mod bench;
pub mod embed_bench;
pub mod scale;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::{Client, ClientBuilder};

/// The repository root (the web app's package).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Cargo's target dir for what these tests build. It is separate from the workspace's
/// so that building inside a running `cargo test` never waits on cargo's own lock.
fn e2e_target_dir() -> PathBuf {
    workspace_root().join("target/e2e/cargo")
}

/// Where screenshots land, for people to look at.
pub fn screenshot_dir() -> PathBuf {
    workspace_root().join("target/e2e/screenshots")
}

/// PATH with the project's npm tools (wasm-opt 132) first, so Trunk never finds Debian's.
fn tool_path() -> String {
    let npm_bin = workspace_root().join("node_modules/.bin");
    let cargo_bin = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo"))
        .join("bin");
    format!(
        "{}:{}:{}",
        npm_bin.display(),
        cargo_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn run_checked(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| {
        format!("could not start {what}: is it installed? run scripts/bootstrap")
    })?;
    if !status.success() {
        bail!("{what} failed with {status}");
    }
    Ok(())
}

/// Builds, once per test binary, the release app and the `medinsight` binary.
pub struct Built {
    pub dist: PathBuf,
    pub medinsight: PathBuf,
}

pub fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        build().unwrap_or_else(|e| panic!("building for the end-to-end tests failed: {e:#}"))
    })
}

fn build() -> Result<Built> {
    let root = workspace_root();
    let dist = root.join("target/e2e/dist");
    run_checked(
        Command::new("trunk")
            .args(["build", "--release", "--dist"])
            .arg(&dist)
            .current_dir(&root)
            .env("PATH", tool_path())
            .env("CARGO_TARGET_DIR", e2e_target_dir())
            .env("TRUNK_SKIP_VERSION_CHECK", "true"),
        "trunk build --release",
    )?;
    run_checked(
        Command::new("cargo")
            .args(["build", "--quiet", "-p", "medinsight"])
            .current_dir(&root)
            .env("CARGO_TARGET_DIR", e2e_target_dir()),
        "cargo build -p medinsight",
    )?;
    Ok(Built {
        dist,
        medinsight: e2e_target_dir().join("debug/medinsight"),
    })
}

/// Builds (once) the release `medinsight` for the benchmarks that time it, and returns
/// its path. Release, because a debug build's preparation and serving would be timed
/// instead of what users run; in the e2e target dir, beside the debug one.
pub fn release_medinsight() -> Result<PathBuf> {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    if let Some(path) = BUILT.get() {
        return Ok(path.clone());
    }
    run_checked(
        Command::new("cargo")
            .args(["build", "--release", "--quiet", "-p", "medinsight"])
            .current_dir(workspace_root())
            .env("CARGO_TARGET_DIR", e2e_target_dir()),
        "cargo build --release -p medinsight",
    )?;
    Ok(BUILT
        .get_or_init(|| e2e_target_dir().join("release/medinsight"))
        .clone())
}

/// A child process that is killed when this guard is dropped, panics included.
pub struct Spawned {
    name: &'static str,
    child: Child,
}

impl Spawned {
    pub fn new(name: &'static str, cmd: &mut Command) -> Result<Self> {
        // Its own process group, so that dropping it also stops what it started
        // (chromedriver's Chromium).
        let child = cmd.process_group(0).spawn().with_context(|| {
            format!("could not start {name}: is it installed? run scripts/bootstrap")
        })?;
        Ok(Self { name, child })
    }

    /// The process id (the benchmark reads its CPU time from `/proc`).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn stdout_line(&mut self, timeout: Duration) -> Result<String> {
        let stdout = self
            .child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("{}: stdout not piped", self.name))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let mut reader = BufReader::new(stdout);
            let _ = tx.send(reader.read_line(&mut line).map(|_| line.trim().to_string()));
            // Keep draining so the child never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        rx.recv_timeout(timeout)
            .with_context(|| format!("{} printed nothing within {timeout:?}", self.name))?
            .with_context(|| format!("reading {}'s output", self.name))
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) with a negative pid signals that process group; no memory is touched.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `medinsight emulate` on a free loopback port, serving `dist`; returns its base URL.
pub fn start_emulator(extra_args: &[&str]) -> Result<(Spawned, String)> {
    start_emulator_serving(&built().dist, extra_args)
}

/// `medinsight emulate` serving the app from `dist` (a copy of the build a test
/// changes); returns its base URL.
pub fn start_emulator_serving(dist: &Path, extra_args: &[&str]) -> Result<(Spawned, String)> {
    let built = built();
    let mut proc = Spawned::new(
        "medinsight emulate",
        Command::new(&built.medinsight)
            .args(["emulate", "--listen", "127.0.0.1:0", "--dist"])
            .arg(dist)
            .args(extra_args)
            .stdout(Stdio::piped()),
    )?;
    let line = proc.stdout_line(Duration::from_secs(20))?;
    let url = line
        .strip_prefix("listening on ")
        .ok_or_else(|| anyhow!("medinsight emulate said {line:?}, expected `listening on URL`"))?
        .to_string();
    Ok((proc, url))
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(addr: SocketAddr, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    while TcpStream::connect(addr).is_err() {
        if start.elapsed() > timeout {
            bail!("nothing listens on {addr} after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Path of the chromedriver binary: `$CHROMEDRIVER`, else Debian's.
fn chromedriver_path() -> PathBuf {
    std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromedriver".into())
}

/// A headless Chromium session; the chromedriver behind it stops when dropped.
/// Where one browser's downloads go (fresh per browser).
fn downloads_dir(port: u16) -> PathBuf {
    workspace_root().join(format!(
        "target/e2e/downloads/{}-{port}",
        std::process::id()
    ))
}

pub struct Browser {
    pub client: Client,
    /// The folder the page's downloads land in.
    pub downloads: PathBuf,
    _driver: Spawned,
}

impl Browser {
    pub async fn start() -> Result<Self> {
        Self::start_with(&[]).await
    }

    /// A browser with Chromium flags beyond the usual ones (the scale benchmark adds
    /// `--enable-precise-memory-info`).
    pub async fn start_with(extra_args: &[&str]) -> Result<Self> {
        let port = free_port()?;
        let driver = Spawned::new(
            "chromedriver",
            Command::new(chromedriver_path())
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        wait_for_port(
            SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(20),
        )?;
        let downloads = downloads_dir(port);
        std::fs::create_dir_all(&downloads)?;
        let mut caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                    // Exports save two files at once (vectors and metadata).
                    "profile.default_content_setting_values.automatic_downloads": 1
                },
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,800"
                ]
            }
        });
        if let Some(args) = caps["goog:chromeOptions"]["args"].as_array_mut() {
            args.extend(extra_args.iter().map(|a| serde_json::json!(a)));
        }
        let caps = match caps {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .context("chromedriver would not start Chromium")?;
        Ok(Self {
            client,
            downloads,
            _driver: driver,
        })
    }

    /// Waits for a file the page saved (a download) and returns its bytes.
    pub async fn downloaded(&self, name: &str, timeout: Duration) -> Result<Vec<u8>> {
        let path = self.downloads.join(name);
        let start = Instant::now();
        loop {
            // Chromium writes `name.crdownload` first and renames it when complete.
            if let Ok(bytes) = std::fs::read(&path) {
                return Ok(bytes);
            }
            if start.elapsed() > timeout {
                let present: Vec<String> = std::fs::read_dir(&self.downloads)
                    .map(|d| {
                        d.filter_map(|e| e.ok())
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                bail!("{name} was not downloaded within {timeout:?}; the folder holds {present:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the page under `target/e2e/screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self.client.screenshot().await?;
        std::fs::create_dir_all(screenshot_dir())?;
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Takes the page's network away (`offline`) or gives it back, with Chromium's
    /// network emulation (chromedriver's `chromium/network_conditions`, which DevTools'
    /// "Offline" uses): requests fail as with no network and `navigator.onLine` turns
    /// false, while the server keeps running — what a laptop on a train sees.
    pub async fn set_offline(&self, offline: bool) -> Result<()> {
        self.client
            .issue_cmd(NetworkConditions { offline })
            .await
            .context("chromedriver refused the network conditions")?;
        Ok(())
    }

    /// Ends the WebDriver session; chromedriver itself stops when `self` drops.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// chromedriver's `POST /session/{id}/chromium/network_conditions`.
#[derive(Debug)]
struct NetworkConditions {
    offline: bool,
}

impl fantoccini::wd::WebDriverCompatibleCommand for NetworkConditions {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/chromium/network_conditions",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let conditions = serde_json::json!({ "network_conditions": {
            "offline": self.offline, "latency": 0,
            "download_throughput": -1, "upload_throughput": -1,
        }});
        (http::Method::POST, Some(conditions.to_string()))
    }
}

/// A file of the shared test images (`../shared/testdata`, see its README).
/// Canonical, because chromedriver refuses file paths with `..` in them.
pub fn testdata(relative: &str) -> PathBuf {
    let path = workspace_root().join("../shared/testdata").join(relative);
    path.canonicalize().unwrap_or(path)
}

impl Browser {
    /// Runs `script` (a function body that `return`s a JSON-able value) in the page.
    pub async fn js<T: serde::de::DeserializeOwned>(&self, script: &str) -> Result<T> {
        let value = self.client.execute(script, vec![]).await?;
        serde_json::from_value(value.clone())
            .with_context(|| format!("the page returned {value} for `{script}`"))
    }

    /// Waits until `script` returns true, failing with `what` and the last value of
    /// `report` (a script whose result explains the state) after `timeout`.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        script: &str,
        report: &str,
    ) -> Result<()> {
        let start = Instant::now();
        loop {
            if self.js::<bool>(script).await? {
                return Ok(());
            }
            if start.elapsed() > timeout {
                let state: serde_json::Value = self.js(report).await.unwrap_or_default();
                bail!("{what}: not true after {timeout:?}; page state: {state}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Chooses files with the page's file picker, as a user would.
    pub async fn choose_files(&self, paths: &[PathBuf]) -> Result<()> {
        let input = self
            .client
            .find(fantoccini::Locator::Css("input.file-input"))
            .await?;
        let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        input.send_keys(&list.join("\n")).await?;
        Ok(())
    }

    /// Clicks the element `css`.
    pub async fn click(&self, css: &str) -> Result<()> {
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .with_context(|| format!("no {css} on the page"))?
            .click()
            .await
            .with_context(|| format!("clicking {css}"))?;
        Ok(())
    }

    /// Replaces the value of the input `css` and fires `input` and `change`, as typing
    /// then leaving the field does (typing into a number field after `clear()` appends
    /// to what the app writes back, so the value is set directly).
    pub async fn fill(&self, css: &str, value: &str) -> Result<()> {
        let field = self
            .client
            .find(fantoccini::Locator::Css(css))
            .await
            .with_context(|| format!("no {css} on the page"))?;
        self.client
            .execute(
                "const [el, v] = arguments; el.focus(); el.value = v;
                 el.dispatchEvent(new Event('input', {bubbles: true}));
                 el.dispatchEvent(new Event('change', {bubbles: true}));",
                vec![serde_json::to_value(&field)?, serde_json::json!(value)],
            )
            .await?;
        let now: String = self
            .client
            .execute(
                "return arguments[0].value",
                vec![serde_json::to_value(&field)?],
            )
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string();
        anyhow::ensure!(now == value, "{css} reads {now:?} after setting {value:?}");
        Ok(())
    }

    /// The emulator's request counters, read through the page's own origin.
    pub async fn emulator_stats(&self) -> Result<serde_json::Value> {
        let value = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch('/emulator/stats').then(r => r.json()).then(done, e => done({error: String(e)}));",
                vec![],
            )
            .await?;
        Ok(value)
    }
}
