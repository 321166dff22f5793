//! The fixture formats that the tests and the harness replay against every build of the service.
//!
//! Golden cases (`fixtures/golden/`) are request rows and the answers the in-process model gives
//! for them, compared bit for bit: JSON floats here print the shortest form that parses back to
//! the same `f64`. Bad inputs (generated per model by the harness) are requests and the status and error
//! each must get.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::artifact::Artifact;
use crate::contract::errors::ApiError;
use crate::inputs::{Batch, Datum, Kind, Table, ValueError};
use crate::model::Model;
use crate::rows::{InputError, Rows};

/// One model's golden cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenFile {
    /// The model's name.
    pub model: String,
    /// The artifact the answers were computed with.
    pub artifact_sha256: String,
    pub cases: Vec<Case>,
}

impl GoldenFile {
    /// The golden file of `artifact` for named batches of rows, each answered by the artifact
    /// itself. A batch the model refuses (a score that overflows far outside the training
    /// range) is left out: a golden case is an answer, never a refusal.
    pub fn compute<'a>(
        artifact: &Artifact,
        batches: impl IntoIterator<Item = (&'a str, Vec<Vec<Datum>>)>,
    ) -> GoldenFile {
        let model = artifact.model();
        GoldenFile {
            model: artifact.name().to_owned(),
            artifact_sha256: artifact.sha256().to_owned(),
            cases: batches
                .into_iter()
                .filter_map(|(name, rows)| Case::compute(model, name, rows).ok())
                .collect(),
        }
    }

    /// Rows far outside any training range, where the arithmetic is most fragile: zeros of
    /// both signs, the smallest subnormal, and large values of both signs and of mixed sign.
    /// A categorical feature takes its first category in every row.
    pub fn far_rows(model: &Model) -> Vec<Vec<Datum>> {
        let kinds = kinds(model);
        let rows = [
            |_: usize| 0.0,
            |_| -0.0,
            |_| 5e-324,
            |_| 1e6,
            |_| -1e6,
            |i| if i % 2 == 0 { 1e3 } else { -1e3 },
        ];
        rows.iter()
            .map(|value| {
                kinds
                    .iter()
                    .enumerate()
                    .map(|(i, first)| match first {
                        None => Datum::Number(value(i)),
                        Some(category) => category.clone(),
                    })
                    .collect()
            })
            .collect()
    }

    /// `row` with each value that may be missing set to `null` in turn, then with all of them
    /// `null` at once; none for a model that takes no missing value.
    pub fn gap_rows(model: &Model, row: &[Datum]) -> Vec<Vec<Datum>> {
        let nullable: Vec<usize> = model.columns().map_or_else(Vec::new, |columns| {
            columns
                .features()
                .iter()
                .enumerate()
                .filter(|(_, f)| f.accepts_missing)
                .map(|(i, _)| i)
                .collect()
        });
        let with_gaps = |gaps: &[usize]| {
            let mut row = row.to_vec();
            gaps.iter().for_each(|&i| row[i] = Datum::Missing);
            row
        };
        let mut rows: Vec<Vec<Datum>> = nullable.iter().map(|&i| with_gaps(&[i])).collect();
        if nullable.len() > 1 {
            rows.push(with_gaps(&nullable));
        }
        rows
    }
}

/// Per input, `None` for a numeric one, its first category for a categorical one.
fn kinds(model: &Model) -> Vec<Option<Datum>> {
    match model.columns() {
        None => vec![None; model.features().len()],
        Some(columns) => columns
            .features()
            .iter()
            .map(|f| match f.kind {
                Kind::Numeric => None,
                Kind::Categorical => Some(
                    f.categories
                        .first()
                        .cloned()
                        .map_or(Datum::Missing, Datum::Category),
                ),
            })
            .collect(),
    }
}

/// Rows as a client writes them, checked against `model` as its APIs check a JSON row: the
/// in-process answer to the same request.
pub fn checked(model: &Model, rows: &[Vec<Datum>]) -> Result<Batch, ApiError> {
    let Some(columns) = model.columns() else {
        let mut numbers = Vec::with_capacity(rows.len());
        for (row, values) in rows.iter().enumerate() {
            let values = values
                .iter()
                .zip(model.features())
                .map(|(value, feature)| {
                    value.number().ok_or_else(|| {
                        let found = serde_json::to_string(value).unwrap_or_default();
                        ApiError::value(row, feature, ValueError::NotANumber { found })
                    })
                })
                .collect::<Result<Vec<f64>, ApiError>>()?;
            numbers.push(values);
        }
        return Ok(Batch::Rows(Rows::from_rows(&numbers, model.features())?));
    };
    if rows.is_empty() {
        return Err(InputError::Empty.into());
    }
    let features = columns.features();
    let mut cells = Vec::with_capacity(rows.len() * features.len());
    for (row, values) in rows.iter().enumerate() {
        if values.len() != features.len() {
            return Err(InputError::Width {
                row,
                expected: features.len(),
                found: values.len(),
            }
            .into());
        }
        for (feature, value) in features.iter().zip(values) {
            let cell = feature
                .cell(value.value())
                .map_err(|problem| ApiError::value(row, &feature.name, problem))?;
            cells.push(cell);
        }
    }
    Ok(Batch::Table(Table::new(cells, features.len())))
}

/// A batch of rows, as a client sends it, and the expected answer per row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub instances: Vec<Vec<Datum>>,
    pub predictions: Vec<Expected>,
}

/// The expected answer for one row: its label and a probability per class label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub label: String,
    pub probabilities: BTreeMap<String, f64>,
}

impl Case {
    /// Computes a case's answers with `model`.
    pub fn compute(
        model: &Model,
        name: &str,
        instances: Vec<Vec<Datum>>,
    ) -> Result<Case, CaseError> {
        let predictions = model
            .predict_batch(&checked(model, &instances)?)?
            .into_iter()
            .map(|p| Expected {
                label: model.classes()[p.class].clone(),
                probabilities: model
                    .classes()
                    .iter()
                    .cloned()
                    .zip(p.probabilities)
                    .collect(),
            })
            .collect();
        Ok(Case {
            name: name.to_owned(),
            instances,
            predictions,
        })
    }
}

/// Why a golden case could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error(transparent)]
    Input(#[from] ApiError),
    #[error(transparent)]
    Predict(#[from] crate::model::PredictError),
}

/// scikit-learn's own answers for some rows, written by `fixtures/sklearn/make_exports.py`
/// beside each export as `<name>.reference.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SklearnReference {
    /// The export's name: `<name>.export.json`.
    pub model: String,
    /// The rows as the DataFrame held them: numbers, categories, `null` for a gap.
    pub rows: Vec<Vec<Datum>>,
    /// `predict`: one label per row, as the artifact names its classes (a number as JSON
    /// writes it, a boolean as `false` or `true`).
    #[serde(deserialize_with = "labels")]
    pub predict: Vec<String>,
    /// `predict_proba`: one probability per class (in `classes_` order) per row.
    pub predict_proba: Vec<Vec<f64>>,
}

/// Labels as text, whatever JSON scalar scikit-learn wrote them as.
fn labels<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Vec::<serde_json::Value>::deserialize(deserializer)?
        .into_iter()
        .map(|label| match label {
            serde_json::Value::String(s) => Ok(s),
            serde_json::Value::Number(n) => Ok(n.to_string()),
            serde_json::Value::Bool(b) => Ok(b.to_string()),
            other => Err(serde::de::Error::custom(format!(
                "label {other} is neither a string, a number nor a boolean"
            ))),
        })
        .collect()
}

/// Requests the service must refuse, for one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BadInputs {
    /// The model the requests are written for.
    pub model: String,
    pub cases: Vec<BadInput>,
}

/// One request and the answer it must get.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BadInput {
    pub name: String,
    pub method: String,
    pub path: String,
    /// The Content-Type header to send; none when absent.
    #[serde(default)]
    pub content_type: Option<String>,
    /// The body to send; none when absent.
    #[serde(default)]
    pub body: Option<String>,
    /// Other header fields to send, such as `Inference-Header-Content-Length`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    pub status: u16,
    /// Text the `error` message must contain.
    pub error_contains: String,
}

/// The HTTP/1.1 regression corpus, `fixtures/http/corpus.json`: streams a hostile client
/// sends, each with the answers it must get and whether the connection ends after them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireCorpus {
    pub cases: Vec<WireCase>,
}

/// One stream, written at once on a fresh connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireCase {
    pub name: String,
    /// The attack or the rule it stands for.
    pub why: String,
    pub send: String,
    /// The statuses of the answers, in order; never one more.
    pub answers: Vec<u16>,
    /// The positions in `answers` of answers to HEAD, which carry no body.
    #[serde(default)]
    pub bodiless: Vec<usize>,
    /// Whether the server closes the connection after the last answer; when it does not, the
    /// connection must still serve a request.
    pub closes: bool,
}
