//! KServe's V1 protocol, as its scikit-learn server answers it: `POST
//! /v1/models/{name}:predict` with `{"instances": [...]}` (or `"inputs"`), rows as arrays or
//! objects keyed by feature name, answered `{"predictions": [...]}`: one label per row, or,
//! when the server runs with `PREDICT_PROBA=true`, one row of probabilities in class order.
//! `GET /v1/models/{name}` says whether the model is ready, `GET /v1/models` lists it.

use serde::{Deserialize, Serialize};

use crate::api::seed::{Instances, PredictRequest};
use crate::contract::errors::ApiError;
use crate::inputs::Batch;
use crate::model::{Model, Prediction};

/// `:predict` body: the rows under `instances`, or under `inputs` as KServe also accepts.
/// Other fields are ignored, as KServe's server ignores them.
#[derive(Debug, Deserialize)]
struct V1Request {
    #[serde(alias = "inputs")]
    instances: Instances,
}

/// The `:predict` body, decoded and checked against the model's inputs and the batch limit.
pub fn decode(body: &[u8], model: &Model, max_rows: usize) -> Result<Batch, ApiError> {
    if let Some(columns) = model.columns() {
        return crate::api::cells::v1(body, columns, max_rows).map(Batch::Table);
    }
    let request = match PredictRequest::scan(body) {
        Some(scanned) => scanned,
        None => PredictRequest {
            instances: crate::api::parse_json::<V1Request>(body)?.instances,
        },
    };
    request
        .into_rows(model.features(), max_rows)
        .map(Batch::Rows)
}

/// `:predict` answer.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Predictions<'a> {
    Labels { predictions: Vec<&'a str> },
    Probabilities { predictions: Vec<&'a [f64]> },
}

impl<'a> Predictions<'a> {
    /// Labels, or with `probabilities` each row's probabilities in `classes` order.
    pub fn new(
        predictions: &'a [Prediction],
        classes: &'a [String],
        probabilities: bool,
    ) -> Predictions<'a> {
        if probabilities {
            Predictions::Probabilities {
                predictions: predictions
                    .iter()
                    .map(|p| p.probabilities.as_slice())
                    .collect(),
            }
        } else {
            Predictions::Labels {
                predictions: predictions
                    .iter()
                    .map(|p| classes[p.class].as_str())
                    .collect(),
            }
        }
    }
}

/// `GET /v1/models/{name}` answer.
#[derive(Debug, Serialize)]
pub struct ModelStatus<'a> {
    pub name: &'a str,
    pub ready: bool,
}

/// `GET /v1/models` answer.
#[derive(Debug, Serialize)]
pub struct ModelList<'a> {
    pub models: [&'a str; 1],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        let features = vec!["a".into(), "b".into()];
        Model::binary(features, ["n".into(), "y".into()], vec![1.0, 1.0], 0.0, 0.5)
    }

    #[test]
    fn instances_or_inputs_as_arrays_or_objects() {
        for body in [
            r#"{"instances": [[1, 2], {"b": 4, "a": 3}]}"#,
            r#"{"inputs": [[1, 2], {"a": 3, "b": 4}], "parameters": {}}"#,
        ] {
            let Batch::Rows(rows) = decode(body.as_bytes(), &model(), 10).unwrap() else {
                panic!("a numeric model's batch is rows")
            };
            assert_eq!(rows.iter().collect::<Vec<_>>(), [[1.0, 2.0], [3.0, 4.0]]);
        }
        assert!(decode(br#"{"rows": [[1, 2]]}"#, &model(), 10).is_err());
    }

    #[test]
    fn labels_or_probability_rows() {
        let predictions = [Prediction {
            class: 1,
            probabilities: vec![0.25, 0.75],
        }];
        let classes = ["no".to_owned(), "yes".to_owned()];
        let labels = serde_json::to_string(&Predictions::new(&predictions, &classes, false));
        assert_eq!(labels.unwrap(), r#"{"predictions":["yes"]}"#);
        let rows = serde_json::to_string(&Predictions::new(&predictions, &classes, true));
        assert_eq!(rows.unwrap(), r#"{"predictions":[[0.25,0.75]]}"#);
    }
}
