//! Rows to a model with column blocks (format 3): values as JSON gives them — numbers,
//! categories, `null` — checked against each feature into a [`Table`], for `/predict` and
//! KServe V1 (V2's one input per feature is [`crate::api::v2`]'s). A model of numbers only
//! never comes here: its rows keep their one-pass path.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use crate::contract::errors::{ApiError, RowProblem};
use crate::inputs::{Cell, Columns, Feature, Kind, Table, Value};
use crate::rows::InputError;

/// One row as a client wrote it: values in feature order, or keyed by feature name (keys kept
/// in order, repeats included, so that a repeated feature is refused rather than overwritten).
#[derive(Debug)]
pub(crate) enum RowIn {
    Values(Vec<Json>),
    Named(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for RowIn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RowIn, D::Error> {
        deserializer.deserialize_any(RowVisitor)
    }
}

struct RowVisitor;

impl<'de> Visitor<'de> for RowVisitor {
    type Value = RowIn;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of feature values or an object of them")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RowIn, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(8));
        while let Some(v) = seq.next_element()? {
            values.push(v);
        }
        Ok(RowIn::Values(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RowIn, A::Error> {
        let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(pair) = map.next_entry()? {
            pairs.push(pair);
        }
        Ok(RowIn::Named(pairs))
    }
}

/// `{"instances": [...]}` (the seed API, which refuses other fields).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedBody {
    instances: Vec<RowIn>,
}

/// `{"instances": [...]}` or `{"inputs": [...]}` (KServe V1, which ignores other fields).
#[derive(Debug, Deserialize)]
struct V1Body {
    #[serde(alias = "inputs")]
    instances: Vec<RowIn>,
}

/// A seed-API body of rows, checked into a table.
pub(crate) fn seed(body: &[u8], columns: &Columns, max_rows: usize) -> Result<Table, ApiError> {
    let SeedBody { instances } = crate::api::parse_json(body)?;
    rows(instances, columns, max_rows)
}

/// A KServe V1 body of rows, checked into a table.
pub(crate) fn v1(body: &[u8], columns: &Columns, max_rows: usize) -> Result<Table, ApiError> {
    let V1Body { instances } = crate::api::parse_json(body)?;
    rows(instances, columns, max_rows)
}

fn rows(instances: Vec<RowIn>, columns: &Columns, max_rows: usize) -> Result<Table, ApiError> {
    if instances.len() > max_rows {
        return Err(ApiError::BatchTooLarge {
            rows: instances.len(),
            limit: max_rows,
        });
    }
    if instances.is_empty() {
        return Err(InputError::Empty.into());
    }
    let features = columns.features();
    let width = features.len();
    let mut cells = Vec::with_capacity(instances.len() * width);
    for (row, instance) in instances.into_iter().enumerate() {
        match instance {
            RowIn::Values(values) => {
                if values.len() != width {
                    return Err(InputError::Width {
                        row,
                        expected: width,
                        found: values.len(),
                    }
                    .into());
                }
                for (feature, value) in features.iter().zip(&values) {
                    cells.push(cell(row, feature, value)?);
                }
            }
            RowIn::Named(pairs) => {
                let refuse = |problem| ApiError::Row { row, problem };
                let mut named: Vec<Option<&Json>> = vec![None; width];
                for (name, value) in &pairs {
                    let Some(i) = features.iter().position(|f| f.name == *name) else {
                        return Err(refuse(RowProblem::UnknownFeature {
                            name: name.clone(),
                            expected: features.iter().map(|f| f.name.clone()).collect(),
                        }));
                    };
                    if named[i].replace(value).is_some() {
                        return Err(refuse(RowProblem::Repeated(name.clone())));
                    }
                }
                for (feature, value) in features.iter().zip(named) {
                    match value {
                        Some(value) => cells.push(cell(row, feature, value)?),
                        // A feature the model ignores may be left out.
                        None if feature.optional => cells.push(Cell::Missing),
                        None => return Err(refuse(RowProblem::Missing(feature.name.clone()))),
                    }
                }
            }
        }
    }
    Ok(Table::new(cells, width))
}

/// One JSON value checked against its feature.
pub(crate) fn cell(row: usize, feature: &Feature, json: &Json) -> Result<Cell, ApiError> {
    let value = match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        // The non-finite tokens, quoted by the JSON reader, are numbers to a numeric feature
        // and to integer categories (NaN, as numpy writes a gap, is then a missing value).
        Json::String(s) if feature.kind == Kind::Numeric || feature.integer_categories() => {
            match s.as_str() {
                "NaN" => Value::Number(f64::NAN),
                "Infinity" => Value::Number(f64::INFINITY),
                "-Infinity" => Value::Number(f64::NEG_INFINITY),
                s => Value::Text(s),
            }
        }
        Json::String(s) => Value::Text(s),
        Json::Array(_) | Json::Object(_) => {
            return Err(ApiError::Invalid {
                detail: format!(
                    "row {row}, feature {:?}: expected a number, a category or null, found {}",
                    feature.name,
                    if json.is_array() {
                        "an array"
                    } else {
                        "an object"
                    }
                ),
            });
        }
    };
    checked(row, feature, value)
}

/// One value checked against its feature, refused naming row and feature.
pub(crate) fn checked(row: usize, feature: &Feature, value: Value<'_>) -> Result<Cell, ApiError> {
    feature
        .cell(value)
        .map_err(|problem| ApiError::value(row, &feature.name, problem))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::inputs::columns::{Block, OneHot, Step, Unknown};
    use crate::inputs::{Category, Input};

    pub(crate) fn columns() -> Columns {
        let inputs = vec![
            Input {
                name: "sex".into(),
                kind: Kind::Categorical,
            },
            Input {
                name: "mass".into(),
                kind: Kind::Numeric,
            },
        ];
        let blocks = vec![
            Block {
                features: vec!["sex".into()],
                steps: vec![Step::OneHot(OneHot {
                    categories: vec![vec![
                        Some(Category::Text("female".into())),
                        Some(Category::Text("male".into())),
                        None,
                    ]],
                    drop: vec![None],
                    unknown: Unknown::Error,
                })],
            },
            Block {
                features: vec!["mass".into()],
                steps: vec![],
            },
        ];
        Columns::new(&inputs, &blocks, 4).unwrap()
    }

    #[test]
    fn arrays_and_objects_give_the_same_cells() {
        let body = br#"{"instances": [["male", 3.5], {"mass": 3.5, "sex": "male"}, [null, 1]]}"#;
        let table = seed(body, &columns(), 10).unwrap();
        let rows: Vec<&[Cell]> = table.iter().collect();
        assert_eq!(rows[0], [Cell::Category(1), Cell::Number(3.5)]);
        assert_eq!(rows[0], rows[1]);
        assert_eq!(rows[2], [Cell::Missing, Cell::Number(1.0)]);
    }

    #[test]
    fn refusals_name_row_feature_and_value() {
        let refused = |body: &str| seed(body.as_bytes(), &columns(), 10).unwrap_err();
        assert_eq!(
            refused(r#"{"instances": [["male", 1], ["x", 1]]}"#).to_string(),
            r#"row 1: feature "sex": unknown category "x"; known: ["female", "male"]"#
        );
        assert_eq!(
            refused(r#"{"instances": [["male", "heavy"]]}"#).to_string(),
            r#"row 0: feature "mass": expected a number, found "heavy""#
        );
        assert_eq!(
            refused(r#"{"instances": [[1, 2]]}"#).to_string(),
            r#"row 0: feature "sex": expected a category (a string), found 1"#
        );
        assert_eq!(
            refused(r#"{"instances": [["male", null]]}"#).to_string(),
            r#"row 0: feature "mass": the value is missing (null), and this model has nothing to fill it with"#
        );
        assert_eq!(
            refused(r#"{"instances": [{"sex": "male", "sex": "female", "mass": 1}]}"#).to_string(),
            r#"row 0: feature "sex" is given twice"#
        );
        assert!(matches!(
            refused(r#"{"instances": []}"#),
            ApiError::Input(InputError::Empty)
        ));
        assert!(
            v1(
                br#"{"inputs": [["male", 1]], "parameters": {}}"#,
                &columns(),
                10
            )
            .is_ok()
        );
    }
}
