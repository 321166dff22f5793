//! The Open Inference Protocol (KServe V2) REST messages, as standard clients send them.
//!
//! Infer takes one input tensor of shape `[N, F]` in any float or integer datatype, its data
//! flat or nested, and answers the outputs `label` (BYTES, `[N]`) and `probabilities`
//! (FP64, `[N, C]`). JSON only: the binary tensor extension is not offered.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::api::Number;
use crate::artifact::Artifact;
use crate::contract::errors::{ApiError, TensorError};
use crate::contract::v2::{INPUT, LABEL, PROBABILITIES};
use crate::model::Prediction;
use crate::rows::Rows;

/// `POST /v2/models/{name}/infer` body. Unknown fields are ignored, as the protocol allows
/// extensions to add them.
#[derive(Debug, Deserialize)]
pub struct InferRequest {
    #[serde(default)]
    pub id: Option<String>,
    pub inputs: Vec<InputTensor>,
    #[serde(default)]
    pub outputs: Option<Vec<RequestedOutput>>,
}

/// One input tensor.
#[derive(Debug, Deserialize)]
pub struct InputTensor {
    pub name: String,
    pub shape: Vec<i64>,
    pub datatype: String,
    #[serde(default)]
    pub parameters: Option<TensorParameters>,
    pub data: TensorData,
}

/// The tensor parameters this server looks at.
#[derive(Debug, Default, Deserialize)]
pub struct TensorParameters {
    #[serde(default)]
    pub binary_data: Option<bool>,
    #[serde(default)]
    pub binary_data_size: Option<u64>,
}

/// An output the client asks for.
#[derive(Debug, Deserialize)]
pub struct RequestedOutput {
    pub name: String,
    #[serde(default)]
    pub parameters: Option<TensorParameters>,
}

/// A tensor's elements in row-major order, whether the client nested them or not.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorData(pub Vec<f64>);

/// Which outputs to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outputs {
    pub label: bool,
    pub probabilities: bool,
}

impl InferRequest {
    /// Checks the single input tensor into rows, and the requested outputs.
    pub fn into_rows(
        self,
        features: &[String],
        max_rows: usize,
    ) -> Result<(Option<String>, Rows, Outputs), ApiError> {
        let outputs = requested(self.outputs.as_deref())?;
        let [input] = <[InputTensor; 1]>::try_from(self.inputs).map_err(|inputs| {
            TensorError::InputCount {
                found: inputs.len(),
            }
        })?;
        if input
            .parameters
            .is_some_and(|p| p.binary_data_size.is_some())
        {
            return Err(TensorError::BinaryInput.into());
        }
        let InputTensor {
            name,
            shape,
            datatype,
            data: TensorData(mut data),
            ..
        } = input;
        let Ok([rows, width]) = <[i64; 2]>::try_from(shape.as_slice()) else {
            return Err(TensorError::Rank { input: name, shape }.into());
        };
        let (Ok(rows), Ok(width)) = (usize::try_from(rows), usize::try_from(width)) else {
            return Err(TensorError::Negative { input: name, shape }.into());
        };
        if width != features.len() {
            return Err(ApiError::Width {
                input: name,
                expected: features.len(),
                found: width,
            });
        }
        if rows > max_rows {
            return Err(ApiError::BatchTooLarge {
                rows,
                limit: max_rows,
            });
        }
        if Some(data.len()) != rows.checked_mul(width) {
            return Err(TensorError::DataLength {
                input: name,
                shape,
                needed: rows.saturating_mul(width),
                found: data.len(),
            }
            .into());
        }
        convert(&mut data, &datatype, &name)?;
        Ok((self.id, Rows::from_flat(data, features)?, outputs))
    }
}

/// Narrows values to `datatype`, refusing those it cannot hold.
fn convert(data: &mut [f64], datatype: &str, name: &str) -> Result<(), TensorError> {
    let integer_range = match datatype {
        "FP64" => return Ok(()),
        "FP32" => {
            // The client's values are f32s: read them as such, then widen exactly.
            for v in data.iter_mut() {
                *v = f64::from(*v as f32);
            }
            return Ok(());
        }
        "INT8" => (i8::MIN as f64, i8::MAX as f64),
        "INT16" => (i16::MIN as f64, i16::MAX as f64),
        "INT32" => (i32::MIN as f64, i32::MAX as f64),
        "INT64" => (i64::MIN as f64, i64::MAX as f64),
        "UINT8" => (0.0, u8::MAX as f64),
        "UINT16" => (0.0, u16::MAX as f64),
        "UINT32" => (0.0, u32::MAX as f64),
        "UINT64" => (0.0, u64::MAX as f64),
        other => {
            return Err(TensorError::Datatype {
                input: name.to_owned(),
                datatype: other.to_owned(),
            });
        }
    };
    match data
        .iter()
        .position(|v| v.fract() != 0.0 || !(integer_range.0..=integer_range.1).contains(v))
    {
        Some(element) => Err(TensorError::OutOfType {
            input: name.to_owned(),
            element,
            value: data[element],
            datatype: datatype.to_owned(),
        }),
        None => Ok(()),
    }
}

fn requested(outputs: Option<&[RequestedOutput]>) -> Result<Outputs, TensorError> {
    let Some(outputs) = outputs else {
        return Ok(Outputs {
            label: true,
            probabilities: true,
        });
    };
    let mut selected = Outputs {
        label: false,
        probabilities: false,
    };
    for output in outputs {
        if output.parameters.as_ref().and_then(|p| p.binary_data) == Some(true) {
            return Err(TensorError::BinaryOutput);
        }
        match output.name.as_str() {
            LABEL => selected.label = true,
            PROBABILITIES => selected.probabilities = true,
            other => {
                return Err(TensorError::UnknownOutput {
                    name: other.to_owned(),
                });
            }
        }
    }
    Ok(selected)
}

impl<'de> Deserialize<'de> for TensorData {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TensorData, D::Error> {
        let mut out = Vec::new();
        deserializer.deserialize_seq(Flatten(&mut out))?;
        Ok(TensorData(out))
    }
}

/// Appends every number of a possibly nested array, in order.
struct Flatten<'a>(&'a mut Vec<f64>);

impl<'de> DeserializeSeed<'de> for Flatten<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Flatten<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of numbers, flat or nested")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Flatten(self.0))?.is_some() {}
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.0.push(v);
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.0.push(v as f64);
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.0.push(v as f64);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        let Number(n) = Number::deserialize(de::value::StrDeserializer::<E>::new(v))?;
        self.0.push(n);
        Ok(())
    }
}

/// `POST /v2/models/{name}/infer` answer.
#[derive(Debug, Serialize)]
pub struct InferResponse<'a> {
    pub model_name: &'a str,
    pub model_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub outputs: Vec<OutputTensor<'a>>,
}

/// One output tensor.
#[derive(Debug, Serialize)]
pub struct OutputTensor<'a> {
    pub name: &'static str,
    pub datatype: &'static str,
    pub shape: Vec<usize>,
    pub data: OutputData<'a>,
}

/// Output elements, row-major.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum OutputData<'a> {
    Bytes(Vec<&'a str>),
    Fp64(Vec<f64>),
}

impl<'a> InferResponse<'a> {
    pub fn new(
        artifact: &'a Artifact,
        id: Option<String>,
        predictions: &[Prediction],
        wanted: Outputs,
    ) -> InferResponse<'a> {
        let classes = artifact.model().classes();
        let mut outputs = Vec::with_capacity(2);
        if wanted.label {
            outputs.push(OutputTensor {
                name: LABEL,
                datatype: "BYTES",
                shape: vec![predictions.len()],
                data: OutputData::Bytes(
                    predictions
                        .iter()
                        .map(|p| classes[p.class].as_str())
                        .collect(),
                ),
            });
        }
        if wanted.probabilities {
            outputs.push(OutputTensor {
                name: PROBABILITIES,
                datatype: "FP64",
                shape: vec![predictions.len(), classes.len()],
                data: OutputData::Fp64(
                    predictions
                        .iter()
                        .flat_map(|p| p.probabilities.iter().copied())
                        .collect(),
                ),
            });
        }
        InferResponse {
            model_name: artifact.name(),
            model_version: artifact.version(),
            id,
            outputs,
        }
    }
}

/// `GET /v2` answer.
#[derive(Debug, Serialize)]
pub struct ServerMetadata {
    pub name: &'static str,
    pub version: &'static str,
    pub extensions: [&'static str; 0],
}

/// `GET /v2/models/{name}` answer.
#[derive(Debug, Serialize)]
pub struct ModelMetadata<'a> {
    pub name: &'a str,
    pub versions: [&'a str; 1],
    pub platform: &'static str,
    pub inputs: [TensorMetadata; 1],
    pub outputs: [TensorMetadata; 2],
    /// Not part of the core protocol: the order of the input's columns and of the
    /// probabilities' columns.
    pub parameters: ModelParameters<'a>,
}

/// A tensor's name, datatype and shape; `-1` is a variable dimension.
#[derive(Debug, Serialize)]
pub struct TensorMetadata {
    pub name: &'static str,
    pub datatype: &'static str,
    pub shape: Vec<i64>,
}

#[derive(Debug, Serialize)]
pub struct ModelParameters<'a> {
    pub features: &'a [String],
    pub classes: &'a [String],
}

impl<'a> ModelMetadata<'a> {
    pub fn of(artifact: &'a Artifact) -> ModelMetadata<'a> {
        let model = artifact.model();
        ModelMetadata {
            name: artifact.name(),
            versions: [artifact.version()],
            platform: "linfa-logistic",
            inputs: [TensorMetadata {
                name: INPUT,
                datatype: "FP64",
                shape: vec![-1, model.features().len() as i64],
            }],
            outputs: [
                TensorMetadata {
                    name: LABEL,
                    datatype: "BYTES",
                    shape: vec![-1],
                },
                TensorMetadata {
                    name: PROBABILITIES,
                    datatype: "FP64",
                    shape: vec![-1, model.classes().len() as i64],
                },
            ],
            parameters: ModelParameters {
                features: model.features(),
                classes: model.classes(),
            },
        }
    }
}

/// `GET /v2/models/{name}/ready` answer.
#[derive(Debug, Serialize)]
pub struct ModelReady<'a> {
    pub name: &'a str,
    pub ready: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("f{i}")).collect()
    }

    fn request(json: &str) -> InferRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn flat_and_nested_data_give_the_same_rows() {
        let flat = r#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP64","data":[1,2,3,4]}]}"#;
        let nested =
            r#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP64","data":[[1,2],[3,4]]}]}"#;
        let (_, a, _) = request(flat).into_rows(&names(2), 10).unwrap();
        let (_, b, _) = request(nested).into_rows(&names(2), 10).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn fp32_values_are_read_as_f32() {
        let json = r#"{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[0.1]}]}"#;
        let (_, rows, _) = request(json).into_rows(&names(1), 10).unwrap();
        assert_eq!(rows.iter().next().unwrap()[0], f64::from(0.1f32));
    }

    #[test]
    fn integer_types_refuse_fractions_and_overflow() {
        for (datatype, value) in [("INT32", "1.5"), ("UINT8", "256"), ("UINT8", "-1")] {
            let json = format!(
                r#"{{"inputs":[{{"name":"x","shape":[1,1],"datatype":"{datatype}","data":[{value}]}}]}}"#
            );
            let err = request(&json).into_rows(&names(1), 10).unwrap_err();
            assert!(
                matches!(err, ApiError::Tensor(TensorError::OutOfType { .. })),
                "{datatype} {value}: {err:?}"
            );
        }
    }

    #[test]
    fn shape_must_match_the_data_and_the_features() {
        let cases = [
            r#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP64","data":[1,2,3]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[4],"datatype":"FP64","data":[1,2,3,4]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[-1,2],"datatype":"FP64","data":[1,2]}]}"#,
            r#"{"inputs":[{"name":"x","shape":[1,2],"datatype":"BYTES","data":[1,2]}]}"#,
            r#"{"inputs":[]}"#,
        ];
        for json in cases {
            assert!(request(json).into_rows(&names(2), 10).is_err(), "{json}");
        }
        let three = r#"{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP64","data":[1,2,3]}]}"#;
        assert!(matches!(
            request(three).into_rows(&names(2), 10),
            Err(ApiError::Width {
                expected: 2,
                found: 3,
                ..
            })
        ));
    }

    #[test]
    fn outputs_select_and_unknown_outputs_are_refused() {
        let json = r#"{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP64","data":[1]}],
                       "outputs":[{"name":"probabilities"}]}"#;
        let (_, _, outputs) = request(json).into_rows(&names(1), 10).unwrap();
        assert_eq!(
            outputs,
            Outputs {
                label: false,
                probabilities: true
            }
        );
        let json = r#"{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP64","data":[1]}],
                       "outputs":[{"name":"logits"}]}"#;
        assert!(request(json).into_rows(&names(1), 10).is_err());
    }
}
