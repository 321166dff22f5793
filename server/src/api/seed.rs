//! The seed API: `POST /predict` with rows as arrays or as objects keyed by feature name, and
//! `GET /model`.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::api::Number;
use crate::api::scan;
use crate::artifact::{Artifact, Origin, Training};
use crate::contract::errors::{ApiError, RowProblem};
use crate::contract::limits::Limits;
use crate::inputs::{Batch, FeatureDescription};
use crate::model::{Model, Prediction};
use crate::rows::{InputError, Rows};

/// `POST /predict` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    pub instances: Instances,
}

/// The rows of a batch as they arrived. The values of array rows land in one buffer, in order,
/// as they are parsed: one allocation per batch rather than one per row, and in the common case
/// (every row an array of the right width) the buffer becomes the checked batch without a copy.
#[derive(Debug, Default)]
pub struct Instances {
    values: Vec<f64>,
    rows: Vec<Shape>,
}

/// One row: how many of [`Instances::values`] it holds, or values keyed by feature name.
#[derive(Debug)]
enum Shape {
    Values(usize),
    Named(Vec<(String, Number)>),
}

/// The `/predict` body, decoded and checked against the model's inputs and the batch limit.
pub fn decode(body: &[u8], model: &Model, max_rows: usize) -> Result<Batch, ApiError> {
    if let Some(columns) = model.columns() {
        return crate::api::cells::seed(body, columns, max_rows).map(Batch::Table);
    }
    let request = match PredictRequest::scan(body) {
        Some(scanned) => scanned,
        None => crate::api::parse_json::<PredictRequest>(body)?,
    };
    request
        .into_rows(model.features(), max_rows)
        .map(Batch::Rows)
}

impl PredictRequest {
    /// Reads the common body, rows as arrays of numbers and nothing else, in one pass;
    /// `None` for any other body, which then goes to the general parser.
    pub fn scan(body: &[u8]) -> Option<PredictRequest> {
        let scan::Arrays { values, widths } = scan::instances(body)?;
        Some(PredictRequest {
            instances: Instances {
                values,
                rows: widths.into_iter().map(Shape::Values).collect(),
            },
        })
    }

    /// Checks the batch against the model's features and the batch limit.
    pub fn into_rows(self, features: &[String], max_rows: usize) -> Result<Rows, ApiError> {
        let Instances { values, rows } = self.instances;
        if rows.len() > max_rows {
            return Err(ApiError::BatchTooLarge {
                rows: rows.len(),
                limit: max_rows,
            });
        }
        let width = features.len();
        if rows
            .iter()
            .all(|r| matches!(r, Shape::Values(n) if *n == width))
        {
            return Ok(Rows::from_flat(values, features)?);
        }
        let mut ordered = Vec::with_capacity(rows.len() * width);
        let mut next = 0;
        for (row, shape) in rows.into_iter().enumerate() {
            match shape {
                Shape::Values(found) => {
                    if found != width {
                        return Err(ApiError::Input(InputError::Width {
                            row,
                            expected: width,
                            found,
                        }));
                    }
                    ordered.extend_from_slice(&values[next..next + found]);
                    next += found;
                }
                Shape::Named(pairs) => ordered.extend(by_name(row, pairs, features)?),
            }
        }
        Ok(Rows::from_flat(ordered, features)?)
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

impl<'de> Deserialize<'de> for Instances {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Instances, D::Error> {
        deserializer.deserialize_seq(InstancesVisitor)
    }
}

struct InstancesVisitor;

impl<'de> Visitor<'de> for InstancesVisitor {
    type Value = Instances;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Instances, A::Error> {
        let mut instances = Instances::default();
        while let Some(shape) = seq.next_element_seed(Row {
            values: &mut instances.values,
        })? {
            instances.rows.push(shape);
        }
        Ok(instances)
    }
}

/// Parses one row, appending an array row's values to the batch's buffer.
struct Row<'a> {
    values: &'a mut Vec<f64>,
}

impl<'de> DeserializeSeed<'de> for Row<'_> {
    type Value = Shape;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Shape, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Row<'_> {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of numbers or an object of feature values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let start = self.values.len();
        while let Some(Number(v)) = seq.next_element()? {
            self.values.push(v);
        }
        Ok(Shape::Values(self.values.len() - start))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(pair) = map.next_entry()? {
            pairs.push(pair);
        }
        Ok(Shape::Named(pairs))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Shape, E> {
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

impl PredictResponse<'_> {
    /// Appends the answer to `out`: the same bytes as serializing it with serde_json, with
    /// each class name escaped once per answer rather than once per row and probability.
    pub fn encode(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(b"{\"model\":");
        serde_json::to_writer(&mut *out, &self.model)?;
        out.extend_from_slice(b",\"predictions\":[");
        // Every row answers with the same classes.
        let classes = self
            .predictions
            .first()
            .map_or(&[][..], |body| body.classes);
        let keys: Vec<Vec<u8>> = classes
            .iter()
            .map(serde_json::to_vec)
            .collect::<Result<_, _>>()?;
        for (i, body) in self.predictions.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let Prediction {
                class,
                probabilities,
            } = &body.prediction;
            out.extend_from_slice(b"{\"label\":");
            out.extend_from_slice(&keys[*class]);
            out.extend_from_slice(b",\"probabilities\":{");
            for (j, (key, p)) in keys.iter().zip(probabilities).enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(key);
                out.push(b':');
                serde_json::to_writer(&mut *out, p)?;
            }
            out.extend_from_slice(b"}}");
        }
        out.extend_from_slice(b"]}");
        Ok(())
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
    /// Each feature's kind, categories and what it accepts, for a model with column blocks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<FeatureDescription<'a>>>,
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
            inputs: model
                .columns()
                .map(|c| c.features().iter().map(|f| f.describe()).collect()),
            classes: model.classes(),
            artifact_sha256: artifact.sha256(),
            origin: artifact.origin(),
            training: artifact.training(),
            limits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_an_answer_as_serde_json_does() {
        let classes: Vec<String> = ["3", "quote\"d", "ünï\\code\n"].map(String::from).to_vec();
        let rows = [
            (0, vec![0.5, 0.25, 0.25]),
            (2, vec![1e-300, 0.1 + 0.2, f64::MIN_POSITIVE]),
            (1, vec![f64::NAN, 1.0, 0.0]),
        ];
        let response = PredictResponse {
            model: ModelRef {
                name: "wine \"red\"",
                version: "1",
                artifact_sha256: "ab",
            },
            predictions: rows
                .into_iter()
                .map(|(class, probabilities)| PredictionBody {
                    classes: &classes,
                    prediction: Prediction {
                        class,
                        probabilities,
                    },
                })
                .collect(),
        };
        let mut encoded = b"prefix".to_vec();
        response.encode(&mut encoded).unwrap();
        let expected = serde_json::to_vec(&response).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&encoded[6..]),
            String::from_utf8_lossy(&expected)
        );
        let empty = PredictResponse {
            predictions: vec![],
            ..response
        };
        let mut encoded = vec![];
        empty.encode(&mut encoded).unwrap();
        assert_eq!(encoded, serde_json::to_vec(&empty).unwrap());
    }
}
