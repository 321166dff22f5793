//! One input per feature, to a model with column blocks: each `[N]` or `[N, 1]` as MLServer's
//! pandas codec sends a data frame, its elements from JSON (numbers, strings, `null`) or binary
//! tensor data (numbers, NaN for a missing one; `BYTES` as lengths and bytes), checked against
//! its feature into a [`Table`]; or one `[N, F]` numeric tensor when every feature is numeric.

use serde::Deserialize;
use serde_json::Value as Json;

use super::Inference;
use super::request::{RequestParameters, RequestedOutput, TensorParameters, present, requested};
use super::tensors::{binary_total, convert};
use crate::api::cells::{cell, checked};
use crate::contract::errors::{ApiError, TensorError};
use crate::inputs::{Batch, Cell, Columns, Feature, Kind, Table, Value};
use crate::rows::InputError;

/// A V2 infer request to a model with column blocks: its elements kept as JSON, since they
/// may be strings and `null`.
#[derive(Debug, Deserialize)]
struct InferRequest {
    #[serde(default, deserialize_with = "present")]
    id: Option<String>,
    inputs: Vec<InputTensor>,
    #[serde(default, deserialize_with = "present")]
    outputs: Option<Vec<RequestedOutput>>,
    #[serde(default, deserialize_with = "present")]
    parameters: Option<RequestParameters>,
}

#[derive(Debug, Deserialize)]
struct InputTensor {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default, deserialize_with = "present")]
    parameters: Option<TensorParameters>,
    #[serde(default, deserialize_with = "present")]
    data: Option<Json>,
}

/// A V2 infer body to a model with column blocks: one input per feature, named as the feature,
/// each `[N]` or `[N, 1]` (`BYTES` for a categorical feature, as MLServer's pandas codec sends
/// it; a numeric datatype for a numeric one, or for integer categories), or one `[N, F]`
/// tensor of numbers when every feature is numeric. In JSON a `null` element is a missing
/// value; in binary tensor data a `BYTES` element is a 4-byte little-endian length and its
/// bytes, and a missing number is NaN.
pub(crate) fn decode(
    header: &[u8],
    binary: &[u8],
    columns: &Columns,
    max_rows: usize,
) -> Result<Inference, ApiError> {
    let request: InferRequest = crate::api::parse_json(header)?;
    let binary_default = request
        .parameters
        .as_ref()
        .and_then(|p| p.binary_data_output)
        .unwrap_or(false);
    let outputs = requested(request.outputs.as_deref(), binary_default)?;
    let features = columns.features();
    binary_total(
        request
            .inputs
            .iter()
            .map(|i| i.parameters.as_ref().and_then(|p| p.binary_data_size)),
        binary,
    )?;
    let names_features = request
        .inputs
        .iter()
        .any(|i| features.iter().any(|f| f.name == i.name));
    let width = features.len();
    let mut offset = 0;
    let mut take = |input: &InputTensor| -> &[u8] {
        match input.parameters.as_ref().and_then(|p| p.binary_data_size) {
            Some(size) => {
                let bytes = &binary[offset..offset + size as usize];
                offset += size as usize;
                bytes
            }
            None => &[],
        }
    };
    let cells = if names_features {
        let mut columns: Vec<Option<Vec<Cell>>> = vec![None; width];
        let mut first: Option<(String, usize)> = None;
        for input in &request.inputs {
            let Some(at) = features.iter().position(|f| f.name == input.name) else {
                return Err(TensorError::UnknownInput {
                    input: input.name.clone(),
                    expected: features.iter().map(|f| f.name.clone()).collect(),
                }
                .into());
            };
            let rows = match input.shape.as_slice() {
                [n] | [n, 1] => usize::try_from(*n).map_err(|_| TensorError::Negative {
                    input: input.name.clone(),
                    shape: input.shape.clone(),
                })?,
                _ => {
                    return Err(TensorError::ColumnShape {
                        input: input.name.clone(),
                        shape: input.shape.clone(),
                    }
                    .into());
                }
            };
            if rows > max_rows {
                return Err(ApiError::BatchTooLarge {
                    rows,
                    limit: max_rows,
                });
            }
            match &first {
                None => first = Some((input.name.clone(), rows)),
                Some((first, expected)) if *expected != rows => {
                    return Err(TensorError::InputLengths {
                        input: input.name.clone(),
                        rows,
                        first: first.clone(),
                        expected: *expected,
                    }
                    .into());
                }
                Some(_) => {}
            }
            let bytes = take(input);
            let values = elements(input, rows, bytes)?;
            let column = values
                .iter()
                .enumerate()
                .map(|(row, value)| element(row, row, &features[at], input, value))
                .collect::<Result<Vec<Cell>, ApiError>>()?;
            if columns[at].replace(column).is_some() {
                return Err(TensorError::RepeatedInput {
                    input: input.name.clone(),
                }
                .into());
            }
        }
        let columns: Vec<Option<Vec<Cell>>> = columns
            .into_iter()
            .zip(features)
            .map(|(c, f)| match c {
                Some(column) => Ok(Some(column)),
                // A feature the model ignores may be left out.
                None if f.optional => Ok(None),
                None => Err(TensorError::MissingInput {
                    feature: f.name.clone(),
                }),
            })
            .collect::<Result<Vec<Option<Vec<Cell>>>, _>>()?;
        let rows = first.map_or(0, |(_, n)| n);
        let columns: Vec<Vec<Cell>> = columns
            .into_iter()
            .map(|c| c.unwrap_or_else(|| vec![Cell::Missing; rows]))
            .collect();
        (0..rows)
            .flat_map(|r| columns.iter().map(move |c| c[r]))
            .collect::<Vec<Cell>>()
    } else {
        let [input] = <[&InputTensor; 1]>::try_from(request.inputs.iter().collect::<Vec<_>>())
            .map_err(|inputs| TensorError::InputCount {
                found: inputs.len(),
            })?;
        let Ok([rows, found]) = <[i64; 2]>::try_from(input.shape.as_slice()) else {
            return Err(TensorError::Rank {
                input: input.name.clone(),
                shape: input.shape.clone(),
            }
            .into());
        };
        let (Ok(rows), Ok(found)) = (usize::try_from(rows), usize::try_from(found)) else {
            return Err(TensorError::Negative {
                input: input.name.clone(),
                shape: input.shape.clone(),
            }
            .into());
        };
        if found != width {
            return Err(ApiError::Width {
                input: input.name.clone(),
                expected: width,
                found,
            });
        }
        if rows > max_rows {
            return Err(ApiError::BatchTooLarge {
                rows,
                limit: max_rows,
            });
        }
        let bytes = take(input);
        let values = elements(input, rows.saturating_mul(width), bytes)?;
        values
            .iter()
            .enumerate()
            .map(|(i, value)| element(i, i / width, &features[i % width], input, value))
            .collect::<Result<Vec<Cell>, ApiError>>()?
    };
    if cells.is_empty() {
        return Err(InputError::Empty.into());
    }
    Ok(Inference {
        id: request.id,
        batch: Batch::Table(Table::new(cells, width)),
        outputs,
    })
}

/// One element of a tensor, as JSON or binary data gave it.
#[derive(Debug)]
enum Element {
    Json(Json),
    Number(f64),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// A tensor's `count` elements, from its JSON `data` (flattened) or its binary `bytes`.
fn elements(input: &InputTensor, count: usize, bytes: &[u8]) -> Result<Vec<Element>, ApiError> {
    let name = || input.name.clone();
    let size = input.parameters.as_ref().and_then(|p| p.binary_data_size);
    let elements = match (&input.data, size) {
        (Some(_), Some(_)) => return Err(TensorError::BinaryAndData { input: name() }.into()),
        (None, None) => return Err(TensorError::NoData { input: name() }.into()),
        (Some(data), None) => {
            if !data.is_array() {
                return Err(ApiError::Invalid {
                    detail: format!(
                        "input {:?}: data must be an array, found {data}",
                        input.name
                    ),
                });
            }
            let mut flat = vec![];
            flatten(data, &mut flat);
            flat.into_iter()
                .cloned()
                .map(Element::Json)
                .collect::<Vec<_>>()
        }
        // One byte per element, as tritonclient writes a numpy bool array.
        (None, Some(size)) if input.datatype == "BOOL" => {
            if size != count as u64 {
                return Err(TensorError::BinarySize {
                    input: name(),
                    size,
                    shape: input.shape.clone(),
                    datatype: input.datatype.clone(),
                    expected: count,
                }
                .into());
            }
            bytes.iter().map(|b| Element::Bool(*b != 0)).collect()
        }
        (None, Some(_)) if input.datatype == "BYTES" => {
            let mut out = vec![];
            let mut rest = bytes;
            while let Some((length, tail)) = rest.split_first_chunk::<4>() {
                let length = u32::from_le_bytes(*length) as usize;
                if tail.len() < length {
                    break;
                }
                out.push(Element::Bytes(tail[..length].to_vec()));
                rest = &tail[length..];
            }
            if !rest.is_empty() {
                return Err(ApiError::Invalid {
                    detail: format!(
                        "input {:?}: the BYTES data does not split into 4-byte lengths and their bytes",
                        input.name
                    ),
                });
            }
            out
        }
        (None, Some(size)) => {
            let Some(element) = crate::api::binary::element_size(&input.datatype) else {
                return Err(TensorError::Datatype {
                    input: name(),
                    datatype: input.datatype.clone(),
                }
                .into());
            };
            if size != (element * count) as u64 {
                return Err(TensorError::BinarySize {
                    input: name(),
                    size,
                    shape: input.shape.clone(),
                    datatype: input.datatype.clone(),
                    expected: element * count,
                }
                .into());
            }
            crate::api::binary::values(bytes, &input.datatype)
                .into_iter()
                .map(Element::Number)
                .collect()
        }
    };
    if elements.len() != count {
        return Err(TensorError::DataLength {
            input: name(),
            shape: input.shape.clone(),
            needed: count,
            found: elements.len(),
        }
        .into());
    }
    Ok(elements)
}

/// Appends every element of a possibly nested JSON array, in order.
fn flatten<'a>(json: &'a Json, out: &mut Vec<&'a Json>) {
    match json {
        Json::Array(items) => items.iter().for_each(|item| flatten(item, out)),
        other => out.push(other),
    }
}

/// Element `index` (of row `row`) checked against its datatype and its feature.
fn element(
    index: usize,
    row: usize,
    feature: &Feature,
    input: &InputTensor,
    element: &Element,
) -> Result<Cell, ApiError> {
    let datatype = input.datatype.as_str();
    let numeric = crate::api::binary::element_size(datatype).is_some();
    let fits = match feature.kind {
        Kind::Numeric => numeric,
        Kind::Categorical if feature.integer_categories() => numeric || datatype == "BYTES",
        Kind::Categorical if feature.boolean_categories() => datatype == "BOOL",
        Kind::Categorical => datatype == "BYTES",
    };
    if !fits {
        let expected = match feature.kind {
            Kind::Numeric => "a numeric datatype (FP64, FP32 or an integer type)",
            Kind::Categorical if feature.boolean_categories() => "BOOL",
            Kind::Categorical if feature.integer_categories() => "BYTES or an integer datatype",
            Kind::Categorical => "BYTES",
        };
        return Err(ApiError::Invalid {
            detail: format!(
                "input {:?}: datatype {datatype:?} does not fit feature {:?}; use {expected}",
                input.name, feature.name
            ),
        });
    }
    match element {
        // A JSON number in a numeric tensor is a value of that datatype, as in a model of
        // numbers: an FP32 element is read as an f32, an integer one must be whole and in range.
        Element::Json(Json::Number(n)) if numeric => {
            let mut value = [n.as_f64().unwrap_or(f64::NAN)];
            convert(&mut value, datatype, &input.name).map_err(|e| match e {
                TensorError::OutOfType {
                    input,
                    value,
                    datatype,
                    ..
                } => TensorError::OutOfType {
                    input,
                    element: index,
                    value,
                    datatype,
                },
                other => other,
            })?;
            checked(row, feature, Value::Number(value[0]))
        }
        Element::Json(json) => cell(row, feature, json),
        // A missing number travels as NaN, as pandas holds it: the feature's check takes it.
        Element::Number(v) => checked(row, feature, Value::Number(*v)),
        Element::Bool(b) => checked(row, feature, Value::Bool(*b)),
        Element::Bytes(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => checked(row, feature, Value::Text(text)),
            Err(_) => Err(ApiError::Invalid {
                detail: format!(
                    "row {row}, input {:?}: a BYTES element is not UTF-8",
                    input.name
                ),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::cells::tests::columns;

    #[test]
    fn a_json_number_in_a_numeric_input_is_a_value_of_its_datatype() {
        let request = |datatype: &str, value: &str| {
            format!(
                r#"{{"inputs": [{{"name": "sex", "shape": [1], "datatype": "BYTES", "data": ["male"]}},
                   {{"name": "mass", "shape": [1], "datatype": "{datatype}", "data": [{value}]}}]}}"#
            )
        };
        let cells = |datatype, value| {
            let inference = decode(request(datatype, value).as_bytes(), &[], &columns(), 10)?;
            match inference.batch {
                Batch::Table(table) => Ok(table.iter().next().unwrap()[1]),
                Batch::Rows(_) => panic!("a model with blocks decodes a table"),
            }
        };
        assert_eq!(
            cells("FP32", "0.1").unwrap(),
            Cell::Number(f64::from(0.1f32))
        );
        assert_eq!(cells("FP64", "0.1").unwrap(), Cell::Number(0.1));
        assert!(matches!(
            cells("INT32", "1.5"),
            Err(ApiError::Tensor(TensorError::OutOfType { element: 0, .. }))
        ));
        assert_eq!(cells("INT32", "7").unwrap(), Cell::Number(7.0));
    }

    #[test]
    fn data_is_an_array() {
        let body =
            br#"{"inputs": [{"name": "sex", "shape": [1], "datatype": "BYTES", "data": null},
                        {"name": "mass", "shape": [1], "datatype": "FP64", "data": [1]}]}"#;
        let refused = decode(body, &[], &columns(), 10).unwrap_err();
        assert_eq!(
            refused.to_string(),
            r#"invalid request: input "sex": data must be an array, found null"#
        );
    }
}
