//! The OpenAPI 3.1 document, for the model being served.
//!
//! 3.1, whose schemas are JSON Schema 2020-12: a row of a model with categories, and its V2
//! inputs, are typed position by position (`prefixItems`), which 3.0 cannot say.
//!
//! `openapi.json` describes every route in [`ROUTES`](crate::contract::routes::ROUTES); the
//! served document is that template with the model's facts filled in from its artifact: the
//! feature names and count, the classes, the batch limit, and examples that the service itself
//! accepts. It is built without the HTTP stack, so clients and the harness build the same one.

use serde_json::{Value, json};

use crate::contract::v2::{LARGEST_INT64, LARGEST_UINT64};

use crate::artifact::Artifact;
use crate::contract::limits::Limits;
use crate::inputs::{Feature, Kind};

/// The template: every route, with no model's facts in it.
pub const TEMPLATE: &str = include_str!("openapi.json");

/// The document for `artifact` served with `limits`.
pub fn document(artifact: &Artifact, limits: Limits) -> Value {
    // The template is part of this crate and parsed by its tests; it cannot fail here.
    let mut doc: Value = serde_json::from_str(TEMPLATE).unwrap_or_default();
    let model = artifact.model();
    let (features, classes) = (model.features(), model.classes());
    let width = features.len();
    let example = example_row(artifact);

    let description = doc["info"]["description"].as_str().unwrap_or_default();
    doc["info"]["description"] = format!(
        "{description} This server serves the {kind} model {name:?} version {version:?}: {width} features ({features}), classes {classes}; its probabilities are {probabilities}.",
        kind = model.kind().as_str(),
        probabilities = model.kind().probabilities(),
        name = artifact.name(),
        version = artifact.version(),
        features = features.join(", "),
        classes = classes.join(", "),
    )
    .into();

    // Path parameters name the one model served, and its version.
    if let Some(paths) = doc["paths"].as_object_mut() {
        for operation in paths.values_mut().filter_map(|p| p.as_object_mut()) {
            for op in operation.values_mut() {
                let params = op.get_mut("parameters").and_then(|p| p.as_array_mut());
                for param in params.into_iter().flatten() {
                    let value = match param["name"].as_str() {
                        Some("name") => artifact.name(),
                        Some("version") => artifact.version(),
                        _ => continue,
                    };
                    param["schema"]["enum"] = json!([value]);
                }
            }
        }
    }

    let schemas = &mut doc["components"]["schemas"];
    let bound = model.largest_safe_value();
    schemas["FeatureValue"]["minimum"] = (-bound).into();
    schemas["FeatureValue"]["maximum"] = bound.into();
    // The rows of /predict and of KServe V1's :predict.
    let instances = &mut schemas["Rows"];
    instances["maxItems"] = limits.max_batch_rows.into();
    let rows = &mut instances["items"]["oneOf"];
    rows[0]["minItems"] = width.into();
    rows[0]["maxItems"] = width.into();
    rows[0]["description"] = format!("Values in feature order: {}.", features.join(", ")).into();
    let value = json!({"$ref": "#/components/schemas/FeatureValue"});
    rows[1]["properties"] = features
        .iter()
        .map(|f| (f.clone(), value.clone()))
        .collect::<serde_json::Map<_, _>>()
        .into();
    rows[1]["required"] = json!(features);
    rows[1]["additionalProperties"] = false.into();
    if let Some(columns) = model.columns() {
        // Each feature its own values: a number in range, or one of its categories (any
        // string where unknown ones are ignored), `null` where it may be missing.
        let each: Vec<Value> = columns
            .features()
            .iter()
            .map(|f| feature_schema(f, bound))
            .collect();
        rows[0]["prefixItems"] = json!(each);
        rows[0]["items"] = false.into();
        rows[1]["properties"] = features
            .iter()
            .cloned()
            .zip(each)
            .collect::<serde_json::Map<_, _>>()
            .into();
        // A feature the model drops may be left out of an object row.
        rows[1]["required"] = columns
            .features()
            .iter()
            .filter(|f| !f.optional)
            .map(|f| f.name.clone())
            .collect::<Vec<_>>()
            .into();
    }
    schemas["PredictRequest"]["example"] = json!({ "instances": [example] });

    let prediction = &mut schemas["PredictResponse"]["properties"]["predictions"]["items"];
    prediction["properties"]["label"]["enum"] = json!(classes);
    let probability = prediction["properties"]["probabilities"]["additionalProperties"].clone();
    let probabilities = &mut prediction["properties"]["probabilities"];
    probabilities["properties"] = classes
        .iter()
        .map(|c| (c.clone(), probability.clone()))
        .collect::<serde_json::Map<_, _>>()
        .into();
    probabilities["required"] = json!(classes);
    probabilities["additionalProperties"] = false.into();

    let v1 = &mut schemas["V1PredictResponse"]["properties"]["predictions"]["items"]["oneOf"];
    v1[0]["enum"] = json!(classes);
    v1[1]["minItems"] = classes.len().into();
    v1[1]["maxItems"] = classes.len().into();
    schemas["V1PredictRequest"]["example"] = json!({ "instances": [example] });
    match model.columns() {
        None => {
            schemas["V2InferRequest"]["properties"]["inputs"]["items"] =
                one_row_tensor(features, bound);
            schemas["V2InferRequest"]["example"] = json!({
                "id": "1",
                "inputs": [{"name": "input", "shape": [1, width], "datatype": "FP64", "data": example}],
            });
        }
        Some(columns) => {
            // One input per feature, as MLServer's pandas codec sends a DataFrame.
            let inputs: Vec<Value> = columns
                .features()
                .iter()
                .zip(&example)
                .map(|(f, value)| {
                    json!({"name": f.name, "shape": [1], "datatype": f.datatype(), "data": [value]})
                })
                .collect();
            // One row, one input per feature in feature order (any order is taken; the schema
            // states one).
            let each: Vec<Value> = columns
                .features()
                .iter()
                .map(|f| {
                    json!({
                        "type": "object",
                        "required": ["name", "shape", "datatype", "data"],
                        "properties": {
                            "name": {"const": f.name},
                            "shape": {"type": "array", "items": {"const": 1}, "minItems": 1, "maxItems": 2},
                            "datatype": {"const": f.datatype()},
                            "data": {"type": "array", "items": feature_schema(f, bound), "minItems": 1, "maxItems": 1},
                        },
                    })
                })
                .collect();
            let tensors = &mut schemas["V2InferRequest"]["properties"]["inputs"];
            tensors["description"] = "One input per feature, named as the feature, shape [N] or [N, 1], in any order: BYTES for a categorical feature (an integer datatype where its categories are integers), a numeric datatype for a numeric one; null (NaN in binary data) is a missing value.".into();
            tensors["minItems"] = each.len().into();
            tensors["maxItems"] = each.len().into();
            tensors["prefixItems"] = each.into();
            tensors["items"] = false.into();
            schemas["V2InferRequest"]["example"] = json!({ "id": "1", "inputs": inputs });
        }
    }
    doc
}

/// The values one feature of a model with column blocks takes.
fn feature_schema(feature: &Feature, bound: f64) -> Value {
    let mut schema = match feature.kind {
        Kind::Numeric => json!({"type": "number", "minimum": -bound, "maximum": bound}),
        Kind::Categorical if feature.accepts_unknown => json!({
            "type": match feature.datatype() { "INT64" => "integer", "BOOL" => "boolean", _ => "string" },
            "description": format!("A category; known: {}. Any other is accepted and encoded as all zeros.", json!(feature.categories)),
        }),
        Kind::Categorical => {
            let mut known = json!(feature.categories);
            if feature.accepts_missing
                && let Some(list) = known.as_array_mut()
            {
                list.push(Value::Null);
            }
            json!({ "enum": known })
        }
    };
    if feature.accepts_missing
        && let Some(kind) = schema["type"].as_str()
    {
        schema["type"] = json!([kind, "null"]);
    }
    schema
}

/// The V2 JSON form the schema can state exactly: one row as one `[1, F]` tensor, one branch
/// per datatype, each with the values that datatype holds and this model accepts. A name that
/// is a feature's would make it one feature's column, so it is another name.
fn one_row_tensor(features: &[String], bound: f64) -> Value {
    let width = features.len();
    let f32_max = f64::from(f32::MAX);
    let number = |limit: f64| json!({"type": "number", "minimum": -limit, "maximum": limit});
    // An integer type's range, within the model's range too (every type's is, for any model
    // whose range reaches 2^53).
    let integer = |min: Value, max: Value| {
        let within = |v: Value| match v.as_f64() {
            Some(f) if f.abs() > bound => json!(bound.copysign(f)),
            _ => v,
        };
        json!({"type": "integer", "minimum": within(min), "maximum": within(max)})
    };
    let datatypes = [
        ("FP64", number(bound)),
        ("FP32", number(bound.min(f32_max))),
        ("INT8", integer(i8::MIN.into(), i8::MAX.into())),
        ("INT16", integer(i16::MIN.into(), i16::MAX.into())),
        ("INT32", integer(i32::MIN.into(), i32::MAX.into())),
        (
            "INT64",
            integer(
                (-(LARGEST_INT64 as i64)).into(),
                (LARGEST_INT64 as i64).into(),
            ),
        ),
        ("UINT8", integer(0.into(), u8::MAX.into())),
        ("UINT16", integer(0.into(), u16::MAX.into())),
        ("UINT32", integer(0.into(), u32::MAX.into())),
        ("UINT64", integer(0.into(), (LARGEST_UINT64 as u64).into())),
    ];
    let name = if width > 1 {
        json!({"type": "string", "not": {"enum": features}})
    } else {
        json!({"type": "string"})
    };
    let branches: Vec<Value> = datatypes
        .into_iter()
        .map(|(datatype, item)| {
            let row = json!({"type": "array", "minItems": width, "maxItems": width, "items": item});
            json!({
                "type": "object",
                "required": ["name", "shape", "datatype", "data"],
                "properties": {
                    "name": name,
                    "shape": {"type": "array", "enum": [[1, width]]},
                    "datatype": {"type": "string", "enum": [datatype]},
                    "parameters": {
                        "type": "object",
                        "properties": {"binary_data": {"type": "boolean"}},
                        "not": {"required": ["binary_data_size"]},
                    },
                    "data": {"oneOf": [
                        row,
                        {"type": "array", "minItems": 1, "maxItems": 1, "items": row},
                    ]},
                },
            })
        })
        .collect();
    json!({ "oneOf": branches })
}

/// A plausible row: the middle of each numeric feature's training range (zeros for an
/// artifact that records no ranges), a categorical feature's first category.
fn example_row(artifact: &Artifact) -> Vec<Value> {
    let features = artifact.model().columns().map(|c| c.features());
    match artifact.input_ranges() {
        Some(ranges) => ranges
            .iter()
            .enumerate()
            .map(|(j, r)| match r {
                Some(r) => json!(r.min + (r.max - r.min) / 2.0),
                None => features
                    .and_then(|f| f[j].categories.first())
                    .map_or(Value::Null, |c| json!(c)),
            })
            .collect(),
        None => vec![json!(0.0); artifact.model().features().len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses() {
        assert!(serde_json::from_str::<Value>(TEMPLATE).is_ok());
    }

    #[test]
    fn the_document_carries_the_models_features_classes_and_limits() {
        let artifact = Artifact::embedded().unwrap();
        let limits = Limits {
            max_body_bytes: 10,
            max_batch_rows: 7,
            ..Limits::default()
        };
        let doc = document(&artifact, limits);
        let request = &doc["components"]["schemas"]["PredictRequest"];
        let rows = &doc["components"]["schemas"]["Rows"];
        assert_eq!(rows["maxItems"], 7);
        let features = artifact.model().features();
        assert_eq!(rows["items"]["oneOf"][1]["required"], json!(features));
        assert_eq!(
            request["example"]["instances"][0].as_array().map(Vec::len),
            Some(features.len())
        );
        let label = &doc["components"]["schemas"]["PredictResponse"]["properties"]["predictions"]["items"]
            ["properties"]["label"];
        assert_eq!(label["enum"], json!(artifact.model().classes()));
    }
}
