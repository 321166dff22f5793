//! The infer request's JSON: its fields and parameters as the protocol types them, the
//! outputs asked for, and tensor data read flat from any nesting.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};

use crate::api::Number;
use crate::contract::errors::TensorError;
use crate::contract::v2::{EXACT_INTEGERS, LABEL, PREDICT, PREDICT_PROBA, PROBABILITIES};

/// `POST /v2/models/{name}/infer` body. Unknown fields are ignored, as the protocol allows
/// extensions to add them; a field this server reads may be absent, never `null` or of another
/// type than the protocol's.
#[derive(Debug, Deserialize)]
pub struct InferRequest {
    #[serde(default, deserialize_with = "present")]
    pub id: Option<String>,
    pub inputs: Vec<InputTensor>,
    #[serde(default, deserialize_with = "present")]
    pub outputs: Option<Vec<RequestedOutput>>,
    #[serde(default, deserialize_with = "present")]
    pub parameters: Option<RequestParameters>,
}

/// An optional field that, when present, must be a `T` (not `null`).
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// A parameters object: only a JSON object, whose fields this server reads must have their
/// protocol types.
type Parameters = serde_json::Map<String, serde_json::Value>;

fn flag(parameters: &Parameters, key: &str) -> Result<Option<bool>, String> {
    match parameters.get(key) {
        None => Ok(None),
        Some(serde_json::Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(format!("parameters.{key} is {other}, not a boolean")),
    }
}

/// The request parameters this server looks at.
#[derive(Debug, Default, Deserialize)]
#[serde(try_from = "Parameters")]
pub struct RequestParameters {
    /// Every output binary, unless an output says otherwise: what `tritonclient` asks when
    /// it names no outputs.
    pub binary_data_output: Option<bool>,
}

impl TryFrom<Parameters> for RequestParameters {
    type Error = String;

    fn try_from(parameters: Parameters) -> Result<RequestParameters, String> {
        Ok(RequestParameters {
            binary_data_output: flag(&parameters, "binary_data_output")?,
        })
    }
}

/// One input tensor.
#[derive(Debug, Deserialize)]
pub struct InputTensor {
    pub name: String,
    pub shape: Vec<i64>,
    pub datatype: String,
    #[serde(default, deserialize_with = "present")]
    pub parameters: Option<TensorParameters>,
    /// Absent when the tensor's bytes follow the JSON header (`binary_data_size`).
    #[serde(default, deserialize_with = "present")]
    pub data: Option<TensorData>,
}

/// The tensor parameters this server looks at.
#[derive(Debug, Default, Deserialize)]
#[serde(try_from = "Parameters")]
pub struct TensorParameters {
    pub binary_data: Option<bool>,
    pub binary_data_size: Option<u64>,
}

impl TryFrom<Parameters> for TensorParameters {
    type Error = String;

    fn try_from(parameters: Parameters) -> Result<TensorParameters, String> {
        let binary_data_size = match parameters.get("binary_data_size") {
            None => None,
            Some(size) => Some(size.as_u64().ok_or_else(|| {
                format!("parameters.binary_data_size is {size}, not a byte count")
            })?),
        };
        Ok(TensorParameters {
            binary_data: flag(&parameters, "binary_data")?,
            binary_data_size,
        })
    }
}

/// An output the client asks for.
#[derive(Debug, Deserialize)]
pub struct RequestedOutput {
    pub name: String,
    #[serde(default, deserialize_with = "present")]
    pub parameters: Option<TensorParameters>,
}

/// A tensor's elements in row-major order, whether the client nested them or not.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorData {
    pub values: Vec<f64>,
    /// The first element given as an integer beyond ±2^53, which a double cannot hold exactly:
    /// refused for the 64-bit integer datatypes, whose range check would see it rounded.
    pub beyond_exact: Option<usize>,
}

/// How an output is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Binary,
}

/// One output to return: how, and under which of its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    pub encoding: Encoding,
    pub name: &'static str,
}

/// Which outputs to return, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outputs {
    pub label: Option<Output>,
    pub probabilities: Option<Output>,
}

/// The outputs asked for, each binary when it says so, or when the request makes binary the
/// default and it does not say otherwise; every output when none is named.
pub(crate) fn requested(
    outputs: Option<&[RequestedOutput]>,
    binary_default: bool,
) -> Result<Outputs, TensorError> {
    let encoding = |binary: Option<bool>| match binary.unwrap_or(binary_default) {
        true => Encoding::Binary,
        false => Encoding::Json,
    };
    let Some(outputs) = outputs else {
        return Ok(Outputs {
            label: Some(Output {
                encoding: encoding(None),
                name: LABEL,
            }),
            probabilities: Some(Output {
                encoding: encoding(None),
                name: PROBABILITIES,
            }),
        });
    };
    let mut selected = Outputs {
        label: None,
        probabilities: None,
    };
    for output in outputs {
        let encoding = encoding(output.parameters.as_ref().and_then(|p| p.binary_data));
        let chosen = |name| Some(Output { encoding, name });
        match output.name.as_str() {
            LABEL => selected.label = chosen(LABEL),
            PREDICT => selected.label = chosen(PREDICT),
            PROBABILITIES => selected.probabilities = chosen(PROBABILITIES),
            PREDICT_PROBA => selected.probabilities = chosen(PREDICT_PROBA),
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
        let mut out = TensorData {
            values: Vec::new(),
            beyond_exact: None,
        };
        deserializer.deserialize_seq(Flatten(&mut out))?;
        Ok(out)
    }
}

/// Appends every number of a possibly nested array, in order.
struct Flatten<'a>(&'a mut TensorData);

impl Flatten<'_> {
    fn integer(self, v: f64, magnitude: u64) {
        if magnitude > EXACT_INTEGERS {
            self.0.beyond_exact.get_or_insert(self.0.values.len());
        }
        self.0.values.push(v);
    }
}

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
        self.0.values.push(v);
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.integer(v as f64, v.unsigned_abs());
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.integer(v as f64, v);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        let Number(n) = Number::deserialize(de::value::StrDeserializer::<E>::new(v))?;
        self.0.values.push(n);
        Ok(())
    }
}
