//! The scoring endpoint's wire format: the request the app sends to `/score` and the
//! responses MedImageInsight is known to answer with.
//!
//! The request is pandas' "split" orientation with two columns, `image` (base64 PNG) and
//! `text`, one row per item; an empty cell is `""`. A request carries images in every
//! row, texts in every row, or both in every row: Azure's CLIP-style scoring wrapper
//! refuses a column filled in some rows and empty in others, and the gateway turns that
//! into a 424 that would fail the same items on every retry ([`ScoreRequest::kind`]). The response comes in two shapes:
//! the documentation's single object of lists ([`ResponseShape::Columns`]) and the
//! deployed service's array with one object per row ([`ResponseShape::Rows`]), where
//! `image_features` is nested `[[…]]` and `text_features` flat. [`parse_response`]
//! accepts both, squeezes the nesting, maps every vector back to the row that asked for
//! it, and checks it (dimension, finite values, count) before anything downstream trusts
//! it. The server side ([`parse_request`], [`ScoreResponse::to_json`]) lives here too, so
//! the emulator and the app cannot drift apart.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::EMBEDDING_DIM;

/// Most rows the service takes in one request (its `index` limit). The app sends far
/// fewer: a few dozen images keep each request within the platform's timeout.
pub const MAX_ROWS: usize = 1024;

/// One row of a scoring request: an image, a text, or both.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    /// Base64 of a PNG (the service also tolerates line breaks in it).
    pub image: Option<String>,
    pub text: Option<String>,
}

impl Row {
    pub fn image(base64_png: impl Into<String>) -> Self {
        Self {
            image: Some(base64_png.into()),
            text: None,
        }
    }
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            image: None,
            text: Some(text.into()),
        }
    }

    /// What this row carries, `None` for a row with neither cell.
    pub fn kind(&self) -> Option<RowKind> {
        match (&self.image, &self.text) {
            (Some(_), Some(_)) => Some(RowKind::Both),
            (Some(_), None) => Some(RowKind::Image),
            (None, Some(_)) => Some(RowKind::Text),
            (None, None) => None,
        }
    }
}

/// What the rows of a request carry. One request carries one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowKind {
    Image,
    Text,
    Both,
}

/// A request whose `column` is filled in some rows and empty in others: what the
/// service refuses (with 424).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the {column} column is filled in {filled} row(s) and empty in {empty} (first empty: row {first_empty}); the service takes images in every row, texts in every row, or both in every row: send images and texts in separate requests")]
pub struct MixedColumn {
    pub column: VectorKind,
    pub filled: usize,
    pub empty: usize,
    pub first_empty: usize,
}

/// A scoring request: rows in order, and whether to ask for the scaling factor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScoreRequest {
    pub rows: Vec<Row>,
    /// `Some(b)` writes `"params":{"get_scaling_factor":b}`; `None` sends no `params`,
    /// which the service reads as `true` (and so does Microsoft's client's `{}`).
    pub get_scaling_factor: Option<bool>,
}

impl ScoreRequest {
    /// Whether the answer will carry `scaling_factor`: asked, or left to the service's
    /// default (true).
    pub fn wants_scaling_factor(&self) -> bool {
        self.get_scaling_factor.unwrap_or(true)
    }

    /// The one kind every row carries, or the column that is filled in some rows only.
    /// An empty request or rows with neither cell are `Ok(None)` (the parser refuses
    /// those with their own messages).
    pub fn kind(&self) -> Result<Option<RowKind>, MixedColumn> {
        for column in [VectorKind::Image, VectorKind::Text] {
            let filled = self.asked(column);
            if filled > 0 && filled < self.rows.len() {
                let first_empty = self
                    .rows
                    .iter()
                    .position(|r| column.cell(r).is_none())
                    .unwrap_or_default();
                return Err(MixedColumn {
                    column,
                    filled,
                    empty: self.rows.len() - filled,
                    first_empty,
                });
            }
        }
        Ok(self.rows.first().and_then(Row::kind))
    }

    /// The request body exactly as the service documents it.
    pub fn to_json(&self) -> Value {
        let cell = |c: &Option<String>| Value::String(c.clone().unwrap_or_default());
        let mut body = serde_json::json!({
            "input_data": {
                "columns": ["image", "text"],
                "index": (0..self.rows.len()).collect::<Vec<_>>(),
                "data": self.rows.iter().map(|r| vec![cell(&r.image), cell(&r.text)]).collect::<Vec<_>>(),
            }
        });
        if let Some(asked) = self.get_scaling_factor {
            body["params"] = serde_json::json!({ "get_scaling_factor": asked });
        }
        body
    }

    pub fn to_body(&self) -> String {
        self.to_json().to_string()
    }

    /// How many vectors of `kind` the response must carry.
    pub fn asked(&self, kind: VectorKind) -> usize {
        self.rows.iter().filter(|r| kind.cell(r).is_some()).count()
    }
}

/// Which of a row's two cells a vector belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorKind {
    Image,
    Text,
}

impl VectorKind {
    fn key(self) -> &'static str {
        match self {
            VectorKind::Image => "image_features",
            VectorKind::Text => "text_features",
        }
    }
    fn cell(self, row: &Row) -> Option<&String> {
        match self {
            VectorKind::Image => row.image.as_ref(),
            VectorKind::Text => row.text.as_ref(),
        }
    }
}

impl fmt::Display for VectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VectorKind::Image => "image",
            VectorKind::Text => "text",
        })
    }
}

/// `scaling_factor` as the service sends it: the log of the softmax temperature.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalingFactor(pub f64);

impl ScalingFactor {
    /// The raw value, a log-temperature (the docs' example: 4.516357…).
    pub fn log(self) -> f64 {
        self.0
    }
    /// `exp(s)`: what cosines are multiplied by before a zero-shot softmax.
    pub fn temperature(self) -> f64 {
        self.0.exp()
    }
}

/// A parsed, validated response: for each request row, its image and text vectors.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScoreResponse {
    /// One entry per request row; `Some` exactly where the row had an image.
    pub images: Vec<Option<Vec<f32>>>,
    /// One entry per request row; `Some` exactly where the row had a text.
    pub texts: Vec<Option<Vec<f32>>>,
    pub scaling_factor: Option<ScalingFactor>,
}

/// The two response layouts the service is known to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResponseShape {
    /// An array with one object per row, `image_features` nested `[[…]]`, `text_features`
    /// flat: what the deployed service answers. The default.
    #[default]
    Rows,
    /// One object of lists, as in the documentation.
    Columns,
}

impl ScoreResponse {
    /// The response body in `shape`, as the service would write it. Floats are written
    /// as the shortest text that reads back to the same `f32`.
    pub fn to_body(&self, shape: ResponseShape) -> String {
        #[derive(Serialize)]
        struct RowOut<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            image_features: Option<[&'a Vec<f32>; 1]>,
            #[serde(skip_serializing_if = "Option::is_none")]
            text_features: Option<&'a Vec<f32>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            scaling_factor: Option<f64>,
        }
        #[derive(Serialize)]
        struct ColumnsOut<'a> {
            image_features: Vec<&'a Vec<f32>>,
            text_features: Vec<&'a Vec<f32>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            scaling_factor: Option<f64>,
        }
        let scaling_factor = self.scaling_factor.map(|s| s.0);
        let body = match shape {
            ResponseShape::Rows => serde_json::to_string(
                &self
                    .images
                    .iter()
                    .zip(&self.texts)
                    .map(|(image, text)| RowOut {
                        image_features: image.as_ref().map(|v| [v]),
                        text_features: text.as_ref(),
                        scaling_factor,
                    })
                    .collect::<Vec<_>>(),
            ),
            ResponseShape::Columns => serde_json::to_string(&ColumnsOut {
                image_features: self.images.iter().flatten().collect(),
                text_features: self.texts.iter().flatten().collect(),
                scaling_factor,
            }),
        };
        // Serializing plain vectors and numbers cannot fail.
        body.unwrap_or_default()
    }
}

/// Why a response cannot be trusted. Each message says what was wrong and where.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ResponseError {
    #[error(
        "the endpoint's answer is not JSON ({0}); is /score really a MedImageInsight endpoint?"
    )]
    NotJson(String),
    #[error("the endpoint answered with an error: {0}")]
    Service(String),
    #[error("the endpoint's answer has an unknown layout: {0}")]
    UnexpectedShape(String),
    #[error("the endpoint returned {got} {kind} vectors for {expected} {kind} inputs")]
    WrongCount {
        kind: VectorKind,
        expected: usize,
        got: usize,
    },
    #[error("the {kind} vector of row {row} has {got} values, expected {expected}")]
    WrongDimension {
        kind: VectorKind,
        row: usize,
        got: usize,
        expected: usize,
    },
    #[error("the {kind} vector of row {row} has {got} values but earlier vectors have {first}")]
    InconsistentDimension {
        kind: VectorKind,
        row: usize,
        got: usize,
        first: usize,
    },
    #[error("the {kind} vector of row {row} has a non-finite value (NaN or infinity) at position {position}")]
    NonFinite {
        kind: VectorKind,
        row: usize,
        position: usize,
    },
}

/// How strictly [`parse_response`] checks vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// Required length of every vector; `None` only requires all to agree.
    /// Default: `Some(1024)`, MedImageInsight's embedding width.
    pub dimension: Option<usize>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            dimension: Some(EMBEDDING_DIM),
        }
    }
}

/// Parses and validates the answer to `request`.
pub fn parse_response(
    body: &str,
    request: &ScoreRequest,
    options: ParseOptions,
) -> Result<ScoreResponse, ResponseError> {
    // Python's json writes NaN/Infinity as bare words; read them as null so that a bad
    // vector is reported as non-finite, not as "not JSON".
    let value: Value = serde_json::from_str(&python_json_to_json(body))
        .map_err(|e| ResponseError::NotJson(e.to_string()))?;
    if let Some(message) = service_error(&value) {
        return Err(ResponseError::Service(message));
    }
    let n = request.rows.len();
    let (images, texts, scaling) = match &value {
        Value::Array(rows) => {
            if rows.len() != n {
                return Err(ResponseError::WrongCount {
                    kind: first_asked_kind(request),
                    expected: n,
                    got: rows.len(),
                });
            }
            let mut images = Vec::with_capacity(n);
            let mut texts = Vec::with_capacity(n);
            for (i, row) in rows.iter().enumerate() {
                let obj = row.as_object().ok_or_else(|| {
                    ResponseError::UnexpectedShape(format!("row {i} is not an object"))
                })?;
                for (kind, out) in [
                    (VectorKind::Image, &mut images),
                    (VectorKind::Text, &mut texts),
                ] {
                    let got = vector_or_none(obj.get(kind.key()), kind, i)?;
                    match (kind.cell(&request.rows[i]).is_some(), got) {
                        (true, None) => {
                            return Err(ResponseError::WrongCount {
                                kind,
                                expected: request.asked(kind),
                                got: count_present(rows, kind),
                            })
                        }
                        // A vector for an empty cell carries nothing the caller asked for.
                        (false, _) => out.push(None),
                        (true, v) => out.push(v),
                    }
                }
            }
            let scaling = rows.iter().find_map(|r| r.get("scaling_factor"));
            (images, texts, scaling)
        }
        Value::Object(obj) => {
            let images = column(obj.get(VectorKind::Image.key()), VectorKind::Image, request)?;
            let texts = column(obj.get(VectorKind::Text.key()), VectorKind::Text, request)?;
            (images, texts, obj.get("scaling_factor"))
        }
        other => {
            return Err(ResponseError::UnexpectedShape(format!(
                "expected an object or an array, got {}",
                json_type(other)
            )))
        }
    };
    let scaling_factor = match scaling {
        None | Some(Value::Null) => None,
        Some(v) => Some(ScalingFactor(
            v.as_f64().filter(|s| s.is_finite()).ok_or_else(|| {
                ResponseError::UnexpectedShape(format!(
                    "scaling_factor is {v}, not a finite number"
                ))
            })?,
        )),
    };
    let response = ScoreResponse {
        images,
        texts,
        scaling_factor,
    };
    check_dimensions(&response, options)?;
    Ok(response)
}

fn first_asked_kind(request: &ScoreRequest) -> VectorKind {
    if request.asked(VectorKind::Image) > 0 {
        VectorKind::Image
    } else {
        VectorKind::Text
    }
}

fn count_present(rows: &[Value], kind: VectorKind) -> usize {
    rows.iter().filter(|r| !is_none(r.get(kind.key()))).count()
}

fn is_none(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

/// A column of the documentation's shape: vectors for the rows that asked, in order.
/// A list with an entry for every row (none where a cell was empty) is accepted too.
fn column(
    value: Option<&Value>,
    kind: VectorKind,
    request: &ScoreRequest,
) -> Result<Vec<Option<Vec<f32>>>, ResponseError> {
    let asked = request.asked(kind);
    let items: &[Value] = match value {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(ResponseError::UnexpectedShape(format!(
                "{} is {}, expected a list",
                kind.key(),
                json_type(other)
            )))
        }
    };
    let n = request.rows.len();
    let positional = items.len() == n && asked < n;
    if items.len() != asked && !positional {
        return Err(ResponseError::WrongCount {
            kind,
            expected: asked,
            got: items.len(),
        });
    }
    let mut items = items.iter();
    let mut out = Vec::with_capacity(n);
    for (i, row) in request.rows.iter().enumerate() {
        let item = if positional || kind.cell(row).is_some() {
            items.next()
        } else {
            None
        };
        let vector = vector_or_none(item, kind, i)?;
        match (kind.cell(row).is_some(), vector) {
            (true, None) => {
                return Err(ResponseError::WrongCount {
                    kind,
                    expected: asked,
                    got: asked.saturating_sub(1),
                })
            }
            (false, _) => out.push(None),
            (true, v) => out.push(v),
        }
    }
    Ok(out)
}

/// Squeezes `[[…]]` to `[…]` and reads the floats. Missing, `null` and `[]` mean none.
fn vector_or_none(
    value: Option<&Value>,
    kind: VectorKind,
    row: usize,
) -> Result<Option<Vec<f32>>, ResponseError> {
    let mut v = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    while let Value::Array(a) = v {
        match a.as_slice() {
            [] => return Ok(None),
            [inner @ Value::Array(_)] => v = inner,
            _ => break,
        }
    }
    let items = v.as_array().ok_or_else(|| {
        ResponseError::UnexpectedShape(format!(
            "the {kind} vector of row {row} is {}, expected a list of numbers",
            json_type(v)
        ))
    })?;
    items
        .iter()
        .enumerate()
        .map(|(position, x)| match x {
            Value::Null => Err(ResponseError::NonFinite {
                kind,
                row,
                position,
            }),
            Value::Number(n) => n
                .as_f64()
                .map(|f| f as f32)
                .filter(|f| f.is_finite())
                .ok_or(ResponseError::NonFinite {
                    kind,
                    row,
                    position,
                }),
            other => Err(ResponseError::UnexpectedShape(format!(
                "value {position} of the {kind} vector of row {row} is {}, expected a number",
                json_type(other)
            ))),
        })
        .collect::<Result<Vec<f32>, _>>()
        .map(Some)
}

fn check_dimensions(response: &ScoreResponse, options: ParseOptions) -> Result<(), ResponseError> {
    let mut first: Option<usize> = None;
    for (kind, vectors) in [
        (VectorKind::Image, &response.images),
        (VectorKind::Text, &response.texts),
    ] {
        for (row, v) in vectors.iter().enumerate() {
            let Some(v) = v else { continue };
            let got = v.len();
            match (options.dimension, first) {
                (Some(expected), _) if got != expected => {
                    return Err(ResponseError::WrongDimension {
                        kind,
                        row,
                        got,
                        expected,
                    })
                }
                (None, Some(first)) if got != first => {
                    return Err(ResponseError::InconsistentDimension {
                        kind,
                        row,
                        got,
                        first,
                    })
                }
                _ => first = first.or(Some(got)),
            }
        }
    }
    Ok(())
}

/// The message of a JSON error body: a bare string, or an object carrying
/// `error`/`message`/`detail` (in that order) and no features.
fn service_error(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(obj)
            if !obj.contains_key("image_features") && !obj.contains_key("text_features") =>
        {
            ["error", "message", "detail"]
                .iter()
                .find_map(|k| obj.get(*k))
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => o
                        .get("message")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                    other => other.to_string(),
                })
        }
        _ => None,
    }
}

/// What a failed answer said, in one line for the user: the model's own reason (the
/// `ms-azureml-model-error-reason` header of a 424) and the body's message, both — the
/// reason names the failing step, the body often the input — each once; or the start of
/// a body that is not a JSON error.
pub fn failure_message(model_reason: Option<&str>, body: &str) -> String {
    let from_json = serde_json::from_str::<Value>(body)
        .ok()
        .as_ref()
        .and_then(service_error);
    let body_text = from_json.unwrap_or_else(|| {
        let text = body.trim();
        match text.char_indices().nth(300) {
            Some((i, _)) => format!("{}…", &text[..i]),
            None => text.to_string(),
        }
    });
    match model_reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) if body_text.contains(reason) => body_text,
        Some(reason) if body_text.is_empty() => reason.to_string(),
        Some(reason) => format!("{reason} — {body_text}"),
        None if body_text.is_empty() => "(no message)".into(),
        None => body_text,
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Replaces Python's bare `NaN`, `Infinity` and `-Infinity` (outside strings) by `null`.
fn python_json_to_json(body: &str) -> Cow<'_, str> {
    if !body.contains("NaN") && !body.contains("Infinity") {
        return Cow::Borrowed(body);
    }
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    let mut in_string = false;
    while let Some(c) = rest.chars().next() {
        if in_string {
            match c {
                '\\' => {
                    let n = rest.chars().take(2).map(char::len_utf8).sum();
                    out.push_str(&rest[..n]);
                    rest = &rest[n..];
                    continue;
                }
                '"' => in_string = false,
                _ => {}
            }
        } else {
            if c == '"' {
                in_string = true;
            }
            if let Some(word) = ["-Infinity", "Infinity", "NaN"]
                .into_iter()
                .find(|w| rest.starts_with(w))
            {
                out.push_str("null");
                rest = &rest[word.len()..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// Why the service would refuse a request: each names the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the request body is not JSON: {0}")]
    NotJson(String),
    #[error("{field}: {problem}")]
    Field { field: String, problem: String },
    #[error("input_data.data: {0}")]
    Mixed(#[from] MixedColumn),
}

fn field_error(field: impl Into<String>, problem: impl Into<String>) -> RequestError {
    RequestError::Field {
        field: field.into(),
        problem: problem.into(),
    }
}

/// Reads a scoring request as the service does: leniently where real clients differ
/// (an empty cell may be `""` or `null`; `get_scaling_factor` may be `true` or the string
/// `"true"`/`"True"`, and missing `params` or `{}` mean the service's default, true;
/// columns may come in either order; 1 to [`MAX_ROWS`] rows), strictly where the service
/// is strict: a column filled in some rows and empty in others is refused
/// ([`RequestError::Mixed`]).
pub fn parse_request(body: &[u8]) -> Result<ScoreRequest, RequestError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| RequestError::NotJson(e.to_string()))?;
    let input = value
        .get("input_data")
        .ok_or_else(|| field_error("input_data", "missing"))?;
    let columns = input
        .get("columns")
        .and_then(Value::as_array)
        .ok_or_else(|| field_error("input_data.columns", "missing or not a list"))?;
    let mut image_col = None;
    let mut text_col = None;
    for (i, c) in columns.iter().enumerate() {
        match c.as_str() {
            Some("image") if image_col.is_none() => image_col = Some(i),
            Some("text") if text_col.is_none() => text_col = Some(i),
            _ => {
                return Err(field_error(
                    format!("input_data.columns[{i}]"),
                    format!("{c} is not \"image\" or \"text\" (or repeats one)"),
                ))
            }
        }
    }
    let data = input
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| field_error("input_data.data", "missing or not a list"))?;
    if data.is_empty() {
        return Err(field_error("input_data.data", "has no rows"));
    }
    if data.len() > MAX_ROWS {
        return Err(field_error(
            "input_data.data",
            format!("has {} rows, at most {MAX_ROWS} are accepted", data.len()),
        ));
    }
    if let Some(index) = input.get("index") {
        let len = index.as_array().map(Vec::len);
        if len != Some(data.len()) {
            return Err(field_error(
                "input_data.index",
                format!("must list one index per row ({} rows)", data.len()),
            ));
        }
    }
    let rows = data
        .iter()
        .enumerate()
        .map(|(r, row)| {
            let cells = row
                .as_array()
                .filter(|c| c.len() == columns.len())
                .ok_or_else(|| {
                    field_error(
                        format!("input_data.data[{r}]"),
                        format!("must be a list of {} cells", columns.len()),
                    )
                })?;
            let cell = |col: Option<usize>| -> Result<Option<String>, RequestError> {
                let Some(c) = col else { return Ok(None) };
                match &cells[c] {
                    Value::Null => Ok(None),
                    Value::String(s) if s.is_empty() => Ok(None),
                    Value::String(s) => Ok(Some(s.clone())),
                    other => Err(field_error(
                        format!("input_data.data[{r}][{c}]"),
                        format!("must be a string or null, got {}", json_type(other)),
                    )),
                }
            };
            let row = Row {
                image: cell(image_col)?,
                text: cell(text_col)?,
            };
            if row.image.is_none() && row.text.is_none() {
                return Err(field_error(
                    format!("input_data.data[{r}]"),
                    "has neither an image nor a text",
                ));
            }
            Ok(row)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let get_scaling_factor = match value
        .get("params")
        .and_then(|p| p.get("get_scaling_factor"))
    {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        Some(other) => {
            return Err(field_error(
                "params.get_scaling_factor",
                format!("must be true or false, got {other}"),
            ))
        }
    };
    let request = ScoreRequest {
        rows,
        get_scaling_factor,
    };
    request.kind()?;
    Ok(request)
}

/// The JSON body of an error as `medinsight emulate` and `medinsight proxy` write it:
/// `{"message": …}`, which [`parse_response`] reads back as [`ResponseError::Service`].
#[derive(Serialize)]
pub struct ErrorBody<'a> {
    pub message: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vec_json(seed: f32, n: usize) -> String {
        let v: Vec<String> = (0..n)
            .map(|i| format!("{}", seed + i as f32 * 1e-4))
            .collect();
        format!("[{}]", v.join(","))
    }

    fn image_text_request(rows: &[(bool, bool)]) -> ScoreRequest {
        ScoreRequest {
            rows: rows
                .iter()
                .map(|&(i, t)| Row {
                    image: i.then(|| "AAAA".to_string()),
                    text: t.then(|| "x-ray chest".to_string()),
                })
                .collect(),
            get_scaling_factor: Some(true),
        }
    }

    #[test]
    fn builder_writes_empty_cells_as_empty_strings_and_params_only_when_set() {
        let mut req = ScoreRequest {
            rows: vec![Row::text("a"), Row::text("b")],
            get_scaling_factor: None,
        };
        assert_eq!(
            req.to_body(),
            r#"{"input_data":{"columns":["image","text"],"data":[["","a"],["","b"]],"index":[0,1]}}"#
        );
        assert!(req.wants_scaling_factor(), "the service's default");
        // `false` must be written: leaving `params` out means true to the service.
        req.get_scaling_factor = Some(false);
        assert!(req
            .to_body()
            .ends_with(r#""params":{"get_scaling_factor":false}}"#));
        assert!(!req.wants_scaling_factor());
    }

    #[test]
    fn failure_message_gives_the_model_reason_and_the_body_once_each() {
        let body =
            r#"{"message":"An unexpected error occurred in scoring script: row 1: bad PNG"}"#;
        assert_eq!(
            failure_message(Some("row 1: bad PNG"), body),
            "An unexpected error occurred in scoring script: row 1: bad PNG"
        );
        assert_eq!(
            failure_message(
                Some("ValueError"),
                r#"{"error":{"message":"image column mixed"}}"#
            ),
            "ValueError — image column mixed"
        );
        assert_eq!(failure_message(Some("oops"), ""), "oops");
        assert_eq!(failure_message(None, "  "), "(no message)");
        assert_eq!(
            failure_message(None, "upstream connect error"),
            "upstream connect error"
        );
        let long = "x".repeat(400);
        assert_eq!(failure_message(None, &long).chars().count(), 301);
    }

    #[test]
    fn a_request_has_one_kind_or_names_the_mixed_column() {
        let kind = |rows: &[(bool, bool)]| image_text_request(rows).kind();
        assert_eq!(
            kind(&[(true, false), (true, false)]),
            Ok(Some(RowKind::Image))
        );
        assert_eq!(kind(&[(false, true)]), Ok(Some(RowKind::Text)));
        assert_eq!(kind(&[(true, true), (true, true)]), Ok(Some(RowKind::Both)));
        assert_eq!(kind(&[]), Ok(None));
        let mixed = kind(&[(true, false), (true, false), (false, true)]).unwrap_err();
        assert_eq!(
            mixed,
            MixedColumn {
                column: VectorKind::Image,
                filled: 2,
                empty: 1,
                first_empty: 2
            }
        );
        assert!(mixed.to_string().contains("separate requests"));
        // Both in every row but a text missing in one: the text column is mixed.
        let mixed = kind(&[(true, true), (true, false)]).unwrap_err();
        assert_eq!((mixed.column, mixed.first_empty), (VectorKind::Text, 1));
    }

    #[test]
    fn parses_the_documentation_shape() {
        let body = format!(
            r#"{{"image_features":[{}],"text_features":[{}],"scaling_factor":4.516357898712158}}"#,
            vec_json(0.01, 1024),
            vec_json(-0.02, 1024)
        );
        let res = parse_response(
            &body,
            &image_text_request(&[(true, true)]),
            ParseOptions::default(),
        )
        .unwrap();
        assert_eq!(res.images[0].as_ref().unwrap().len(), 1024);
        assert_eq!(res.texts[0].as_ref().unwrap()[0], -0.02);
        let s = res.scaling_factor.unwrap();
        assert_eq!(s.log(), 4.516357898712158);
        assert!((s.temperature() - 91.5).abs() < 0.1, "{}", s.temperature());
    }

    #[test]
    fn parses_the_deployed_rows_shape_and_maps_vectors_to_rows() {
        // Row 0: image only; row 1: text only (its image_features null); row 2: both.
        let body = format!(
            r#"[{{"image_features":[{a}],"scaling_factor":4.5}},
               {{"image_features":null,"text_features":{b}}},
               {{"image_features":[{c}],"text_features":{d},"scaling_factor":4.5}}]"#,
            a = vec_json(0.1, 1024),
            b = vec_json(0.2, 1024),
            c = vec_json(0.3, 1024),
            d = vec_json(0.4, 1024)
        );
        let req = image_text_request(&[(true, false), (false, true), (true, true)]);
        let res = parse_response(&body, &req, ParseOptions::default()).unwrap();
        let first = |v: &Option<Vec<f32>>| v.as_ref().map(|v| v[0]);
        assert_eq!(
            res.images.iter().map(first).collect::<Vec<_>>(),
            [Some(0.1), None, Some(0.3)]
        );
        assert_eq!(
            res.texts.iter().map(first).collect::<Vec<_>>(),
            [None, Some(0.2), Some(0.4)]
        );
        assert_eq!(res.scaling_factor, Some(ScalingFactor(4.5)));
    }

    #[test]
    fn empty_list_means_none_and_columns_may_be_compact() {
        let body = format!(
            r#"{{"image_features":[],"text_features":[{}, {}]}}"#,
            vec_json(0.5, 4),
            vec_json(0.6, 4)
        );
        let req = image_text_request(&[(false, true), (false, true)]);
        let res = parse_response(&body, &req, ParseOptions { dimension: Some(4) }).unwrap();
        assert_eq!(res.images, vec![None, None]);
        assert_eq!(res.scaling_factor, None);
    }

    #[test]
    fn round_trips_both_shapes() {
        let response = ScoreResponse {
            images: vec![Some(vec![0.5; 8]), None],
            texts: vec![None, Some(vec![-0.25; 8])],
            scaling_factor: Some(ScalingFactor(4.516357)),
        };
        let req = image_text_request(&[(true, false), (false, true)]);
        for shape in [ResponseShape::Rows, ResponseShape::Columns] {
            let body = response.to_body(shape);
            assert_eq!(
                parse_response(&body, &req, ParseOptions { dimension: Some(8) }).unwrap(),
                response,
                "{shape:?}"
            );
        }
    }

    #[test]
    fn wrong_count_in_each_shape() {
        let req = image_text_request(&[(true, false), (true, false)]);
        let columns = format!(r#"{{"image_features":[{}]}}"#, vec_json(0.1, 1024));
        assert_eq!(
            parse_response(&columns, &req, ParseOptions::default()),
            Err(ResponseError::WrongCount {
                kind: VectorKind::Image,
                expected: 2,
                got: 1
            })
        );
        let rows = format!(r#"[{{"image_features":[{}]}}]"#, vec_json(0.1, 1024));
        assert!(matches!(
            parse_response(&rows, &req, ParseOptions::default()),
            Err(ResponseError::WrongCount { .. })
        ));
        let missing = format!(r#"[{{"image_features":[{}]}}, {{}}]"#, vec_json(0.1, 1024));
        let err = parse_response(&missing, &req, ParseOptions::default()).unwrap_err();
        assert_eq!(
            err,
            ResponseError::WrongCount {
                kind: VectorKind::Image,
                expected: 2,
                got: 1
            }
        );
        assert_eq!(
            err.to_string(),
            "the endpoint returned 1 image vectors for 2 image inputs"
        );
    }

    #[test]
    fn wrong_and_inconsistent_dimensions() {
        let req = image_text_request(&[(true, true)]);
        let body = format!(
            r#"{{"image_features":[{}],"text_features":[{}]}}"#,
            vec_json(0.1, 1024),
            vec_json(0.1, 768)
        );
        assert_eq!(
            parse_response(&body, &req, ParseOptions::default()),
            Err(ResponseError::WrongDimension {
                kind: VectorKind::Text,
                row: 0,
                got: 768,
                expected: 1024
            })
        );
        assert_eq!(
            parse_response(&body, &req, ParseOptions { dimension: None }),
            Err(ResponseError::InconsistentDimension {
                kind: VectorKind::Text,
                row: 0,
                got: 768,
                first: 1024
            })
        );
    }

    #[test]
    fn python_nan_and_infinity_are_non_finite_not_garbage() {
        let req = image_text_request(&[(true, false)]);
        let body = r#"[{"image_features":[[0.1, NaN, 0.3]]}]"#;
        assert_eq!(
            parse_response(body, &req, ParseOptions { dimension: Some(3) }),
            Err(ResponseError::NonFinite {
                kind: VectorKind::Image,
                row: 0,
                position: 1
            })
        );
        let body = r#"[{"image_features":[[0.1, 0.2, -Infinity]]}]"#;
        assert!(matches!(
            parse_response(body, &req, ParseOptions { dimension: Some(3) }),
            Err(ResponseError::NonFinite { position: 2, .. })
        ));
        // The words inside strings are left alone.
        assert_eq!(
            python_json_to_json(r#"{"m":"NaN \"Infinity\"","v":NaN}"#),
            r#"{"m":"NaN \"Infinity\"","v":null}"#
        );
    }

    #[test]
    fn not_json_and_error_bodies() {
        let req = image_text_request(&[(true, false)]);
        assert!(matches!(
            parse_response("<html>502</html>", &req, ParseOptions::default()),
            Err(ResponseError::NotJson(_))
        ));
        assert_eq!(
            parse_response(
                r#"{"message":"An unexpected error occurred in scoring script."}"#,
                &req,
                ParseOptions::default()
            ),
            Err(ResponseError::Service(
                "An unexpected error occurred in scoring script.".into()
            ))
        );
        assert_eq!(
            parse_response(
                r#""upstream request timeout""#,
                &req,
                ParseOptions::default()
            ),
            Err(ResponseError::Service("upstream request timeout".into()))
        );
        assert!(matches!(
            parse_response("42", &req, ParseOptions::default()),
            Err(ResponseError::UnexpectedShape(_))
        ));
    }

    #[test]
    fn request_parser_is_lenient_where_clients_differ() {
        let body = br#"{"input_data":{"columns":["image","text"],"index":[0,1],"data":[[null,"a"],["","b"]]},"params":{"get_scaling_factor":"True"}}"#;
        let req = parse_request(body).unwrap();
        assert_eq!(req.rows, vec![Row::text("a"), Row::text("b")]);
        assert_eq!(req.get_scaling_factor, Some(true));
        let body = br#"{"input_data":{"columns":["image","text"],"data":[["iVBO\nRw==",null]]},"params":{}}"#;
        let req = parse_request(body).unwrap();
        assert_eq!(req.rows, vec![Row::image("iVBO\nRw==")]);
        assert_eq!(
            req.get_scaling_factor, None,
            "`{{}}` is the service's default"
        );
        assert!(req.wants_scaling_factor());
        let swapped = br#"{"input_data":{"columns":["text","image"],"data":[["t","i"]]}}"#;
        assert_eq!(
            parse_request(swapped).unwrap().rows,
            vec![Row {
                image: Some("i".into()),
                text: Some("t".into())
            }]
        );
    }

    #[test]
    fn request_parser_names_the_field_at_fault() {
        let cases: [(&[u8], &str); 7] = [
            (b"{", "not JSON"),
            (br#"{}"#, "input_data: missing"),
            (br#"{"input_data":{"columns":["image","txt"],"data":[]}}"#, "input_data.columns[1]"),
            (br#"{"input_data":{"columns":["image","text"],"data":[]}}"#, "input_data.data: has no rows"),
            (br#"{"input_data":{"columns":["image","text"],"data":[["",3]]}}"#, "input_data.data[0][1]"),
            (br#"{"input_data":{"columns":["image","text"],"index":[0,1],"data":[["","a"]]}}"#, "input_data.index"),
            (br#"{"input_data":{"columns":["image","text"],"data":[["","a"]]},"params":{"get_scaling_factor":"yes"}}"#, "params.get_scaling_factor"),
        ];
        for (body, expected) in cases {
            let err = parse_request(body).unwrap_err().to_string();
            assert!(err.contains(expected), "{err:?} should name {expected:?}");
        }
        // What Azure's scoring wrapper refuses: an image in one row, a text in another,
        // whether the empty cell is "" or null.
        let mixed: [&[u8]; 2] = [
            br#"{"input_data":{"columns":["image","text"],"data":[["iVBO",""],["","a"]]}}"#,
            br#"{"input_data":{"columns":["image","text"],"data":[["iVBO",null],[null,"a"]]}}"#,
        ];
        for body in mixed {
            let err = parse_request(body).unwrap_err();
            assert!(matches!(err, RequestError::Mixed(_)), "{err:?}");
            assert!(
                err.to_string()
                    .contains("the image column is filled in 1 row(s) and empty in 1"),
                "{err}"
            );
        }
        let too_many = format!(
            r#"{{"input_data":{{"columns":["image","text"],"data":[{}]}}}}"#,
            vec![r#"["","a"]"#; MAX_ROWS + 1].join(",")
        );
        assert!(parse_request(too_many.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("at most 1024"));
    }
}
