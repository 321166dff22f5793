//! The seed API: `POST /predict` with rows as arrays or as objects keyed by feature name, and
//! `GET /model`.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::api::Number;
use crate::artifact::{Artifact, Origin, Training};
use crate::contract::errors::{ApiError, RowProblem};
use crate::contract::limits::Limits;
use crate::model::Prediction;
use crate::rows::{InputError, Rows};

/// `POST /predict` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    pub instances: Vec<Instance>,
}

/// One row: values in feature order, or values keyed by feature name.
#[derive(Debug, Clone, PartialEq)]
pub enum Instance {
    Values(Vec<Number>),
    Named(Vec<(String, Number)>),
}

impl PredictRequest {
    /// Checks the batch against the model's features and the batch limit.
    pub fn into_rows(self, features: &[String], max_rows: usize) -> Result<Rows, ApiError> {
        if self.instances.len() > max_rows {
            return Err(ApiError::BatchTooLarge {
                rows: self.instances.len(),
                limit: max_rows,
            });
        }
        let mut values = Vec::with_capacity(self.instances.len() * features.len());
        for (row, instance) in self.instances.into_iter().enumerate() {
            match instance {
                Instance::Values(v) => {
                    if v.len() != features.len() {
                        return Err(ApiError::Input(InputError::Width {
                            row,
                            expected: features.len(),
                            found: v.len(),
                        }));
                    }
                    values.extend(v.into_iter().map(|n| n.0));
                }
                Instance::Named(pairs) => values.extend(by_name(row, pairs, features)?),
            }
        }
        Ok(Rows::from_flat(values, features)?)
    }
}

/// Orders a row's named values by the model's features.
fn by_name(
    row: usize,
    pairs: Vec<(String, Number)>,
    features: &[String],
) -> Result<Vec<f64>, ApiError> {
    let refuse = |problem| ApiError::Row { row, problem };
    let mut values: Vec<Option<f64>> = vec![None; features.len()];
    for (name, value) in pairs {
        let Some(i) = features.iter().position(|f| *f == name) else {
            return Err(refuse(RowProblem::UnknownFeature {
                name,
                expected: features.to_vec(),
            }));
        };
        if values[i].replace(value.0).is_some() {
            return Err(refuse(RowProblem::Repeated(name)));
        }
    }
    values
        .into_iter()
        .zip(features)
        .map(|(v, name)| v.ok_or_else(|| refuse(RowProblem::Missing(name.clone()))))
        .collect()
}

impl<'de> Deserialize<'de> for Instance {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Instance, D::Error> {
        deserializer.deserialize_any(InstanceVisitor)
    }
}

struct InstanceVisitor;

impl<'de> Visitor<'de> for InstanceVisitor {
    type Value = Instance;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of numbers or an object of feature values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Instance, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(16));
        while let Some(v) = seq.next_element()? {
            values.push(v);
        }
        Ok(Instance::Values(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Instance, A::Error> {
        let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(pair) = map.next_entry()? {
            pairs.push(pair);
        }
        Ok(Instance::Named(pairs))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Instance, E> {
        Err(E::invalid_type(de::Unexpected::Unit, &self))
    }
}

/// `POST /predict` answer.
#[derive(Debug, Serialize)]
pub struct PredictResponse<'a> {
    pub model: ModelRef<'a>,
    pub predictions: Vec<PredictionBody<'a>>,
}

/// Which artifact answered.
#[derive(Debug, Serialize)]
pub struct ModelRef<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub artifact_sha256: &'a str,
}

/// One row's answer: the label and a probability per class, in class order.
#[derive(Debug)]
pub struct PredictionBody<'a> {
    classes: &'a [String],
    prediction: Prediction,
}

impl Serialize for PredictionBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Probabilities<'a>(&'a [String], &'a [f64]);
        impl Serialize for Probabilities<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (class, p) in self.0.iter().zip(self.1) {
                    map.serialize_entry(class, p)?;
                }
                map.end()
            }
        }
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("label", &self.classes[self.prediction.class])?;
        map.serialize_entry(
            "probabilities",
            &Probabilities(self.classes, &self.prediction.probabilities),
        )?;
        map.end()
    }
}

impl<'a> PredictResponse<'a> {
    pub fn new(artifact: &'a Artifact, predictions: Vec<Prediction>) -> PredictResponse<'a> {
        let classes = artifact.model().classes();
        PredictResponse {
            model: ModelRef::of(artifact),
            predictions: predictions
                .into_iter()
                .map(|prediction| PredictionBody {
                    classes,
                    prediction,
                })
                .collect(),
        }
    }
}

impl<'a> ModelRef<'a> {
    pub fn of(artifact: &'a Artifact) -> ModelRef<'a> {
        ModelRef {
            name: artifact.name(),
            version: artifact.version(),
            artifact_sha256: artifact.sha256(),
        }
    }
}

/// `GET /model` answer: everything a client needs to build a request, stay within the limits
/// and audit the model.
#[derive(Debug, Serialize)]
pub struct ModelResponse<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub kind: &'a str,
    pub features: &'a [String],
    pub classes: &'a [String],
    pub artifact_sha256: &'a str,
    /// Trained here or imported; `null` for a format 1 artifact.
    pub origin: Option<&'a Origin>,
    /// `null` for an imported model.
    pub training: Option<&'a Training>,
    pub limits: Limits,
}

impl<'a> ModelResponse<'a> {
    pub fn of(artifact: &'a Artifact, limits: Limits) -> ModelResponse<'a> {
        let model = artifact.model();
        ModelResponse {
            name: artifact.name(),
            version: artifact.version(),
            kind: model.kind().as_str(),
            features: model.features(),
            classes: model.classes(),
            artifact_sha256: artifact.sha256(),
            origin: artifact.origin(),
            training: artifact.training(),
            limits,
        }
    }
}
