//! `medinsight check`: asks a scoring endpoint a few small questions and says whether
//! the app's assumptions about it hold.
//!
//! The app was built against what MedImageInsight deployments were seen to do: answer
//! text-only, image-only and image+text requests, return 1024 unit-length floats per
//! input, refuse batches mixing image rows and text rows (so the app sends one kind per
//! request), send `scaling_factor` when asked, and answer in one of two layouts. A
//! deployment with another scoring script can differ, and from a browser the difference
//! only shows as a failed run. This command sends eight probes, one at a time and each
//! small (64×64 synthetic gray PNGs and short synthetic texts: never patient data),
//! prints what came back for each, and ends with a verdict per assumption, so a user
//! can tell in a minute whether an endpoint fits and paste the report into an issue.
//! The key is read as `medinsight proxy` reads it and never appears in the report.
//!
//! Everything but the network is pure and tested without one: [`probes`] builds the
//! requests, [`analyze`] turns one answer into a [`ProbeReport`], [`verdict`] turns the
//! reports into a [`Verdict`], and the `render_*` functions write the text; only
//! [`send`] does I/O.

use std::io::Write;
use std::time::{Duration, Instant};

use medinsight_core::endpoint::wire::{
    parse_response, ParseOptions, ResponseError, Row, ScoreRequest, ScoreResponse,
};
use medinsight_core::pipeline::encode::{self, EncodeError, PngCompression};
use medinsight_core::text::clip::ClipText;
use medinsight_core::{error_chain, EMBEDDING_DIM};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::Url;
use serde_json::Value;

use crate::cli::CheckArgs;
use crate::proxy::{parse_upstream, redacted, without_user_info, ApiKey, ProxyError, KEY_VARIABLE};

/// The documented example's text (its label swapped for another finding).
pub const TEXT: &str = "x-ray chest anteroposterior Pneumonia";
/// How far from 1 an L2 norm may be and still count as unit length: the service sends
/// float32 vectors rounded to a few digits, so exact 1 is not to be expected.
pub const NORM_TOLERANCE: f64 = 1e-3;
/// The model's error headers on a 424: the scoring script's own status and reason.
pub const MODEL_ERROR_STATUS: &str = "ms-azureml-model-error-statuscode";
pub const MODEL_ERROR_REASON: &str = "ms-azureml-model-error-reason";
/// Error messages are cut to this many characters: enough to read the cause, short
/// enough that a report stays pasteable even when an endpoint answers with a page.
const MESSAGE_CHARS: usize = 200;
/// Side of the synthetic images: small enough that every probe is a few kilobytes.
const IMAGE_SIDE: u32 = 64;
/// The long-text probes' lengths in CLIP word-piece tokens: one under the model's cut
/// of 75 (+ start and end markers = 77), one over it.
pub const SHORTER_THAN_CUT: usize = 65;
pub const LONGER_THAN_CUT: usize = 90;

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("--upstream is not a usable URL ({0}); give the endpoint's scoring URL, e.g. https://NAME.REGION.inference.ml.azure.com/score")]
    BadUrl(String),
    #[error("--upstream {0} uses plain http to a host other than this machine: the key would cross the network unencrypted; use https")]
    PlainHttp(String),
    #[error("cannot reach {url}: {reason}; is the URL right and the endpoint running?")]
    Unreachable { url: String, reason: String },
    #[error("cannot build the HTTPS client: {0}")]
    Client(String),
    #[error("cannot build the {probe} probe: {reason}")]
    Probe { probe: &'static str, reason: String },
    #[error("cannot write the report: {0}")]
    Output(#[from] std::io::Error),
}

impl CheckError {
    /// The check could not run: like a usage error, distinct from "assumptions fail" (1).
    pub const EXIT_CODE: i32 = 2;
}

// ---------------------------------------------------------------------------------
// Probes

/// The eight questions, in the order they are asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    TextOnly,
    ImageText,
    ImageBatch,
    TextBatch,
    Mixed,
    EmptyParams,
    Text65,
    Text90,
}

impl ProbeKind {
    pub const ALL: [ProbeKind; 8] = [
        ProbeKind::TextOnly,
        ProbeKind::ImageText,
        ProbeKind::ImageBatch,
        ProbeKind::TextBatch,
        ProbeKind::Mixed,
        ProbeKind::EmptyParams,
        ProbeKind::Text65,
        ProbeKind::Text90,
    ];

    /// 1-based, as printed.
    pub fn number(self) -> usize {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0) + 1
    }

    pub fn title(self) -> &'static str {
        match self {
            ProbeKind::TextOnly => "text only, 1 row (the documented text request)",
            ProbeKind::ImageText => "image + text, 1 row (the documented image request)",
            ProbeKind::ImageBatch => "image-only batch, 2 rows",
            ProbeKind::TextBatch => "text-only batch, 2 rows",
            ProbeKind::Mixed => "mixed batch: row 0 image only, row 1 text only",
            ProbeKind::EmptyParams => "text only with \"params\": {}",
            ProbeKind::Text65 => "text of 65 CLIP tokens (under the cut at 77 with markers)",
            ProbeKind::Text90 => "text of 90 CLIP tokens (over the cut at 77 with markers)",
        }
    }

    fn short(self) -> &'static str {
        match self {
            ProbeKind::TextOnly => "text-only",
            ProbeKind::ImageText => "image+text",
            ProbeKind::ImageBatch => "image-only batch",
            ProbeKind::TextBatch => "text-only batch",
            ProbeKind::Mixed => "mixed",
            ProbeKind::EmptyParams => "params {}",
            ProbeKind::Text65 => "65-token",
            ProbeKind::Text90 => "90-token",
        }
    }

    /// Azure's scoring wrapper refuses a batch mixing image rows and text rows; every
    /// other probe should be answered.
    pub fn expects_refusal(self) -> bool {
        self == ProbeKind::Mixed
    }
}

/// One probe: what to send.
#[derive(Clone, Debug)]
pub struct Probe {
    pub kind: ProbeKind,
    /// The rows, and `params.get_scaling_factor` (`Some(true)` but for `params: {}`).
    pub request: ScoreRequest,
    /// Send `"params": {}` (whatever `request` says about the scaling factor): the
    /// service's own examples differ on whether `params` is needed at all.
    pub empty_params: bool,
}

impl Probe {
    /// The JSON body. Built by the core's request builder, so the probes are exactly
    /// what the app sends; only the `params: {}` probe is then edited by hand, because
    /// the builder (rightly, for the app) never writes an empty `params`.
    pub fn body(&self) -> String {
        let mut json = self.request.to_json();
        if self.empty_params {
            if let Some(body) = json.as_object_mut() {
                body.insert("params".into(), Value::Object(serde_json::Map::new()));
            }
        }
        json.to_string()
    }
}

/// The probes, in order. Building them is pure: the images and texts are synthetic and
/// the same on every run, so two reports can be compared line by line.
pub fn probes(clip: &ClipText) -> Result<Vec<Probe>, CheckError> {
    let png = |kind: ProbeKind, f: fn(u32, u32) -> u8| {
        gray_png(f).map_err(|e| CheckError::Probe {
            probe: kind.short(),
            reason: e.to_string(),
        })
    };
    // Three different images, so that a batch of two cannot be answered by a cache.
    let horizontal = png(ProbeKind::ImageText, |x, _| (x * 4) as u8)?;
    let vertical = png(ProbeKind::ImageBatch, |_, y| (y * 4) as u8)?;
    let checker = png(ProbeKind::ImageBatch, |x, y| {
        if (x / 8 + y / 8) % 2 == 0 {
            40
        } else {
            215
        }
    })?;
    let long = |kind: ProbeKind, tokens: usize| {
        text_of_tokens(clip, tokens).ok_or_else(|| CheckError::Probe {
            probe: kind.short(),
            reason: format!("no text of exactly {tokens} tokens could be built"),
        })
    };
    let text65 = long(ProbeKind::Text65, SHORTER_THAN_CUT)?;
    let text90 = long(ProbeKind::Text90, LONGER_THAN_CUT)?;
    let asking = |kind, rows| Probe {
        kind,
        request: ScoreRequest {
            rows,
            get_scaling_factor: Some(true),
        },
        empty_params: false,
    };
    Ok(vec![
        asking(ProbeKind::TextOnly, vec![Row::text(TEXT)]),
        asking(
            ProbeKind::ImageText,
            vec![Row {
                image: Some(horizontal.clone()),
                text: Some(TEXT.to_string()),
            }],
        ),
        asking(
            ProbeKind::ImageBatch,
            vec![Row::image(vertical), Row::image(checker)],
        ),
        asking(
            ProbeKind::TextBatch,
            vec![
                Row::text(TEXT),
                Row::text("x-ray chest anteroposterior No Finding"),
            ],
        ),
        asking(
            ProbeKind::Mixed,
            vec![Row::image(horizontal), Row::text(TEXT)],
        ),
        Probe {
            kind: ProbeKind::EmptyParams,
            // No `params` from the builder; `body` writes `{}`.
            request: ScoreRequest {
                rows: vec![Row::text(TEXT)],
                get_scaling_factor: None,
            },
            empty_params: true,
        },
        asking(ProbeKind::Text65, vec![Row::text(text65)]),
        asking(ProbeKind::Text90, vec![Row::text(text90)]),
    ])
}

/// A 64×64 8-bit gray PNG of `f(x, y)`, base64: the kind of image the app sends, only
/// smaller (the service resizes whatever it gets).
fn gray_png(f: fn(u32, u32) -> u8) -> Result<String, EncodeError> {
    let pixels: Vec<u8> = (0..IMAGE_SIDE)
        .flat_map(|y| (0..IMAGE_SIDE).map(move |x| f(x, y)))
        .collect();
    let png = encode::png(
        &pixels,
        IMAGE_SIDE,
        IMAGE_SIDE,
        1,
        PngCompression::default(),
    )?;
    Ok(encode::base64(&png))
}

/// [`TEXT`] padded with " chest" to exactly `tokens` CLIP word-piece tokens (start and
/// end markers not counted), or `None` if the tokenizer does not land on it. "chest" is
/// one token and CLIP splits on spaces, so each word adds exactly one; the count is
/// checked anyway rather than trusted.
pub fn text_of_tokens(clip: &ClipText, tokens: usize) -> Option<String> {
    let mut text = TEXT.to_string();
    while clip.count(&text).tokens < tokens {
        text.push_str(" chest");
    }
    (clip.count(&text).tokens == tokens).then_some(text)
}

// ---------------------------------------------------------------------------------
// One answer -> one report

/// What came back for one probe, as read off the wire.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The answer with every occurrence of `key` replaced, in the body and the header
    /// values, before anything is cut short for the report (a cut through an echoed key
    /// would otherwise leave its start behind).
    pub fn without(mut self, key: Option<&str>) -> Self {
        let Some(key) = key.filter(|k| !k.is_empty()) else {
            return self;
        };
        self.body = self.body.replace(key, "<redacted>");
        for value in self.headers.values_mut() {
            let text = String::from_utf8_lossy(value.as_bytes());
            if text.contains(key) {
                if let Ok(clean) = HeaderValue::from_str(&text.replace(key, "<redacted>")) {
                    *value = clean;
                }
            }
        }
        self
    }
}

/// The response's layout, read from the raw JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A JSON array with one object per row (the deployed service).
    Rows { image_nested: Option<bool> },
    /// One object of lists (the documentation).
    Columns { image_nested: Option<bool> },
    /// Neither; says what it was.
    Unknown(String),
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nesting = |n: &Option<bool>| match n {
            Some(true) => ", image_features nested [[…]]",
            Some(false) => ", image_features flat […]",
            None => "",
        };
        match self {
            Layout::Rows { image_nested } => {
                write!(f, "rows (one object per row{})", nesting(image_nested))
            }
            Layout::Columns { image_nested } => {
                write!(f, "columns (one object of lists{})", nesting(image_nested))
            }
            Layout::Unknown(what) => write!(f, "unknown ({what})"),
        }
    }
}

/// Widths and L2 norms of one kind of vector in one answer.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorStats {
    pub count: usize,
    pub width_min: usize,
    pub width_max: usize,
    pub norm_min: f64,
    pub norm_max: f64,
}

impl VectorStats {
    fn of(vectors: &[Option<Vec<f32>>]) -> Option<Self> {
        let present: Vec<&Vec<f32>> = vectors.iter().flatten().collect();
        if present.is_empty() {
            return None;
        }
        let norms: Vec<f64> = present
            .iter()
            .map(|v| v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt())
            .collect();
        Some(Self {
            count: present.len(),
            width_min: present.iter().map(|v| v.len()).min().unwrap_or(0),
            width_max: present.iter().map(|v| v.len()).max().unwrap_or(0),
            norm_min: norms.iter().copied().fold(f64::INFINITY, f64::min),
            norm_max: norms.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }

    fn unit_width(&self) -> bool {
        self.width_min == EMBEDDING_DIM && self.width_max == EMBEDDING_DIM
    }

    fn unit_norm(&self) -> bool {
        (self.norm_min - 1.0).abs() <= NORM_TOLERANCE
            && (self.norm_max - 1.0).abs() <= NORM_TOLERANCE
    }
}

impl std::fmt::Display for VectorStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let width = if self.width_min == self.width_max {
            self.width_min.to_string()
        } else {
            format!("{}–{}", self.width_min, self.width_max)
        };
        write!(
            f,
            "{} × width {width}, L2 norm {:.6}–{:.6}",
            self.count, self.norm_min, self.norm_max
        )
    }
}

/// Everything learnt from one probe.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeReport {
    pub kind: ProbeKind,
    pub asked_scaling_factor: bool,
    pub latency_ms: u64,
    /// `None` when nothing came back (timeout, connection dropped); `no_answer` says why.
    pub status: Option<u16>,
    pub no_answer: Option<String>,
    /// Only for 2xx answers: an error body's layout says nothing about the format.
    pub layout: Option<Layout>,
    pub images: Option<VectorStats>,
    pub texts: Option<VectorStats>,
    pub scaling_factor: Option<f64>,
    /// A 2xx answer that `parse_response` (the app's own parser) rejected.
    pub parse_error: Option<ResponseError>,
    pub model_error_status: Option<String>,
    pub model_error_reason: Option<String>,
    /// A non-2xx answer's message (the body's `message`/`error`/`detail`, or the body).
    pub message: Option<String>,
}

impl ProbeReport {
    fn answered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Turns one probe's answer (or why there was none) into its report.
pub fn analyze(probe: &Probe, latency: Duration, answer: Result<&Answer, &str>) -> ProbeReport {
    let mut report = ProbeReport {
        kind: probe.kind,
        asked_scaling_factor: probe.request.get_scaling_factor == Some(true),
        latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        status: None,
        no_answer: None,
        layout: None,
        images: None,
        texts: None,
        scaling_factor: None,
        parse_error: None,
        model_error_status: None,
        model_error_reason: None,
        message: None,
    };
    let answer = match answer {
        Ok(a) => a,
        Err(why) => {
            report.no_answer = Some(why.to_string());
            return report;
        }
    };
    report.status = Some(answer.status);
    let header = |name: &str| {
        answer
            .headers
            .get(name)
            .map(|v| truncate(&String::from_utf8_lossy(v.as_bytes())))
    };
    report.model_error_status = header(MODEL_ERROR_STATUS);
    report.model_error_reason = header(MODEL_ERROR_REASON);
    // Vectors are checked for width by the verdict, not by the parser, so that a report
    // can say which width came rather than only that it was wrong.
    let parsed = parse_response(
        &answer.body,
        &probe.request,
        ParseOptions { dimension: None },
    );
    if report.answered() {
        report.layout = Some(detect_layout(&answer.body));
        match parsed {
            Ok(ScoreResponse {
                images,
                texts,
                scaling_factor,
            }) => {
                report.images = VectorStats::of(&images);
                report.texts = VectorStats::of(&texts);
                report.scaling_factor = scaling_factor.map(|s| s.log());
            }
            Err(e) => report.parse_error = Some(e),
        }
    } else {
        report.message = Some(match parsed {
            Err(ResponseError::Service(message)) => truncate(&message),
            _ => truncate(answer.body.trim()),
        });
    }
    report
}

/// The layout of a response body, from the raw JSON.
pub fn detect_layout(body: &str) -> Layout {
    // Python writes NaN and Infinity as bare words. Replacing them here is crude (it
    // would also touch them inside strings) but only serves to see the layout of a body
    // that `parse_response` reports as non-finite anyway.
    let value: Value = match serde_json::from_str(body).or_else(|_| {
        serde_json::from_str(
            &body
                .replace("-Infinity", "null")
                .replace("Infinity", "null")
                .replace("NaN", "null"),
        )
    }) {
        Ok(v) => v,
        Err(e) => return Layout::Unknown(format!("not JSON: {e}")),
    };
    match &value {
        Value::Array(rows) if !rows.is_empty() && rows.iter().all(Value::is_object) => {
            Layout::Rows {
                image_nested: nesting(rows.iter().filter_map(|r| r.get("image_features"))),
            }
        }
        Value::Object(o) if o.contains_key("image_features") || o.contains_key("text_features") => {
            Layout::Columns {
                image_nested: nesting(
                    o.get("image_features")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                ),
            }
        }
        Value::Array(_) => Layout::Unknown("a list, but not of one object per row".into()),
        Value::Object(_) => {
            Layout::Unknown("an object without image_features or text_features".into())
        }
        other => Layout::Unknown(format!("a JSON {}", json_kind(other))),
    }
}

/// Whether any of these image vectors is nested `[[…]]`; `None` if there are none.
fn nesting<'a>(vectors: impl Iterator<Item = &'a Value>) -> Option<bool> {
    fn depth(v: &Value) -> usize {
        match v {
            Value::Array(a) => 1 + a.first().map_or(0, depth),
            _ => 0,
        }
    }
    let depths: Vec<usize> = vectors
        .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        .map(depth)
        .collect();
    (!depths.is_empty()).then(|| depths.iter().any(|&d| d >= 2))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// At most [`MESSAGE_CHARS`] characters, on one line.
fn truncate(text: &str) -> String {
    truncate_to(text, MESSAGE_CHARS)
}

fn truncate_to(text: &str, chars: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(chars) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

// ---------------------------------------------------------------------------------
// Reports -> verdict

/// What the probes say about one assumption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finding {
    Holds,
    DoesNotHold,
    /// The probes that would tell were not answered (key refused, throttled, down…).
    Unknown,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Finding::Holds => "holds",
            Finding::DoesNotHold => "does not hold",
            Finding::Unknown => "unknown",
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Assumption {
    pub letter: char,
    pub statement: &'static str,
    /// The app fails without it; the others are informative.
    pub relied_on: bool,
    pub finding: Finding,
    pub evidence: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub assumptions: Vec<Assumption>,
}

impl Verdict {
    /// Every assumption the app relies on holds ("unknown" is not "holds").
    pub fn passed(&self) -> bool {
        self.assumptions
            .iter()
            .all(|a| !a.relied_on || a.finding == Finding::Holds)
    }

    pub fn exit_code(&self) -> i32 {
        if self.passed() {
            0
        } else {
            1
        }
    }

    pub fn get(&self, letter: char) -> Option<&Assumption> {
        self.assumptions.iter().find(|a| a.letter == letter)
    }
}

/// How a probe fared, for the verdict.
enum Fate<'a> {
    Answered(&'a ProbeReport),
    /// The model or its wrapper said no: evidence about the assumption.
    Refused(String),
    /// The gateway or the network said no (key, deployment, throttling, outage): the
    /// model never judged the request, so nothing is learnt. Which probe, and what
    /// happened (kept apart so that several probes failing alike read as one line).
    Inconclusive(String, String),
}

/// "probe 1 (…), probe 2 (…): 401 (…)": probes that failed alike, said once.
fn grouped(failures: &[(String, String)]) -> String {
    let mut groups: Vec<(Vec<&str>, &str)> = Vec::new();
    for (probe, what) in failures {
        match groups.iter_mut().find(|(_, w)| *w == what.as_str()) {
            Some((probes, _)) => probes.push(probe),
            None => groups.push((vec![probe], what)),
        }
    }
    groups
        .iter()
        .map(|(probes, what)| format!("{}: {what}", probes.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

fn fate(reports: &[ProbeReport], kind: ProbeKind) -> Fate<'_> {
    let Some(r) = reports.iter().find(|r| r.kind == kind) else {
        return Fate::Inconclusive(format!("probe {}", kind.number()), "not sent".into());
    };
    let name = format!("probe {} ({})", kind.number(), kind.short());
    match r.status {
        None => Fate::Inconclusive(
            name,
            format!("no answer ({})", r.no_answer.as_deref().unwrap_or("?")),
        ),
        Some(200..=299) => Fate::Answered(r),
        // What the model (or the scoring wrapper in front of it) says about a request.
        Some(s @ (400 | 413 | 415 | 422 | 424)) => {
            let mut why = format!("{name}: {s}");
            if let Some(m) = &r.model_error_status {
                why.push_str(&format!(", model status {m}"));
            }
            // Shorter than in the probe's own lines: the verdict should stay scannable.
            if let Some(reason) = r.model_error_reason.as_ref().or(r.message.as_ref()) {
                why.push_str(&format!(": {}", truncate_to(reason, 100)));
            }
            Fate::Refused(why)
        }
        Some(s) => Fate::Inconclusive(name, format!("{s} ({})", hint(s))),
    }
}

/// Joins the findings of several probes: holds if all were answered, does not hold if
/// any was refused, unknown otherwise.
fn all_answered(reports: &[ProbeReport], kinds: &[ProbeKind]) -> (Finding, String) {
    let mut refused = Vec::new();
    let mut inconclusive = Vec::new();
    for &kind in kinds {
        match fate(reports, kind) {
            Fate::Answered(_) => {}
            Fate::Refused(why) => refused.push(why),
            Fate::Inconclusive(probe, what) => inconclusive.push((probe, what)),
        }
    }
    let numbers = kinds
        .iter()
        .map(|k| k.number().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if !refused.is_empty() {
        (Finding::DoesNotHold, refused.join("; "))
    } else if !inconclusive.is_empty() {
        (Finding::Unknown, grouped(&inconclusive))
    } else {
        (
            Finding::Holds,
            format!("probes {numbers} answered with 2xx"),
        )
    }
}

/// The verdict on every assumption, from the probes' reports.
pub fn verdict(reports: &[ProbeReport]) -> Verdict {
    let answered: Vec<&ProbeReport> = reports.iter().filter(|r| r.answered()).collect();

    let (a, a_evidence) = all_answered(
        reports,
        &[
            ProbeKind::TextOnly,
            ProbeKind::ImageText,
            ProbeKind::ImageBatch,
            ProbeKind::TextBatch,
        ],
    );

    let (b, b_evidence) = {
        let bad_vectors: Vec<String> = answered
            .iter()
            .filter_map(|r| match &r.parse_error {
                Some(
                    e @ (ResponseError::NonFinite { .. }
                    | ResponseError::WrongDimension { .. }
                    | ResponseError::InconsistentDimension { .. }),
                ) => Some(format!("probe {}: {e}", r.kind.number())),
                _ => None,
            })
            .collect();
        let stats: Vec<(usize, &VectorStats)> = answered
            .iter()
            .flat_map(|r| {
                [&r.images, &r.texts]
                    .into_iter()
                    .flatten()
                    .map(|s| (r.kind.number(), s))
            })
            .collect();
        let off: Vec<String> = stats
            .iter()
            .filter(|(_, s)| !s.unit_width() || !s.unit_norm())
            .map(|(n, s)| format!("probe {n}: {s}"))
            .collect();
        if !bad_vectors.is_empty() || !off.is_empty() {
            (Finding::DoesNotHold, [bad_vectors, off].concat().join("; "))
        } else if stats.is_empty() {
            (Finding::Unknown, "no vectors came back".to_string())
        } else {
            let count: usize = stats.iter().map(|(_, s)| s.count).sum();
            let lo = stats
                .iter()
                .map(|(_, s)| s.norm_min)
                .fold(f64::INFINITY, f64::min);
            let hi = stats
                .iter()
                .map(|(_, s)| s.norm_max)
                .fold(f64::NEG_INFINITY, f64::max);
            (
                Finding::Holds,
                format!(
                    "{count} vectors, all {EMBEDDING_DIM} finite floats, L2 norm {lo:.6}–{hi:.6}"
                ),
            )
        }
    };

    let (c, c_evidence) = match fate(reports, ProbeKind::Mixed) {
        Fate::Refused(why) => (Finding::Holds, format!("refused: {why}")),
        Fate::Answered(_) => (
            Finding::DoesNotHold,
            format!(
                "probe {} was answered: this endpoint takes mixed batches (the app sends one kind per request anyway)",
                ProbeKind::Mixed.number()
            ),
        ),
        Fate::Inconclusive(probe, what) => (Finding::Unknown, format!("{probe}: {what}")),
    };

    let (d, d_evidence) = {
        let asked: Vec<&&ProbeReport> =
            answered.iter().filter(|r| r.asked_scaling_factor).collect();
        let missing: Vec<String> = asked
            .iter()
            .filter(|r| r.scaling_factor.is_none())
            .map(|r| r.kind.number().to_string())
            .collect();
        match (asked.is_empty(), fate(reports, ProbeKind::EmptyParams)) {
            _ if !missing.is_empty() => (
                Finding::DoesNotHold,
                format!("asked for but missing in probe(s) {}", missing.join(", ")),
            ),
            (_, Fate::Answered(r)) if r.scaling_factor.is_none() => (
                Finding::DoesNotHold,
                format!(
                    "missing with \"params\": {{}} (probe {})",
                    ProbeKind::EmptyParams.number()
                ),
            ),
            (true, _) => (
                Finding::Unknown,
                "no answer to a probe that asked for it".to_string(),
            ),
            (false, Fate::Answered(r)) => (
                Finding::Holds,
                format!(
                    "present in all {} answers that asked ({}) and with \"params\": {{}} ({})",
                    asked.len(),
                    asked
                        .first()
                        .and_then(|r| r.scaling_factor)
                        .map_or(String::new(), |s| s.to_string()),
                    r.scaling_factor.map_or(String::new(), |s| s.to_string()),
                ),
            ),
            // Refusing `{}` outright is an answer too: it does not come.
            (false, Fate::Refused(why)) => (
                Finding::DoesNotHold,
                format!("present when asked; \"params\": {{}} refused: {why}"),
            ),
            (false, Fate::Inconclusive(probe, what)) => (
                Finding::Unknown,
                format!("present when asked; \"params\": {{}} not answered: {probe}: {what}"),
            ),
        }
    };

    let (e, e_evidence) = match fate(reports, ProbeKind::Text90) {
        Fate::Answered(_) => (
            Finding::Holds,
            format!(
                "probe {} ({LONGER_THAN_CUT} tokens) was answered{}; where it is cut cannot be seen from outside",
                ProbeKind::Text90.number(),
                match fate(reports, ProbeKind::Text65) {
                    Fate::Answered(_) => format!(", as was probe {} ({SHORTER_THAN_CUT} tokens)", ProbeKind::Text65.number()),
                    _ => String::new(),
                }
            ),
        ),
        Fate::Refused(why) => (Finding::DoesNotHold, why),
        Fate::Inconclusive(probe, what) => (Finding::Unknown, format!("{probe}: {what}")),
    };

    let (f, f_evidence) = {
        let unreadable: Vec<String> = answered
            .iter()
            .filter_map(|r| {
                let shape_error = r.parse_error.as_ref().filter(|e| {
                    !matches!(
                        e,
                        ResponseError::NonFinite { .. }
                            | ResponseError::WrongDimension { .. }
                            | ResponseError::InconsistentDimension { .. }
                    )
                });
                match (&r.layout, shape_error) {
                    (_, Some(e)) => Some(format!("probe {}: {e}", r.kind.number())),
                    (Some(Layout::Unknown(what)), None) => {
                        Some(format!("probe {}: layout {what}", r.kind.number()))
                    }
                    _ => None,
                }
            })
            .collect();
        // Summarised by kind and nesting: text-only answers carry no image_features,
        // so "rows" and "rows, nested" are one layout, not two.
        let (mut rows, mut columns, mut nested, mut flat) = (false, false, false, false);
        for layout in answered.iter().filter_map(|r| r.layout.as_ref()) {
            let image_nested = match layout {
                Layout::Rows { image_nested } => {
                    rows = true;
                    image_nested
                }
                Layout::Columns { image_nested } => {
                    columns = true;
                    image_nested
                }
                Layout::Unknown(_) => &None,
            };
            nested |= *image_nested == Some(true);
            flat |= *image_nested == Some(false);
        }
        let kinds = match (rows, columns) {
            (true, true) => "rows in some answers, columns in others",
            (false, true) => "columns (one object of lists)",
            _ => "rows (one object per row)",
        };
        let nesting = match (nested, flat) {
            (true, true) => ", image_features nested [[…]] in some, flat in others",
            (true, false) => ", image_features nested [[…]]",
            (false, true) => ", image_features flat […]",
            (false, false) => "",
        };
        if !unreadable.is_empty() {
            (Finding::DoesNotHold, unreadable.join("; "))
        } else if answered.is_empty() {
            (Finding::Unknown, "no probe was answered".to_string())
        } else {
            (
                Finding::Holds,
                format!(
                    "{} answers parsed by the app's parser; layout {kinds}{nesting}",
                    answered.len(),
                ),
            )
        }
    };

    let assumption =
        |letter, statement, relied_on, (finding, evidence): (Finding, String)| Assumption {
            letter,
            statement,
            relied_on,
            finding,
            evidence,
        };
    Verdict {
        assumptions: vec![
            assumption(
                'a',
                "text-only, image-only and image+text requests are answered",
                true,
                (a, a_evidence),
            ),
            assumption(
                'b',
                "vectors are 1024 finite floats with L2 norm ≈ 1 (±1e-3)",
                true,
                (b, b_evidence),
            ),
            assumption(
                'c',
                "mixed image/text batches are refused (the app sends one kind per request)",
                false,
                (c, c_evidence),
            ),
            assumption(
                'd',
                "scaling_factor comes when asked and when params is {}",
                true,
                (d, d_evidence),
            ),
            assumption(
                'e',
                "long text (90 tokens) is accepted (cut by the model)",
                false,
                (e, e_evidence),
            ),
            assumption(
                'f',
                "the response layout is one the app parses (rows or columns)",
                true,
                (f, f_evidence),
            ),
        ],
    }
}

// ---------------------------------------------------------------------------------
// Text

/// What a status means for whoever runs the check.
fn hint(status: u16) -> &'static str {
    match status {
        300..=399 => "a redirect, not followed so the key stays with this host: give the final URL",
        401 | 403 => "the key was refused: set MEDINSIGHT_API_KEY to the endpoint's key",
        404 => "no such endpoint or deployment: check --upstream and --deployment",
        408 | 504 => "the endpoint timed out",
        429 => "throttled: wait and run the check again",
        424 => "the scoring script refused or failed on this request",
        400..=499 => "the request was refused",
        _ => "the endpoint failed: run the check again later",
    }
}

/// The report's opening lines.
pub fn render_header(url: &str, deployment: Option<&str>, key_sent: bool) -> String {
    let key = if key_sent {
        format!("from {KEY_VARIABLE} (sent as Authorization: Bearer, never shown)")
    } else {
        format!("none: {KEY_VARIABLE} is not set, so no Authorization is sent (enough for `medinsight emulate` without --key; a real endpoint will answer 401)")
    };
    format!(
        "medinsight check\n  endpoint:   {url}\n  deployment: {}\n  key:        {key}\n  probes:     {}, one at a time; synthetic 64×64 gray PNGs and short texts only, no patient data\n\n",
        deployment.unwrap_or("(not pinned: the endpoint's traffic split decides)"),
        ProbeKind::ALL.len(),
    )
}

/// One probe's lines.
pub fn render_probe(r: &ProbeReport) -> String {
    let mut out = format!(
        "[{}] {}{}\n",
        r.kind.number(),
        r.kind.title(),
        if r.kind.expects_refusal() {
            " — expected: refused"
        } else {
            ""
        }
    );
    let Some(status) = r.status else {
        out.push_str(&format!(
            "    no answer after {} ms: {}\n",
            r.latency_ms,
            r.no_answer.as_deref().unwrap_or("?")
        ));
        return out;
    };
    out.push_str(&format!("    HTTP {status} in {} ms", r.latency_ms));
    if r.answered() {
        if let Some(layout) = &r.layout {
            out.push_str(&format!("; layout {layout}"));
        }
        out.push('\n');
        if let Some(s) = &r.images {
            out.push_str(&format!("    image vectors: {s}\n"));
        }
        if let Some(s) = &r.texts {
            out.push_str(&format!("    text vectors:  {s}\n"));
        }
        out.push_str(&match (r.scaling_factor, r.asked_scaling_factor) {
            (Some(s), _) => format!("    scaling_factor: {s}\n"),
            (None, true) => "    scaling_factor: missing (asked for)\n".to_string(),
            (None, false) => "    scaling_factor: missing\n".to_string(),
        });
        if let Some(e) = &r.parse_error {
            out.push_str(&format!("    the app's parser rejects it: {e}\n"));
        }
    } else {
        out.push_str(&format!(" ({})\n", hint(status)));
        if let Some(s) = &r.model_error_status {
            out.push_str(&format!("    {MODEL_ERROR_STATUS}: {s}\n"));
        }
        if let Some(s) = &r.model_error_reason {
            out.push_str(&format!("    {MODEL_ERROR_REASON}: {s}\n"));
        }
        if let Some(m) = &r.message {
            out.push_str(&format!("    message: {m}\n"));
        }
    }
    out
}

/// The verdict's lines, one per assumption, and the result.
pub fn render_verdict(v: &Verdict) -> String {
    let mut out = String::from("\nVERDICT\n");
    for a in &v.assumptions {
        out.push_str(&format!(
            "({}) {}: {}{}. Evidence: {}\n",
            a.letter,
            a.finding,
            a.statement,
            if a.relied_on { "" } else { " [informative]" },
            a.evidence
        ));
    }
    let relied: Vec<String> = v
        .assumptions
        .iter()
        .filter(|a| a.relied_on)
        .map(|a| a.letter.to_string())
        .collect();
    let failing: Vec<String> = v
        .assumptions
        .iter()
        .filter(|a| a.relied_on && a.finding != Finding::Holds)
        .map(|a| a.letter.to_string())
        .collect();
    if failing.is_empty() {
        out.push_str(&format!(
            "RESULT: every assumption the app relies on ({}) holds\n",
            relied.join(", ")
        ));
    } else {
        out.push_str(&format!(
            "RESULT: the app relies on ({}), and ({}) did not hold or could not be checked\n",
            relied.join(", "),
            failing.join(", ")
        ));
    }
    out
}

// ---------------------------------------------------------------------------------
// Running it

/// Everything a run learnt: the reports in probe order, and the verdict.
#[derive(Clone, Debug)]
pub struct CheckReport {
    pub reports: Vec<ProbeReport>,
    pub verdict: Verdict,
}

/// `--upstream` checked by the proxy's own rule (http(s) only, plain http only to this
/// machine), with its errors retold without the URL's secrets.
pub fn upstream(raw: &str) -> Result<Url, CheckError> {
    parse_upstream(raw).map_err(|e| match e {
        ProxyError::PlainHttp(_) => {
            CheckError::PlainHttp(Url::parse(raw).map(|u| redacted(&u)).unwrap_or_default())
        }
        // The reason (a url::ParseError, or the scheme) never contains the URL itself.
        ProxyError::BadUpstream(_, reason) => CheckError::BadUrl(reason),
        other => CheckError::BadUrl(other.to_string()),
    })
}

/// The key as `medinsight proxy` reads it, or `None` when it is unset or blank: an
/// emulator without `--key` needs none, and a real endpoint's 401 then says what is
/// missing.
fn key_from_env() -> Option<String> {
    ApiKey::from_env().ok().map(|k| k.expose().to_string())
}

/// `medinsight check` from the command line: the report on stdout, an error on stderr,
/// and the exit status (0: relied-on assumptions hold, 1: not, 2: the check could not
/// run).
pub async fn run_cli(args: &CheckArgs) -> i32 {
    let key = key_from_env();
    match run(args, key.as_deref(), &mut std::io::stdout()).await {
        Ok(report) => report.verdict.exit_code(),
        Err(e) => {
            eprintln!("error: {e}");
            CheckError::EXIT_CODE
        }
    }
}

/// Sends the probes one at a time, writing each one's report to `out` as it comes, then
/// the verdict.
pub async fn run(
    args: &CheckArgs,
    key: Option<&str>,
    out: &mut impl Write,
) -> Result<CheckReport, CheckError> {
    let parsed = upstream(&args.upstream)?;
    let shown = redacted(&parsed);
    // User-info would reach the endpoint as a second, Basic `Authorization` header.
    let url = without_user_info(&parsed);
    let timeout = Duration::from_secs(args.timeout_secs);
    // Redirects are not followed, as in the proxy: the key goes to this host only.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .map_err(|e| CheckError::Client(error_chain(&e)))?;
    let probes = probes(&ClipText::new())?;
    // Belt and braces: nothing the endpoint sends back (an echoed header, a debug page)
    // can put the key into the report.
    let scrub = |text: String| match key {
        Some(k) if !k.is_empty() => text.replace(k, "<redacted>"),
        _ => text,
    };
    out.write_all(
        scrub(render_header(
            &shown,
            args.deployment.as_deref(),
            key.is_some(),
        ))
        .as_bytes(),
    )?;
    out.flush()?;
    let mut reports = Vec::with_capacity(probes.len());
    for probe in &probes {
        let started = Instant::now();
        let sent = send(&client, &url, key, args.deployment.as_deref(), probe.body()).await;
        let latency = started.elapsed();
        let report = match sent {
            Ok(answer) => analyze(probe, latency, Ok(&answer.without(key))),
            // Nothing more can be learnt from a host that does not take connections.
            Err(e) if e.is_connect() => {
                return Err(CheckError::Unreachable {
                    url: shown,
                    reason: cause(&e),
                })
            }
            Err(e) if e.is_timeout() => analyze(
                probe,
                latency,
                Err(&format!(
                    "no answer within {} s (raise --timeout-secs?)",
                    args.timeout_secs
                )),
            ),
            Err(e) => analyze(probe, latency, Err(&cause(&e))),
        };
        out.write_all(scrub(render_probe(&report)).as_bytes())?;
        out.flush()?;
        reports.push(report);
    }
    let verdict = verdict(&reports);
    out.write_all(scrub(render_verdict(&verdict)).as_bytes())?;
    out.flush()?;
    Ok(CheckReport { reports, verdict })
}

/// The one network call: POST one probe, read the whole answer.
pub async fn send(
    client: &reqwest::Client,
    url: &Url,
    key: Option<&str>,
    deployment: Option<&str>,
    body: String,
) -> Result<Answer, reqwest::Error> {
    let mut request = client
        .post(url.clone())
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json")
        .body(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(d) = deployment {
        request = request.header("azureml-model-deployment", d);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// The innermost cause of a transport error ("connection refused", "dns error: …"),
/// which is what a user can act on. reqwest's own message names the full URL, query
/// included, so it is never shown.
pub(crate) fn cause(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let Some(mut deepest) = e.source() else {
        // No cause at all: the kind is all that can be said without the URL.
        return if e.is_timeout() {
            "timed out".to_string()
        } else {
            "the request failed".to_string()
        };
    };
    while let Some(source) = deepest.source() {
        deepest = source;
    }
    match deepest.downcast_ref::<std::io::Error>() {
        Some(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_string()
        }
        _ => deepest.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip() -> ClipText {
        ClipText::new()
    }

    fn probe(kind: ProbeKind, all: &[Probe]) -> Probe {
        all.iter().find(|p| p.kind == kind).unwrap().clone()
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: HeaderMap::new(),
            body: body.to_string(),
        }
    }

    fn unit(n: usize) -> Vec<f32> {
        vec![1.0 / (n as f32).sqrt(); n]
    }

    #[test]
    fn probes_are_the_documented_requests_and_small() {
        let all = probes(&clip()).unwrap();
        assert_eq!(
            all.iter().map(|p| p.kind).collect::<Vec<_>>(),
            ProbeKind::ALL
        );
        for p in &all {
            assert!(
                p.body().len() < 20_000,
                "{:?} is {} bytes",
                p.kind,
                p.body().len()
            );
            let back = medinsight_core::endpoint::wire::parse_request(p.body().as_bytes());
            if p.kind == ProbeKind::Mixed {
                // What the service refuses, and so does the core's request parser.
                assert!(back.is_err(), "{back:?}");
            } else {
                assert_eq!(back.unwrap().rows, p.request.rows, "{:?}", p.kind);
            }
        }
        let text = probe(ProbeKind::TextOnly, &all);
        assert_eq!(
            text.body(),
            r#"{"input_data":{"columns":["image","text"],"data":[["","x-ray chest anteroposterior Pneumonia"]],"index":[0]},"params":{"get_scaling_factor":true}}"#
        );
        let empty = probe(ProbeKind::EmptyParams, &all).body();
        assert!(empty.ends_with(r#","params":{}}"#), "{empty}");
        let mixed = probe(ProbeKind::Mixed, &all).request.rows;
        assert!(mixed[0].image.is_some() && mixed[0].text.is_none());
        assert!(mixed[1].image.is_none() && mixed[1].text.is_some());
        let batch = probe(ProbeKind::ImageBatch, &all).request.rows;
        assert_ne!(batch[0].image, batch[1].image);
        assert!(batch.iter().all(|r| r.text.is_none()));
    }

    #[test]
    fn long_texts_have_exactly_the_token_counts() {
        let clip = clip();
        let all = probes(&clip).unwrap();
        for (kind, n) in [(ProbeKind::Text65, 65), (ProbeKind::Text90, 90)] {
            let text = probe(kind, &all).request.rows[0].text.clone().unwrap();
            assert_eq!(clip.count(&text).tokens, n, "{text}");
        }
        assert_eq!(
            text_of_tokens(&clip, 1),
            None,
            "shorter than TEXT cannot be built"
        );
    }

    #[test]
    fn images_are_8_bit_gray_pngs() {
        let all = probes(&clip()).unwrap();
        let b64 = probe(ProbeKind::ImageText, &all).request.rows[0]
            .image
            .clone()
            .unwrap();
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let img = image::load_from_memory(&bytes).unwrap();
        assert_eq!(img.color(), image::ColorType::L8);
        assert_eq!((img.width(), img.height()), (64, 64));
    }

    #[test]
    fn rows_layout_with_nested_images_is_detected_and_measured() {
        let all = probes(&clip()).unwrap();
        let p = probe(ProbeKind::ImageText, &all);
        let body = serde_json::json!([{
            "image_features": [unit(1024)],
            "text_features": unit(1024),
            "scaling_factor": 4.5
        }])
        .to_string();
        let r = analyze(&p, Duration::from_millis(7), Ok(&answer(200, &body)));
        assert_eq!(r.status, Some(200));
        assert_eq!(r.latency_ms, 7);
        assert_eq!(
            r.layout,
            Some(Layout::Rows {
                image_nested: Some(true)
            })
        );
        let images = r.images.clone().unwrap();
        assert_eq!((images.count, images.width_min), (1, 1024));
        assert!((images.norm_max - 1.0).abs() < 1e-5);
        assert_eq!(r.scaling_factor, Some(4.5));
        assert_eq!(r.parse_error, None);
        let text = render_probe(&r);
        assert!(
            text.contains(
                "HTTP 200 in 7 ms; layout rows (one object per row, image_features nested [[…]])"
            ),
            "{text}"
        );
        assert!(
            text.contains("image vectors: 1 × width 1024, L2 norm 1.000000–1.000000"),
            "{text}"
        );
    }

    #[test]
    fn columns_layout_and_wrong_width_or_norm() {
        let all = probes(&clip()).unwrap();
        let p = probe(ProbeKind::ImageBatch, &all);
        let body = serde_json::json!({
            "image_features": [unit(768), vec![0.5f32; 768]],
        })
        .to_string();
        let r = analyze(&p, Duration::ZERO, Ok(&answer(200, &body)));
        assert_eq!(
            r.layout,
            Some(Layout::Columns {
                image_nested: Some(false)
            })
        );
        assert_eq!(r.images.as_ref().unwrap().width_max, 768);
        let v = verdict(&[r]);
        let b = v.get('b').unwrap();
        assert_eq!(b.finding, Finding::DoesNotHold);
        assert!(b.evidence.contains("width 768"), "{}", b.evidence);
        assert!(!v.passed());
    }

    #[test]
    fn non_finite_vectors_fail_b_not_f() {
        let all = probes(&clip()).unwrap();
        let p = probe(ProbeKind::TextOnly, &all);
        let r = analyze(
            &p,
            Duration::ZERO,
            Ok(&answer(200, r#"[{"text_features":[0.1,NaN,0.3]}]"#)),
        );
        assert!(matches!(
            r.parse_error,
            Some(ResponseError::NonFinite { .. })
        ));
        assert_eq!(r.layout, Some(Layout::Rows { image_nested: None }));
        let v = verdict(&[r]);
        assert_eq!(v.get('b').unwrap().finding, Finding::DoesNotHold);
        assert_eq!(v.get('f').unwrap().finding, Finding::Holds);
    }

    #[test]
    fn an_echoed_key_is_gone_before_anything_is_cut_short() {
        let key = "k".repeat(20) + "-secret";
        // The key straddles the 200-character cut of a message.
        let body = format!("{}{key}", "x".repeat(190));
        let mut echoed = answer(500, &body);
        echoed.headers.insert(
            "ms-azureml-model-error-reason",
            HeaderValue::from_str(&format!("bad key {key}")).unwrap(),
        );
        let clean = echoed.without(Some(&key));
        assert!(!clean.body.contains("kkkk") && clean.body.ends_with("<redacted>"));
        let reason = clean.headers["ms-azureml-model-error-reason"]
            .to_str()
            .unwrap();
        assert_eq!(reason, "bad key <redacted>");
        let all = probes(&clip()).unwrap();
        let report = analyze(
            &probe(ProbeKind::TextOnly, &all),
            Duration::ZERO,
            Ok(&clean),
        );
        assert!(!format!("{report:?}").contains("kkkkk"), "{report:?}");
    }

    #[test]
    fn refusal_keeps_model_headers_and_a_short_message() {
        let all = probes(&clip()).unwrap();
        let p = probe(ProbeKind::Mixed, &all);
        let mut a = answer(
            424,
            &serde_json::json!({ "message": format!("mixed {}", "x".repeat(500)) }).to_string(),
        );
        a.headers
            .insert(MODEL_ERROR_STATUS, HeaderValue::from_static("400"));
        a.headers
            .insert(MODEL_ERROR_REASON, HeaderValue::from_static("mixed batch"));
        let r = analyze(&p, Duration::ZERO, Ok(&a));
        assert_eq!(r.layout, None);
        assert_eq!(r.model_error_status.as_deref(), Some("400"));
        let m = r.message.clone().unwrap();
        assert!(
            m.starts_with("mixed x") && m.chars().count() == MESSAGE_CHARS + 1,
            "{m}"
        );
        let c = verdict(std::slice::from_ref(&r)).get('c').unwrap().clone();
        assert_eq!(c.finding, Finding::Holds);
        assert!(
            c.evidence.contains("424, model status 400: mixed batch"),
            "{}",
            c.evidence
        );
        let text = render_probe(&r);
        assert!(
            text.contains("expected: refused")
                && text.contains("ms-azureml-model-error-statuscode: 400"),
            "{text}"
        );
    }

    #[test]
    fn gateway_refusals_leave_assumptions_unknown_and_fail() {
        let all = probes(&clip()).unwrap();
        let reports: Vec<ProbeReport> = all
            .iter()
            .map(|p| {
                analyze(
                    p,
                    Duration::ZERO,
                    Ok(&answer(401, r#"{"message":"missing or wrong key"}"#)),
                )
            })
            .collect();
        let v = verdict(&reports);
        assert!(
            v.assumptions.iter().all(|a| a.finding == Finding::Unknown),
            "{v:?}"
        );
        assert_eq!(v.exit_code(), 1);
        assert!(render_probe(&reports[0]).contains("the key was refused"));
        let text = render_verdict(&v);
        assert!(text.contains("(a) unknown: "), "{text}");
        assert!(
            text.contains("RESULT: the app relies on (a, b, d, f), and (a, b, d, f) did not hold"),
            "{text}"
        );
    }

    #[test]
    fn no_answer_is_reported_not_fatal() {
        let all = probes(&clip()).unwrap();
        let r = analyze(&all[0], Duration::from_secs(3), Err("no answer within 3 s"));
        assert_eq!(r.status, None);
        assert!(render_probe(&r).contains("no answer after 3000 ms: no answer within 3 s"));
    }

    #[test]
    fn missing_scaling_factor_with_empty_params_fails_d() {
        let all = probes(&clip()).unwrap();
        let with =
            serde_json::json!([{"text_features": unit(1024), "scaling_factor": 4.5}]).to_string();
        let without = serde_json::json!([{"text_features": unit(1024)}]).to_string();
        let asked = analyze(
            &probe(ProbeKind::TextOnly, &all),
            Duration::ZERO,
            Ok(&answer(200, &with)),
        );
        let empty = analyze(
            &probe(ProbeKind::EmptyParams, &all),
            Duration::ZERO,
            Ok(&answer(200, &without)),
        );
        let d = verdict(&[asked.clone(), empty]).get('d').unwrap().clone();
        assert_eq!(d.finding, Finding::DoesNotHold);
        assert!(d.evidence.contains("params"), "{}", d.evidence);
        let empty = analyze(
            &probe(ProbeKind::EmptyParams, &all),
            Duration::ZERO,
            Ok(&answer(200, &with)),
        );
        assert_eq!(
            verdict(&[asked, empty]).get('d').unwrap().finding,
            Finding::Holds
        );
    }

    #[test]
    fn unknown_layouts_fail_f() {
        assert!(matches!(detect_layout("<html>"), Layout::Unknown(_)));
        assert!(matches!(
            detect_layout(r#"{"vectors":[]}"#),
            Layout::Unknown(_)
        ));
        assert!(matches!(detect_layout("[1,2]"), Layout::Unknown(_)));
        let all = probes(&clip()).unwrap();
        let r = analyze(
            &all[0],
            Duration::ZERO,
            Ok(&answer(200, r#"{"vectors":[]}"#)),
        );
        assert_eq!(
            verdict(&[r]).get('f').unwrap().finding,
            Finding::DoesNotHold
        );
    }

    #[test]
    fn urls_are_shown_without_secrets_and_plain_http_only_locally() {
        let url =
            Url::parse("https://user:pw@x.westeurope.inference.ml.azure.com/score?sig=abc#frag")
                .unwrap();
        assert_eq!(
            redacted(&url),
            "https://x.westeurope.inference.ml.azure.com/score"
        );
        assert!(upstream("http://127.0.0.1:1/score").is_ok());
        let e = upstream("http://user:pw@x.example.com/score?sig=abc").unwrap_err();
        assert!(matches!(e, CheckError::PlainHttp(_)));
        let text = e.to_string();
        assert!(
            text.contains("http://x.example.com/score")
                && !text.contains("pw")
                && !text.contains("sig"),
            "{text}"
        );
        let e = upstream("https://user:pw@host:99999/score?sig=abc")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not a usable URL") && !e.contains("pw") && !e.contains("sig"),
            "{e}"
        );
    }
}
