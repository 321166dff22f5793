//! The model a catalogue is written for, and the valid requests its bad ones are made from.

use serde_json::{Map, Value, json};
use server::contract::errors::ApiError;
use server::inputs::Datum;
use server::{Artifact, PredictError};

use crate::client::infer_path;
use crate::rows::{Input, Schema, Tensors, Values};

/// One valid row (the middle of every training range) and what the cases need of the model.
pub struct Subject<'a> {
    pub oracle: &'a Artifact,
    pub features: &'a [String],
    pub width: usize,
    /// The model's V2 infer path.
    pub infer: String,
    pub row: Vec<Value>,
    pub schema: Schema,
    /// The model has column blocks: its values are checked per feature (422 naming the
    /// feature), and V2 takes one input per feature.
    pub columns: bool,
    /// The first numeric input: where the cases put a wrong number.
    pub number: Option<usize>,
    /// The first numeric input that takes no gap: where NaN is refused (elsewhere it is a gap,
    /// as pandas holds one).
    pub strict_number: Option<usize>,
    /// The first categorical input, and the first that refuses an unknown category.
    pub category: Option<usize>,
    pub strict_category: Option<usize>,
    /// The first input of a model with column blocks that refuses `null`.
    pub not_nullable: Option<usize>,
}

impl<'a> Subject<'a> {
    pub fn new(oracle: &'a Artifact) -> Subject<'a> {
        let features = oracle.model().features();
        let schema = Schema::of(oracle);
        let number = schema
            .inputs
            .iter()
            .position(|i| matches!(i.values, Values::Numeric { .. }));
        let columns = oracle.model().columns().is_some();
        let first = |test: &dyn Fn(&Input) -> bool| schema.inputs.iter().position(test);
        let categorical = |i: &Input| matches!(i.values, Values::Categorical { .. });
        Subject {
            category: first(&categorical),
            strict_category: first(&|i| {
                matches!(&i.values, Values::Categorical { unseen: None, .. })
                    && oracle.model().columns().is_some_and(|c| {
                        c.features()
                            .iter()
                            .any(|f| f.name == i.name && !f.accepts_unknown)
                    })
            }),
            not_nullable: first(&|i| columns && !i.nullable),
            strict_number: first(&|i| !i.nullable && matches!(i.values, Values::Numeric { .. })),
            columns,
            number,
            oracle,
            features,
            width: features.len(),
            infer: infer_path(oracle.name()),
            row: schema.middle().iter().map(|v| json!(v)).collect(),
            schema,
        }
    }

    pub fn first(&self) -> &String {
        &self.features[0]
    }

    pub fn last(&self) -> &String {
        &self.features[self.width - 1]
    }

    /// The last numeric input.
    pub fn last_number(&self) -> Option<usize> {
        self.schema
            .inputs
            .iter()
            .rposition(|i| matches!(i.values, Values::Numeric { .. }))
    }

    /// The last feature a request must send: one the model uses (a feature every transformer
    /// dropped may be left out).
    pub fn last_required(&self) -> &String {
        let optional = |name: &String| {
            self.oracle
                .model()
                .columns()
                .is_some_and(|c| c.features().iter().any(|f| f.name == *name && f.optional))
        };
        self.features
            .iter()
            .rev()
            .find(|f| !optional(f))
            .unwrap_or_else(|| self.last())
    }

    /// The row as JSON text.
    pub fn row_text(&self) -> String {
        Value::from(self.row.clone()).to_string()
    }

    /// The row's text with its first value's text replaced by `token` (`NaN`, `1e999`): what
    /// no JSON serializer writes.
    pub fn row_text_with_first(&self, token: &str) -> String {
        self.row_text_with(0, token)
    }

    /// The row's text with value `at` written as `token`.
    pub fn row_text_with(&self, at: usize, token: &str) -> String {
        let values: Vec<String> = self
            .row
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if i == at {
                    token.to_owned()
                } else {
                    v.to_string()
                }
            })
            .collect();
        format!("[{}]", values.join(","))
    }

    /// The row with value `at` replaced.
    pub fn row_with(&self, at: usize, value: Value) -> Value {
        let mut row = self.row.clone();
        row[at] = value;
        Value::from(row)
    }

    /// What a model with column blocks says of `value` in feature `at` of row `row`: the
    /// feature's own check, as the decoders make it.
    pub fn value_refused(&self, row: usize, at: usize, value: &Value) -> Option<ApiError> {
        let feature = &self.oracle.model().columns()?.features()[at];
        let value: Datum = serde_json::from_value(value.clone()).ok()?;
        let problem = feature.cell(value.value()).err()?;
        Some(ApiError::value(row, &feature.name, problem))
    }

    /// The refusal of a non-finite number in input `at` of row `row`: an input error for a
    /// model of numbers, the feature's own check for a model with column blocks.
    pub fn non_finite(&self, row: usize, at: usize) -> ApiError {
        let feature = self.features[at].clone();
        if self.columns {
            ApiError::value(row, &feature, server::inputs::ValueError::NonFinite)
        } else {
            server::InputError::NonFinite { row, feature }.into()
        }
    }

    /// A category the first input that refuses unknown ones has not seen, of its type.
    pub fn unseen(&self) -> Value {
        let categories = self
            .strict_category
            .and_then(|at| match &self.schema.inputs[at].values {
                Values::Categorical { categories, .. } => Some(categories.as_slice()),
                Values::Numeric { .. } => None,
            })
            .unwrap_or_default();
        crate::rows::unseen(categories).map_or(Value::Null, |c| json!(c))
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

    /// The valid V2 request of the row: one tensor, or one input per feature.
    pub fn one_row_request(&self) -> Value {
        match self.schema.tensors {
            Tensors::Matrix => self.one_row_tensor(),
            Tensors::PerInput => {
                let row: Vec<Datum> = self
                    .row
                    .iter()
                    .map(|v| serde_json::from_value(v.clone()).unwrap_or(Datum::Missing))
                    .collect();
                json!({"parameters": {"content_type": "pd"},
                       "inputs": self.schema.tensors_json(&[row], "input")})
            }
        }
    }

    /// The valid V2 request of the row as one `[1, F]` tensor.
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

    /// The row with its first numeric value ten times beyond the model's safe range (or the
    /// largest double when that is not finite), and the refusal it gets.
    pub fn beyond_range(&self) -> (Vec<Value>, PredictError) {
        let at = self.number.unwrap_or(0);
        let bound = self.oracle.model().largest_safe_value();
        let value = if (bound * 10.0).is_finite() {
            bound * 10.0
        } else {
            f64::MAX
        };
        let mut row = self.row.clone();
        row[at] = json!(value);
        let refusal = PredictError::OutOfRange {
            row: 0,
            feature: self.features[at].clone(),
            value,
            bound,
        };
        (row, refusal)
    }
}
