//! The model a catalogue is written for, and the valid requests its bad ones are made from.

use serde_json::{Map, Value, json};
use server::contract::errors::ApiError;
use server::{Artifact, PredictError};

use crate::client::infer_path;
use crate::golden;

/// One valid row (the middle of every training range) and what the cases need of the model.
pub struct Subject<'a> {
    pub oracle: &'a Artifact,
    pub features: &'a [String],
    pub width: usize,
    /// The model's V2 infer path.
    pub infer: String,
    pub row: Vec<Value>,
}

impl<'a> Subject<'a> {
    pub fn new(oracle: &'a Artifact) -> Subject<'a> {
        let features = oracle.model().features();
        Subject {
            oracle,
            features,
            width: features.len(),
            infer: infer_path(oracle.name()),
            row: golden::ranges(oracle)
                .iter()
                .map(|(min, max)| json!(min + (max - min) / 2.0))
                .collect(),
        }
    }

    pub fn first(&self) -> &String {
        &self.features[0]
    }

    pub fn last(&self) -> &String {
        &self.features[self.width - 1]
    }

    /// The row as JSON text.
    pub fn row_text(&self) -> String {
        Value::from(self.row.clone()).to_string()
    }

    /// The row's text with its first value's text replaced by `token` (`NaN`, `1e999`): what
    /// no JSON serializer writes.
    pub fn row_text_with_first(&self, token: &str) -> String {
        self.row_text().replacen(&self.row[0].to_string(), token, 1)
    }

    /// The row with its first value replaced.
    pub fn row_with_first(&self, value: Value) -> Value {
        let mut row = self.row.clone();
        row[0] = value;
        Value::from(row)
    }

    /// The row with one value too many.
    pub fn long_row(&self) -> Vec<Value> {
        let mut long = self.row.clone();
        long.push(json!(1.0));
        long
    }

    /// The row as an object keyed by feature name, without `skip`.
    pub fn named(&self, skip: Option<&str>) -> Map<String, Value> {
        self.features
            .iter()
            .zip(&self.row)
            .filter(|(f, _)| Some(f.as_str()) != skip)
            .map(|(f, v)| (f.clone(), v.clone()))
            .collect()
    }

    /// A V2 request of one tensor named `input`.
    pub fn tensor(&self, shape: Value, datatype: &str, data: Value) -> Value {
        json!({"inputs": [{"name": "input", "shape": shape, "datatype": datatype, "data": data}]})
    }

    /// The valid V2 request of the row.
    pub fn one_row_tensor(&self) -> Value {
        self.tensor(
            json!([1, self.width]),
            "FP64",
            Value::from(self.row.clone()),
        )
    }

    /// The V2 answer to a request for a model or version this service does not serve.
    pub fn not_served(&self, name: &str, version: Option<&str>) -> ApiError {
        ApiError::ModelNotServed {
            name: name.into(),
            version: version.map(str::to_owned),
            served: self.oracle.name().into(),
            served_version: self.oracle.version().into(),
        }
    }

    /// The row with its first value ten times beyond the model's safe range (or the largest
    /// double when that is not finite), and the refusal it gets.
    pub fn beyond_range(&self) -> (Vec<Value>, PredictError) {
        let bound = self.oracle.model().largest_safe_value();
        let value = if (bound * 10.0).is_finite() {
            bound * 10.0
        } else {
            f64::MAX
        };
        let mut row = self.row.clone();
        row[0] = json!(value);
        let refusal = PredictError::OutOfRange {
            row: 0,
            feature: self.first().clone(),
            value,
            bound,
        };
        (row, refusal)
    }
}
