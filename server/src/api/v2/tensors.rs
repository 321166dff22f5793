//! One `[N, F]` input tensor into rows: its shape, its datatype, its elements from JSON or from
//! binary tensor data, each narrowed to the datatype the client named.

use super::Inference;
use super::request::{InferRequest, InputTensor, TensorData, requested};
use crate::api::binary;
use crate::contract::errors::{ApiError, TensorError};
use crate::contract::v2::{LARGEST_INT64, LARGEST_UINT64};
use crate::inputs::Batch;
use crate::rows::Rows;

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
