//! The Open Inference Protocol (KServe V2) REST messages, as standard clients send them.
//!
//! Infer takes one input tensor of shape `[N, F]` in any float or integer datatype, its data
//! flat or nested JSON or binary, or one input per feature named as the feature, each `[N]` or
//! `[N, 1]` (MLServer's pandas codec), and answers the outputs `label` (BYTES, `[N]`) and
//! `probabilities` (FP64, `[N, C]`), or the same under MLServer's names `predict` and
//! `predict_proba` when asked by those, each as JSON or binary as the client asks (the binary
//! tensor data extension, [`binary`](crate::api::binary)).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::api::Number;
use crate::api::binary;
use crate::artifact::Artifact;
use crate::contract::errors::{ApiError, TensorError};
use crate::contract::v2::{INPUT, LABEL, PREDICT, PREDICT_PROBA, PROBABILITIES};
use crate::inputs::Batch;
use crate::model::{Model, Prediction};
use crate::rows::Rows;

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

/// A checked infer request: what the model is asked, and how to answer.
#[derive(Debug)]
pub struct Inference {
    pub id: Option<String>,
    pub batch: Batch,
    pub outputs: Outputs,
}

/// The V2 infer body, decoded and checked: its JSON `header` and the binary tensor bytes
/// after it (empty without the binary extension).
pub fn decode(
    header: &[u8],
    binary: &[u8],
    model: &Model,
    max_rows: usize,
) -> Result<Inference, ApiError> {
    if let Some(columns) = model.columns() {
        return crate::api::cells::v2(header, binary, columns, max_rows);
    }
    crate::api::parse_json::<InferRequest>(header)?.into_rows(model.features(), max_rows, binary)
}

impl InferRequest {
    /// Checks the single input tensor into rows, and the requested outputs. `binary` is what
    /// followed the JSON header (empty for a JSON-only request): the bytes of the tensors
    /// that give a `binary_data_size`.
    pub fn into_rows(
        self,
        features: &[String],
        max_rows: usize,
        binary: &[u8],
    ) -> Result<Inference, ApiError> {
        let binary_default = self
            .parameters
            .as_ref()
            .and_then(|p| p.binary_data_output)
            .unwrap_or(false);
        let outputs = requested(self.outputs.as_deref(), binary_default)?;
        // One input per feature when the inputs name features; a single one only when it
        // cannot be the [N, F] tensor.
        let names_features = self.inputs.iter().any(|i| features.contains(&i.name));
        let by_feature = match self.inputs.as_slice() {
            [one] => names_features && (features.len() > 1 || one.shape.len() == 1),
            _ => names_features,
        };
        let rows = if by_feature {
            columns(self.inputs, features, max_rows, binary)?
        } else {
            let [input] = <[InputTensor; 1]>::try_from(self.inputs).map_err(|inputs| {
                TensorError::InputCount {
                    found: inputs.len(),
                }
            })?;
            matrix(input, features, max_rows, binary)?
        };
        Ok(Inference {
            id: self.id,
            batch: Batch::Rows(rows),
            outputs,
        })
    }
}

/// One `[N, F]` tensor into rows.
fn matrix(
    input: InputTensor,
    features: &[String],
    max_rows: usize,
    binary: &[u8],
) -> Result<Rows, ApiError> {
    let binary_size = input.parameters.as_ref().and_then(|p| p.binary_data_size);
    let InputTensor {
        name,
        shape,
        datatype,
        data,
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
    let data = elements(&name, &shape, &datatype, data, binary_size, binary)?;
    if Some(data.len()) != rows.checked_mul(width) {
        return Err(TensorError::DataLength {
            input: name,
            shape,
            needed: rows.saturating_mul(width),
            found: data.len(),
        }
        .into());
    }
    Ok(Rows::from_flat(data, features)?)
}

/// One input per feature, named as the feature, each a column of `[N]` or `[N, 1]` values in
/// any order, into rows in feature order. Binary inputs take their bytes in input order.
fn columns(
    inputs: Vec<InputTensor>,
    features: &[String],
    max_rows: usize,
    binary: &[u8],
) -> Result<Rows, ApiError> {
    binary_total(
        inputs
            .iter()
            .map(|i| i.parameters.as_ref().and_then(|p| p.binary_data_size)),
        binary,
    )?;
    let mut columns: Vec<Option<Vec<f64>>> = vec![None; features.len()];
    let mut first: Option<(String, usize)> = None;
    let mut offset = 0;
    for input in inputs {
        let Some(at) = features.iter().position(|f| *f == input.name) else {
            return Err(TensorError::UnknownInput {
                input: input.name,
                expected: features.to_vec(),
            }
            .into());
        };
        let size = input.parameters.as_ref().and_then(|p| p.binary_data_size);
        let InputTensor {
            name,
            shape,
            datatype,
            data,
            ..
        } = input;
        let rows = match shape.as_slice() {
            [n] | [n, 1] => usize::try_from(*n).map_err(|_| TensorError::Negative {
                input: name.clone(),
                shape: shape.clone(),
            })?,
            _ => return Err(TensorError::ColumnShape { input: name, shape }.into()),
        };
        if rows > max_rows {
            return Err(ApiError::BatchTooLarge {
                rows,
                limit: max_rows,
            });
        }
        match &first {
            None => first = Some((name.clone(), rows)),
            Some((first, expected)) if *expected != rows => {
                return Err(TensorError::InputLengths {
                    input: name,
                    rows,
                    first: first.clone(),
                    expected: *expected,
                }
                .into());
            }
            Some(_) => {}
        }
        let bytes = match size {
            Some(size) => {
                let end = offset + size as usize;
                let bytes = &binary[offset..end];
                offset = end;
                bytes
            }
            None => &[][..],
        };
        let values = elements(&name, &shape, &datatype, data, size, bytes)?;
        if values.len() != rows {
            return Err(TensorError::DataLength {
                input: name,
                shape,
                needed: rows,
                found: values.len(),
            }
            .into());
        }
        if columns[at].replace(values).is_some() {
            return Err(TensorError::RepeatedInput { input: name }.into());
        }
    }
    let columns: Vec<Vec<f64>> = columns
        .into_iter()
        .zip(features)
        .map(|(c, feature)| {
            c.ok_or_else(|| TensorError::MissingInput {
                feature: feature.clone(),
            })
        })
        .collect::<Result<_, _>>()?;
    let rows = first.map_or(0, |(_, n)| n);
    let flat = (0..rows)
        .flat_map(|r| columns.iter().map(move |c| c[r]))
        .collect();
    Ok(Rows::from_flat(flat, features)?)
}

/// Refuses binary data whose length is not the sum of the inputs' `binary_data_size`s.
pub(crate) fn binary_total(
    sizes: impl Iterator<Item = Option<u64>>,
    binary: &[u8],
) -> Result<(), TensorError> {
    let declared = sizes
        .flatten()
        .try_fold(0u64, u64::checked_add)
        .unwrap_or(u64::MAX);
    if declared == binary.len() as u64 {
        Ok(())
    } else {
        Err(TensorError::BinaryTotal {
            declared,
            found: binary.len(),
        })
    }
}

/// A tensor's elements, from its JSON `data` or its binary bytes (`binary`, which must be all
/// the tensor's), each narrowed to its datatype.
fn elements(
    name: &str,
    shape: &[i64],
    datatype: &str,
    data: Option<TensorData>,
    binary_size: Option<u64>,
    binary: &[u8],
) -> Result<Vec<f64>, ApiError> {
    let mut data = match (data, binary_size) {
        (Some(_), Some(_)) => {
            return Err(TensorError::BinaryAndData {
                input: name.to_owned(),
            }
            .into());
        }
        (None, None) => {
            return Err(TensorError::NoData {
                input: name.to_owned(),
            }
            .into());
        }
        (
            Some(TensorData {
                values: data,
                beyond_exact,
            }),
            None,
        ) => {
            if let Some(element) = beyond_exact {
                exact(name, datatype, element, data[element])?;
            }
            if !binary.is_empty() {
                return Err(TensorError::BinaryTotal {
                    declared: 0,
                    found: binary.len(),
                }
                .into());
            }
            data
        }
        (None, Some(size)) => {
            let Some(element) = binary::element_size(datatype) else {
                return Err(TensorError::Datatype {
                    input: name.to_owned(),
                    datatype: datatype.to_owned(),
                }
                .into());
            };
            let expected = shape
                .iter()
                .try_fold(element, |acc, d| {
                    usize::try_from(*d).ok().map(|d| acc.saturating_mul(d))
                })
                .unwrap_or(usize::MAX);
            if size != expected as u64 {
                return Err(TensorError::BinarySize {
                    input: name.to_owned(),
                    size,
                    shape: shape.to_vec(),
                    datatype: datatype.to_owned(),
                    expected,
                }
                .into());
            }
            if size != binary.len() as u64 {
                return Err(TensorError::BinaryTotal {
                    declared: size,
                    found: binary.len(),
                }
                .into());
            }
            if let Some(element) = binary::first_beyond_exact(binary, datatype) {
                exact(
                    name,
                    datatype,
                    element,
                    binary::values(binary, datatype)[element],
                )?;
            }
            binary::values(binary, datatype)
        }
    };
    convert(&mut data, datatype, name)?;
    Ok(data)
}

/// Refuses a 64-bit integer element beyond ±2^53: its range would be checked on a rounded
/// value.
fn exact(name: &str, datatype: &str, element: usize, value: f64) -> Result<(), ApiError> {
    if matches!(datatype, "INT64" | "UINT64") {
        return Err(TensorError::OutOfType {
            input: name.to_owned(),
            element,
            value,
            datatype: datatype.to_owned(),
        }
        .into());
    }
    Ok(())
}

/// The largest magnitude of an INT64 or UINT64 element: 2^53, up to which a double holds every
/// integer, so that the range is checked on the value the client sent.
pub const LARGEST_INT64: f64 = EXACT_INTEGERS as f64;
/// See [`LARGEST_INT64`].
pub const LARGEST_UINT64: f64 = EXACT_INTEGERS as f64;

/// Narrows values to `datatype`, refusing those it cannot hold.
pub(crate) fn convert(data: &mut [f64], datatype: &str, name: &str) -> Result<(), TensorError> {
    let integer_range = match datatype {
        "FP64" => return Ok(()),
        "FP32" => {
            // Beyond f32's largest value a narrowing would round it back in, or to infinity.
            let largest = f64::from(f32::MAX);
            if let Some(element) = data.iter().position(|v| v.abs() > largest) {
                return Err(TensorError::OutOfType {
                    input: name.to_owned(),
                    element,
                    value: data[element],
                    datatype: datatype.to_owned(),
                });
            }
            // The client's values are f32s: read them as such, then widen exactly.
            for v in data.iter_mut() {
                *v = f64::from(*v as f32);
            }
            return Ok(());
        }
        "INT8" => (i8::MIN as f64, i8::MAX as f64),
        "INT16" => (i16::MIN as f64, i16::MAX as f64),
        "INT32" => (i32::MIN as f64, i32::MAX as f64),
        // Values are doubles here: the 64-bit types stop where doubles stop holding every
        // integer.
        "INT64" => (-LARGEST_INT64, LARGEST_INT64),
        "UINT8" => (0.0, u8::MAX as f64),
        "UINT16" => (0.0, u16::MAX as f64),
        "UINT32" => (0.0, u32::MAX as f64),
        "UINT64" => (0.0, LARGEST_UINT64),
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

/// 2^53: every integer up to it is a double; beyond, some are not.
const EXACT_INTEGERS: u64 = 1 << 53;

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

/// `POST /v2/models/{name}/infer` answer: the JSON header, and the bytes of its binary outputs
/// after it.
#[derive(Debug, Serialize)]
pub struct InferResponse<'a> {
    pub model_name: &'a str,
    pub model_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub outputs: Vec<OutputTensor<'a>>,
    /// The binary outputs' bytes, in output order; sent after the JSON header.
    #[serde(skip)]
    pub binary: Vec<u8>,
}

/// One output tensor: its data in the JSON, or its size here and its bytes after the JSON.
#[derive(Debug, Serialize)]
pub struct OutputTensor<'a> {
    pub name: &'static str,
    pub datatype: &'static str,
    pub shape: Vec<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<BinaryParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<OutputData<'a>>,
}

/// The size of an output's bytes after the JSON header.
#[derive(Debug, Serialize)]
pub struct BinaryParameters {
    pub binary_data_size: usize,
}

/// An encoded infer answer.
#[derive(Debug)]
pub struct Encoded {
    pub body: Vec<u8>,
    /// The JSON header's length, when binary outputs follow it.
    pub header_length: Option<usize>,
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
        let labels = || predictions.iter().map(|p| classes[p.class].as_str());
        let probabilities = || {
            predictions
                .iter()
                .flat_map(|p| p.probabilities.iter().copied())
        };
        let mut outputs = Vec::with_capacity(2);
        let mut binary = Vec::new();
        let mut output = |name,
                          datatype,
                          shape,
                          encoding,
                          json: &dyn Fn() -> OutputData<'a>,
                          put: &dyn Fn(&mut Vec<u8>)| {
            let (parameters, data) = match encoding {
                Encoding::Json => (None, Some(json())),
                Encoding::Binary => {
                    let start = binary.len();
                    put(&mut binary);
                    let binary_data_size = binary.len() - start;
                    (Some(BinaryParameters { binary_data_size }), None)
                }
            };
            outputs.push(OutputTensor {
                name,
                datatype,
                shape,
                parameters,
                data,
            });
        };
        if let Some(Output { encoding, name }) = wanted.label {
            output(
                name,
                "BYTES",
                vec![predictions.len()],
                encoding,
                &|| OutputData::Bytes(labels().collect()),
                &|out| binary::put_bytes(out, labels()),
            );
        }
        if let Some(Output { encoding, name }) = wanted.probabilities {
            output(
                name,
                "FP64",
                vec![predictions.len(), classes.len()],
                encoding,
                &|| OutputData::Fp64(probabilities().collect()),
                &|out| binary::put_f64(out, probabilities()),
            );
        }
        InferResponse {
            model_name: artifact.name(),
            model_version: artifact.version(),
            id,
            outputs,
            binary,
        }
    }

    /// The JSON header, then the binary outputs' bytes if any.
    pub fn encode(self) -> serde_json::Result<Encoded> {
        let mut body = Vec::with_capacity(1024 + self.binary.len());
        serde_json::to_writer(&mut body, &self)?;
        let any_binary = self.outputs.iter().any(|o| o.parameters.is_some());
        let header_length = any_binary.then_some(body.len());
        body.extend_from_slice(&self.binary);
        Ok(Encoded {
            body,
            header_length,
        })
    }
}

/// `GET /v2` answer.
#[derive(Debug, Serialize)]
pub struct ServerMetadata {
    pub name: &'static str,
    pub version: &'static str,
    pub extensions: &'static [&'static str],
}

/// `GET /v2/models/{name}` answer.
#[derive(Debug, Serialize)]
pub struct ModelMetadata<'a> {
    pub name: &'a str,
    pub versions: [&'a str; 1],
    pub platform: &'static str,
    pub inputs: Vec<TensorMetadata<'a>>,
    pub outputs: [TensorMetadata<'a>; 2],
    /// Not part of the core protocol: the order of the input's columns and of the
    /// probabilities' columns.
    pub parameters: ModelParameters<'a>,
}

/// A tensor's name, datatype and shape; `-1` is a variable dimension.
#[derive(Debug, Serialize)]
pub struct TensorMetadata<'a> {
    pub name: &'a str,
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
            // A model with column blocks takes one input per feature, as MLServer's pandas
            // codec sends them.
            inputs: match model.columns() {
                None => vec![TensorMetadata {
                    name: INPUT,
                    datatype: "FP64",
                    shape: vec![-1, model.features().len() as i64],
                }],
                Some(columns) => columns
                    .features()
                    .iter()
                    .map(|f| TensorMetadata {
                        name: &f.name,
                        datatype: f.datatype(),
                        shape: vec![-1],
                    })
                    .collect(),
            },
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
    use proptest::prelude::*;

    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("f{i}")).collect()
    }

    fn request(json: &str) -> InferRequest {
        serde_json::from_str(json).unwrap()
    }

    fn rows(json: &str, binary: &[u8]) -> Result<Inference, ApiError> {
        request(json).into_rows(&names(2), 10, binary)
    }

    #[test]
    fn flat_and_nested_data_give_the_same_rows() {
        let flat = r#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP64","data":[1,2,3,4]}]}"#;
        let nested =
            r#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP64","data":[[1,2],[3,4]]}]}"#;
        let a = rows(flat, &[]).unwrap().batch.rows().clone();
        let b = rows(nested, &[]).unwrap().batch.rows().clone();
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn fp32_values_are_read_as_f32() {
        let json = r#"{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[0.1]}]}"#;
        let inference = request(json).into_rows(&names(1), 10, &[]).unwrap();
        assert_eq!(
            inference.batch.rows().iter().next().unwrap()[0],
            f64::from(0.1f32)
        );
    }

    #[test]
    fn integer_types_refuse_fractions_and_overflow() {
        for (datatype, value) in [("INT32", "1.5"), ("UINT8", "256"), ("UINT8", "-1")] {
            let json = format!(
                r#"{{"inputs":[{{"name":"x","shape":[1,1],"datatype":"{datatype}","data":[{value}]}}]}}"#
            );
            let err = request(&json).into_rows(&names(1), 10, &[]).unwrap_err();
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
            assert!(rows(json, &[]).is_err(), "{json}");
        }
        let three = r#"{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP64","data":[1,2,3]}]}"#;
        assert!(matches!(
            rows(three, &[]),
            Err(ApiError::Width {
                expected: 2,
                found: 3,
                ..
            })
        ));
    }

    #[test]
    fn outputs_select_their_encoding() {
        let input = r#""inputs":[{"name":"x","shape":[1,2],"datatype":"FP64","data":[1,2]}]"#;
        let outputs = |rest: &str| rows(&format!("{{{input}{rest}}}"), &[]).map(|i| i.outputs);
        let (json, binary) = (Some(Encoding::Json), Some(Encoding::Binary));
        let cases = [
            ("", (json, json)),
            (
                r#","parameters":{"binary_data_output":true}"#,
                (binary, binary),
            ),
            (r#","outputs":[{"name":"probabilities"}]"#, (None, json)),
            (
                r#","outputs":[{"name":"label","parameters":{"binary_data":true}}]"#,
                (binary, None),
            ),
            (
                r#","parameters":{"binary_data_output":true},"outputs":[{"name":"label","parameters":{"binary_data":false}},{"name":"probabilities"}]"#,
                (json, binary),
            ),
        ];
        for (rest, (label, probabilities)) in cases {
            let got = outputs(rest).unwrap();
            assert_eq!(
                (
                    got.label.map(|o| o.encoding),
                    got.probabilities.map(|o| o.encoding)
                ),
                (label, probabilities),
                "{rest}"
            );
        }
        assert!(outputs(r#","outputs":[{"name":"logits"}]"#).is_err());
        // MLServer's names, answered under the name asked for.
        let named = outputs(r#","outputs":[{"name":"predict_proba"},{"name":"predict"}]"#).unwrap();
        assert_eq!(named.label.map(|o| o.name), Some("predict"));
        assert_eq!(named.probabilities.map(|o| o.name), Some("predict_proba"));
    }

    #[test]
    fn one_input_per_feature_in_any_order_is_assembled_into_rows() {
        let column = |name: &str, shape: &str, data: &str| {
            format!(r#"{{"name":"{name}","shape":{shape},"datatype":"FP64","data":{data}}}"#)
        };
        let request = |inputs: &[String]| format!(r#"{{"inputs":[{}]}}"#, inputs.join(","));
        // MLServer's pandas codec: [N, 1] per column, any order, with its content type.
        let pd = format!(
            r#"{{"parameters":{{"content_type":"pd"}},"inputs":[{},{}]}}"#,
            column("f1", "[2,1]", "[[3],[4]]"),
            column("f0", "[2,1]", "[[1],[2]]")
        );
        let got = rows(&pd, &[]).unwrap();
        assert_eq!(
            got.batch.rows().iter().collect::<Vec<_>>(),
            [[1.0, 3.0], [2.0, 4.0]]
        );
        let flat = request(&[column("f0", "[2]", "[1,2]"), column("f1", "[2]", "[3,4]")]);
        assert_eq!(
            rows(&flat, &[])
                .unwrap()
                .batch
                .rows()
                .iter()
                .collect::<Vec<_>>(),
            [[1.0, 3.0], [2.0, 4.0]]
        );

        let refused = |inputs: &[String]| rows(&request(inputs), &[]).unwrap_err().to_string();
        assert_eq!(
            refused(&[column("f0", "[2]", "[1,2]")]),
            r#"no input for feature "f1""#
        );
        assert!(
            refused(&[column("f0", "[1]", "[1]"), column("f9", "[1]", "[2]")])
                .starts_with(r#"input "f9" is not a feature"#)
        );
        assert_eq!(
            refused(&[column("f0", "[2]", "[1,2]"), column("f1", "[1]", "[3]")]),
            r#"input "f1" has 1 rows, input "f0" has 2"#
        );
        assert_eq!(
            refused(&[
                column("f0", "[1]", "[1]"),
                column("f0", "[1]", "[2]"),
                column("f1", "[1]", "[2]")
            ]),
            r#"input "f0" is given twice"#
        );
        assert!(
            refused(&[column("f0", "[1,2]", "[1,2]"), column("f1", "[1]", "[2]")])
                .contains("is not [rows] or [rows, 1]")
        );
    }

    #[test]
    fn binary_inputs_are_checked_against_their_shape_and_the_body() {
        let binary = |size: u64, data: &str| {
            format!(
                r#"{{"inputs":[{{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{{"binary_data_size":{size}}}{data}}}]}}"#
            )
        };
        let eight = [0u8; 8];
        assert!(rows(&binary(8, ""), &eight).is_ok());
        let refusals = [
            (
                binary(4, ""),
                &eight[..4],
                "is not the 8 bytes of shape [1, 2] in FP32",
            ),
            (
                binary(8, ""),
                &eight[..4],
                "add up to 8 bytes, but 4 follow",
            ),
            (
                binary(8, ""),
                &[0u8; 12][..],
                "add up to 8 bytes, but 12 follow",
            ),
            (
                binary(8, r#","data":[1,2]"#),
                &eight[..],
                "both binary_data_size and data",
            ),
            (
                r#"{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP64"}]}"#.to_owned(),
                &[][..],
                "neither data nor binary_data_size",
            ),
            (
                r#"{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP64","data":[1,2]}]}"#
                    .to_owned(),
                &eight[..],
                "add up to 0 bytes, but 8 follow",
            ),
        ];
        for (json, body, says) in refusals {
            let error = rows(&json, body).unwrap_err().to_string();
            assert!(error.contains(says), "{json}: {error}");
        }
    }

    /// Every numeric datatype's values as little-endian bytes and as JSON numbers.
    fn encoded(datatype: &str, values: &[f64]) -> (Vec<u8>, String) {
        let mut bytes = Vec::new();
        for v in values {
            match datatype {
                "FP64" => bytes.extend_from_slice(&v.to_le_bytes()),
                "FP32" => bytes.extend_from_slice(&(*v as f32).to_le_bytes()),
                "INT64" => bytes.extend_from_slice(&(*v as i64).to_le_bytes()),
                "UINT64" => bytes.extend_from_slice(&(*v as u64).to_le_bytes()),
                "INT32" => bytes.extend_from_slice(&(*v as i32).to_le_bytes()),
                "UINT32" => bytes.extend_from_slice(&(*v as u32).to_le_bytes()),
                "INT16" => bytes.extend_from_slice(&(*v as i16).to_le_bytes()),
                "UINT16" => bytes.extend_from_slice(&(*v as u16).to_le_bytes()),
                "INT8" => bytes.extend_from_slice(&(*v as i8).to_le_bytes()),
                _ => bytes.extend_from_slice(&(*v as u8).to_le_bytes()),
            }
        }
        let text: Vec<String> = values
            .iter()
            .map(|v| match datatype {
                "FP64" => serde_json::to_string(v).unwrap(),
                "FP32" => serde_json::to_string(&(*v as f32)).unwrap(),
                "INT64" | "INT32" | "INT16" | "INT8" => (*v as i64).to_string(),
                _ => (*v as u64).to_string(),
            })
            .collect();
        (bytes, format!("[{}]", text.join(",")))
    }

    fn typed_values() -> impl Strategy<Value = (&'static str, Vec<f64>)> {
        let datatype = prop::sample::select(vec![
            "FP64", "FP32", "INT64", "UINT64", "INT32", "UINT32", "INT16", "UINT16", "INT8",
            "UINT8",
        ]);
        (datatype, 1usize..6).prop_flat_map(|(datatype, rows)| {
            let value = match datatype {
                "FP64" => {
                    (prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL)
                        .boxed()
                }
                "FP32" => {
                    (prop::num::f32::NORMAL | prop::num::f32::ZERO | prop::num::f32::SUBNORMAL)
                        .prop_map(f64::from)
                        .boxed()
                }
                "INT64" => any::<i64>().prop_map(|v| v as f64).boxed(),
                "UINT64" => any::<u64>().prop_map(|v| v as f64).boxed(),
                "INT32" => any::<i32>().prop_map(f64::from).boxed(),
                "UINT32" => any::<u32>().prop_map(f64::from).boxed(),
                "INT16" => any::<i16>().prop_map(f64::from).boxed(),
                "UINT16" => any::<u16>().prop_map(f64::from).boxed(),
                "INT8" => any::<i8>().prop_map(f64::from).boxed(),
                _ => any::<u8>().prop_map(f64::from).boxed(),
            };
            (Just(datatype), prop::collection::vec(value, rows * 2))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// The binary decoder and the JSON decoder give the same rows, to the bit, for every
        /// datatype an input may have.
        #[test]
        fn binary_and_json_tensors_give_the_same_rows((datatype, values) in typed_values()) {
            let (bytes, text) = encoded(datatype, &values);
            let rows_n = values.len() / 2;
            let json = format!(
                r#"{{"inputs":[{{"name":"x","shape":[{rows_n},2],"datatype":"{datatype}","data":{text}}}]}}"#
            );
            let binary = format!(
                r#"{{"inputs":[{{"name":"x","shape":[{rows_n},2],"datatype":"{datatype}","parameters":{{"binary_data_size":{}}}}}]}}"#,
                bytes.len()
            );
            let from_json = rows(&json, &[]);
            let from_binary = rows(&binary, &bytes);
            match (from_json, from_binary) {
                (Ok(a), Ok(b)) => {
                    let bits = |r: &Rows| r.iter().flatten().map(|v| v.to_bits()).collect::<Vec<_>>();
                    prop_assert_eq!(bits(a.batch.rows()), bits(b.batch.rows()));
                }
                (a, b) => prop_assert_eq!(a.map(|_| ()).map_err(|e| e.to_string()), b.map(|_| ()).map_err(|e| e.to_string())),
            }
        }
    }
}
