//! Why a request was not answered with success, and the status each failure has on each API.
//!
//! Every error answer is `{"error": <the Display of an ApiError>}`. The variants carry the
//! values that went wrong, so a client that knows the request (the harness does) can compute
//! the exact answer it must get.

use thiserror::Error;

use crate::contract::routes::Api;
use crate::model::PredictError;
use crate::rows::InputError;

/// A refused request.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ApiError {
    /// The body is not JSON (400); `detail` is the parser's account.
    #[error("malformed JSON: {detail}")]
    Malformed { detail: String },
    /// JSON, but not of the expected shape, or a field is missing (400).
    #[error("invalid request: {detail}")]
    Invalid { detail: String },
    /// A V2 input tensor that cannot be read as `[rows, features]` (400).
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// A seed-API row keyed by names that are not the model's (422).
    #[error("row {row}: {problem}")]
    Row { row: usize, problem: RowProblem },
    /// The rows cannot be predicted: wrong width, non-finite values, an empty batch (422).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The rows are finite but the model's score is not (422).
    #[error(transparent)]
    Predict(#[from] PredictError),
    /// A V2 input whose shape names another feature count than the model's (422).
    #[error("input {input:?}: expected {expected} features, shape says {found}")]
    Width {
        input: String,
        expected: usize,
        found: usize,
    },
    /// More rows than `MAX_BATCH_ROWS` (422).
    #[error("the batch has {rows} rows, more than the limit of {limit}")]
    BatchTooLarge { rows: usize, limit: usize },
    /// A body longer than `MAX_BODY_BYTES` (413).
    #[error("the request body is larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// A declared content type other than JSON (415).
    #[error("content type {mime:?} is not supported; send application/json")]
    UnsupportedMediaType { mime: String },
    /// No route has this path (404).
    #[error("no route for {path}")]
    NoRoute { path: String },
    /// A V2 path names a model (or version) this server does not serve (404).
    #[error(
        "model {name:?}{} is not served here; this server serves {served:?} version {served_version:?}",
        version.as_deref().map(|v| format!(" version {v:?}")).unwrap_or_default()
    )]
    ModelNotServed {
        name: String,
        version: Option<String>,
        served: String,
        served_version: String,
    },
    /// The route exists for another method (405); the `Allow` header names it.
    #[error("method not allowed; use {allow}")]
    MethodNotAllowed { allow: &'static str },
    /// Shutting down: only liveness is answered (503).
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The request head is larger than `MAX_HEADER_BYTES` (431), answered before routing.
    #[error("the request head is larger than the limit of {limit} bytes")]
    HeaderTooLarge { limit: usize },
    /// The request line is longer than `MAX_REQUEST_LINE_BYTES` (414), before routing.
    #[error("the request line is longer than the limit of {limit} bytes")]
    RequestLineTooLong { limit: usize },
    /// The request did not arrive within `HEADER_TIMEOUT_MS` of its first byte (408).
    #[error("the request did not arrive within {millis} ms")]
    RequestTimeout { millis: u64 },
    /// `MAX_CONNECTIONS` connections are open already (503), answered on accepting.
    #[error("too many connections: {limit} are open already")]
    TooManyConnections { limit: usize },
    /// The request head is not HTTP (400), answered before routing.
    #[error("malformed request head: {detail}")]
    MalformedHead { detail: String },
    /// The request head, or a chunked body's trailer section, has more header fields than the
    /// transport takes (431), before routing.
    #[error("the request has more than {limit} header fields")]
    TooManyHeaders { limit: usize },
    /// The message's length cannot be told for sure (400): conflicting or malformed
    /// `Content-Length`, `Transfer-Encoding` where it is not allowed, a broken chunk line. The
    /// connection is closed, since the next request's start is unknown.
    #[error("invalid message framing: {detail}")]
    Framing { detail: String },
    /// A transfer coding other than `chunked` (501); the connection is closed.
    #[error("transfer coding {coding:?} is not supported; send Content-Length or chunked alone")]
    UnsupportedCoding { coding: String },
    /// A protocol version other than HTTP/1.x (505), before routing.
    #[error("{version} is not supported; use HTTP/1.1")]
    HttpVersion { version: String },
    /// A fault of the server's own, never caused by input (500).
    #[error("{0}")]
    Internal(&'static str),
}

/// What is wrong with an input tensor.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TensorError {
    #[error("expected exactly one input tensor, found {found}")]
    InputCount { found: usize },
    #[error(
        "Inference-Header-Content-Length {value:?} is not a length within the body of {body} bytes"
    )]
    HeaderLength { value: String, body: usize },
    #[error(
        "input {input:?}: binary_data_size {size} is not the {expected} bytes of shape {shape:?} in {datatype}"
    )]
    BinarySize {
        input: String,
        size: u64,
        shape: Vec<i64>,
        datatype: String,
        expected: usize,
    },
    #[error("input {input:?}: gives both binary_data_size and data")]
    BinaryAndData { input: String },
    #[error("input {input:?}: gives neither data nor binary_data_size")]
    NoData { input: String },
    #[error(
        "the binary tensors' sizes add up to {declared} bytes, but {found} follow the JSON header"
    )]
    BinaryTotal { declared: u64, found: usize },
    #[error("input {input:?}: shape {shape:?} is not [rows, features]")]
    Rank { input: String, shape: Vec<i64> },
    #[error("input {input:?}: shape {shape:?} has a negative dimension")]
    Negative { input: String, shape: Vec<i64> },
    #[error("input {input:?}: shape {shape:?} needs {needed} values, data has {found}")]
    DataLength {
        input: String,
        shape: Vec<i64>,
        needed: usize,
        found: usize,
    },
    #[error(
        "input {input:?}: datatype {datatype:?} is not supported; use FP64, FP32 or an integer type"
    )]
    Datatype { input: String, datatype: String },
    #[error("input {input:?}: element {element} ({value}) is not a {datatype} value")]
    OutOfType {
        input: String,
        element: usize,
        value: f64,
        datatype: String,
    },
    #[error(
        "unknown output {name:?}; this model has {:?} and {:?} (or {:?} and {:?})",
        crate::contract::v2::LABEL,
        crate::contract::v2::PROBABILITIES,
        crate::contract::v2::PREDICT,
        crate::contract::v2::PREDICT_PROBA
    )]
    UnknownOutput { name: String },
    #[error("input {input:?} is not a feature; with one input per feature, expected {expected:?}")]
    UnknownInput {
        input: String,
        expected: Vec<String>,
    },
    #[error("input {input:?} is given twice")]
    RepeatedInput { input: String },
    #[error("no input for feature {feature:?}")]
    MissingInput { feature: String },
    #[error("input {input:?}: shape {shape:?} is not [rows] or [rows, 1], as one feature's column")]
    ColumnShape { input: String, shape: Vec<i64> },
    #[error("input {input:?} has {rows} rows, input {first:?} has {expected}")]
    InputLengths {
        input: String,
        rows: usize,
        first: String,
        expected: usize,
    },
}

/// What is wrong with a row's features or values.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RowProblem {
    #[error("unknown feature {name:?}; expected {expected:?}")]
    UnknownFeature { name: String, expected: Vec<String> },
    #[error("feature {0:?} is given twice")]
    Repeated(String),
    #[error("missing feature {0:?}")]
    Missing(String),
    /// A value that does not fit its feature: a wrong type, an unknown category, a `null`
    /// nothing fills.
    #[error("feature {feature:?}: {problem}")]
    Value {
        feature: String,
        problem: crate::inputs::ValueError,
    },
}

/// How much of a request's path an error message or a log line repeats.
pub const PATH_SHOWN: usize = 128;

/// `path` as messages and logs show it: at most [`PATH_SHOWN`] bytes (cut at a character
/// boundary), then how many more there were, so a long path is never echoed whole.
pub fn shown_path(path: &str) -> String {
    if path.len() <= PATH_SHOWN {
        return path.to_owned();
    }
    let cut = (0..=PATH_SHOWN)
        .rev()
        .find(|i| path.is_char_boundary(*i))
        .unwrap_or(0);
    format!("{}… ({} bytes in all)", &path[..cut], path.len())
}

impl ApiError {
    /// Row `row`'s value for `feature` does not fit it: `problem` says how.
    pub fn value(row: usize, feature: &str, problem: crate::inputs::ValueError) -> ApiError {
        ApiError::Row {
            row,
            problem: RowProblem::Value {
                feature: feature.to_owned(),
                problem,
            },
        }
    }

    /// The status this error has on `api`.
    pub fn status(&self, api: Api) -> u16 {
        let seed = match self {
            ApiError::Malformed { .. }
            | ApiError::Invalid { .. }
            | ApiError::Tensor(_)
            | ApiError::MalformedHead { .. }
            | ApiError::Framing { .. } => 400,
            ApiError::HeaderTooLarge { .. } | ApiError::TooManyHeaders { .. } => 431,
            ApiError::UnsupportedCoding { .. } => 501,
            ApiError::HttpVersion { .. } => 505,
            ApiError::RequestLineTooLong { .. } => 414,
            ApiError::RequestTimeout { .. } => 408,
            ApiError::TooManyConnections { .. } => 503,
            // A batch over the limit is content the model will not take, as a wrong width is:
            // 422. A body over its limit is refused before it is read: 413.
            ApiError::Row { .. }
            | ApiError::Input(_)
            | ApiError::Predict(_)
            | ApiError::Width { .. }
            | ApiError::BatchTooLarge { .. } => 422,
            ApiError::BodyTooLarge { .. } => 413,
            ApiError::UnsupportedMediaType { .. } => 415,
            ApiError::NoRoute { .. } | ApiError::ModelNotServed { .. } => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::ShuttingDown => 503,
            ApiError::Internal(_) => 500,
        };
        match (api, seed) {
            (Api::V2, 413 | 415 | 422) | (Api::V1, 422) => 400,
            (_, status) => status,
        }
    }

    /// Classifies a `serde_json` failure: broken syntax is malformed, a wrong shape is not.
    pub fn from_json(e: &serde_json::Error) -> ApiError {
        use serde_json::error::Category;
        let detail = e.to_string();
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::Malformed { detail },
            Category::Data => ApiError::Invalid { detail },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_folds_client_errors_into_400_but_keeps_404_405_and_503() {
        let cases = [
            (ApiError::Input(InputError::Empty), 422, 400),
            (ApiError::BodyTooLarge { limit: 1 }, 413, 400),
            (
                ApiError::UnsupportedMediaType {
                    mime: "text/plain".into(),
                },
                415,
                400,
            ),
            (
                ApiError::Malformed {
                    detail: String::new(),
                },
                400,
                400,
            ),
            (ApiError::NoRoute { path: "/x".into() }, 404, 404),
            (ApiError::MethodNotAllowed { allow: "GET" }, 405, 405),
            (ApiError::ShuttingDown, 503, 503),
        ];
        for (error, seed, v2) in cases {
            assert_eq!(
                (error.status(Api::Seed), error.status(Api::V2)),
                (seed, v2),
                "{error:?}"
            );
        }
    }

    #[test]
    fn long_paths_are_cut() {
        assert_eq!(shown_path("/short"), "/short");
        let long = format!("/{}", "é".repeat(100));
        let shown = shown_path(&long);
        assert!(shown.len() < 160, "{shown}");
        assert!(shown.ends_with("… (201 bytes in all)"), "{shown}");
    }

    #[test]
    fn messages_name_the_values_that_went_wrong() {
        let served = |version: Option<&str>| ApiError::ModelNotServed {
            name: "x".into(),
            version: version.map(str::to_owned),
            served: "iris".into(),
            served_version: "1.0.0".into(),
        };
        assert_eq!(
            served(None).to_string(),
            r#"model "x" is not served here; this server serves "iris" version "1.0.0""#
        );
        assert_eq!(
            served(Some("2")).to_string(),
            r#"model "x" version "2" is not served here; this server serves "iris" version "1.0.0""#
        );
        assert_eq!(
            ApiError::BatchTooLarge {
                rows: 11,
                limit: 10
            }
            .to_string(),
            "the batch has 11 rows, more than the limit of 10"
        );
    }
}
