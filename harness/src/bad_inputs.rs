//! The bad-input catalogue, generated for any model from its features, classes and name, so
//! every model served gets every bad-input check. Where the contract fixes the message (an
//! `ApiError` built from the values that went wrong), the case expects it whole; where the
//! message is the JSON parser's, it expects the fragment the service adds.

use serde_json::{Value, json};
use server::Artifact;
use server::contract::errors::{ApiError, RowProblem, TensorError, shown_path};
use server::contract::fixtures::{BadInput, BadInputs};
use server::contract::routes::{Api, PREDICT};
use server::{InputError, PredictError, Rows};

use crate::client::infer_path;
use crate::golden;

/// Every request the service must refuse, for `oracle`'s model.
pub fn generate(oracle: &Artifact) -> BadInputs {
    let model = oracle.model();
    let features = model.features();
    let width = features.len();
    let (first, last) = (&features[0], &features[width - 1]);
    let name = oracle.name();
    let infer = infer_path(name);
    let row: Vec<Value> = golden::ranges(oracle)
        .iter()
        .map(|(min, max)| json!(min + (max - min) / 2.0))
        .collect();
    let row_text = Value::from(row.clone()).to_string();
    let named = |skip: Option<&str>| -> serde_json::Map<String, Value> {
        features
            .iter()
            .zip(&row)
            .filter(|(f, _)| Some(f.as_str()) != skip)
            .map(|(f, v)| (f.clone(), v.clone()))
            .collect()
    };
    let tensor = |shape: Value, datatype: &str, data: Value| json!({"inputs": [{"name": "input", "shape": shape, "datatype": datatype, "data": data}]});
    let with_values = |values: &[Value]| {
        let mut r = row.clone();
        r[0] = values[0].clone();
        Value::from(r)
    };

    let mut cases = vec![];
    let mut add = |name: &str,
                   method: &str,
                   path: &str,
                   ct: Option<&str>,
                   body: Option<String>,
                   status: u16,
                   contains: String| {
        cases.push(BadInput {
            name: name.to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
            content_type: ct.map(str::to_owned),
            body,
            headers: vec![],
            status,
            error_contains: contains,
        });
    };
    let json_ct = Some("application/json");
    let seed = |e: ApiError| (e.status(Api::Seed), e.to_string());
    let v2 = |e: ApiError| (e.status(Api::V2), e.to_string());

    // The seed API.
    add(
        "malformed JSON",
        "POST",
        PREDICT,
        json_ct,
        Some(format!("{{\"instances\": [{row_text}")),
        400,
        "malformed JSON".into(),
    );
    add(
        "empty body",
        "POST",
        PREDICT,
        json_ct,
        Some(String::new()),
        400,
        "malformed JSON".into(),
    );
    add(
        "missing instances field",
        "POST",
        PREDICT,
        json_ct,
        Some("{}".into()),
        400,
        "missing field `instances`".into(),
    );
    add(
        "unknown top-level field",
        "POST",
        PREDICT,
        json_ct,
        Some(format!("{{\"instances\": [{row_text}], \"extra\": 1}}")),
        400,
        "unknown field `extra`".into(),
    );
    add(
        "instances is not a list",
        "POST",
        PREDICT,
        json_ct,
        Some("{\"instances\": 5}".into()),
        400,
        "invalid request".into(),
    );
    add(
        "a row is a number",
        "POST",
        PREDICT,
        json_ct,
        Some("{\"instances\": [5]}".into()),
        400,
        "an array of numbers or an object of feature values".into(),
    );
    add(
        "a value is a string",
        "POST",
        PREDICT,
        json_ct,
        Some(json!({"instances": [with_values(&["high".into()])]}).to_string()),
        400,
        "invalid request".into(),
    );
    add(
        "a value is null",
        "POST",
        PREDICT,
        json_ct,
        Some(json!({"instances": [with_values(&[Value::Null])]}).to_string()),
        400,
        "invalid request".into(),
    );
    let (status, message) = seed(ApiError::Input(InputError::Width {
        row: 0,
        expected: width,
        found: width - 1,
    }));
    add(
        "too few features",
        "POST",
        PREDICT,
        json_ct,
        Some(json!({"instances": [row[..width - 1]]}).to_string()),
        status,
        message,
    );
    let mut long = row.clone();
    long.push(json!(1.0));
    let (status, message) = seed(ApiError::Input(InputError::Width {
        row: 1,
        expected: width,
        found: width + 1,
    }));
    add(
        "too many features in the second row",
        "POST",
        PREDICT,
        json_ct,
        Some(json!({"instances": [row, long]}).to_string()),
        status,
        message,
    );
    let mut unknown = named(None);
    unknown.insert("colour of the label".into(), json!(1.0));
    let (status, message) = seed(ApiError::Row {
        row: 0,
        problem: RowProblem::UnknownFeature {
            name: "colour of the label".into(),
            expected: features.to_vec(),
        },
    });
    add(
        "unknown feature name",
        "POST",
        PREDICT,
        json_ct,
        Some(json!({"instances": [unknown]}).to_string()),
        status,
        message,
    );
    let (status, message) = seed(ApiError::Row {
        row: 0,
        problem: RowProblem::Missing(last.clone()),
    });
    add(
        "missing feature name",
        "POST",
        PREDICT,
        json_ct,
        Some(json!({"instances": [named(Some(last))]}).to_string()),
        status,
        message,
    );
    let twice = format!(
        "{{\"instances\": [{{{}, {}: 1.0}}]}}",
        Value::from(named(None))
            .to_string()
            .trim_matches(|c| c == '{' || c == '}'),
        Value::from(first.as_str())
    );
    let (status, message) = seed(ApiError::Row {
        row: 0,
        problem: RowProblem::Repeated(first.clone()),
    });
    add(
        "feature given twice",
        "POST",
        PREDICT,
        json_ct,
        Some(twice),
        status,
        message,
    );
    let nan_row = row_text.replacen(&row[0].to_string(), "NaN", 1);
    let (status, message) = seed(ApiError::Input(InputError::NonFinite {
        row: 1,
        feature: first.clone(),
    }));
    add(
        "NaN token",
        "POST",
        PREDICT,
        json_ct,
        Some(format!("{{\"instances\": [{row_text}, {nan_row}]}}")),
        status,
        message,
    );
    let mut infinite = row.clone();
    infinite[width - 1] = "Infinity".into();
    let (status, message) = seed(ApiError::Input(InputError::NonFinite {
        row: 0,
        feature: last.clone(),
    }));
    add(
        "Infinity string",
        "POST",
        PREDICT,
        json_ct,
        Some(json!({"instances": [infinite]}).to_string()),
        status,
        message,
    );
    let huge_row = row_text.replacen(&row[0].to_string(), "1e999", 1);
    let (status, message) = seed(ApiError::Input(InputError::NonFinite {
        row: 0,
        feature: first.clone(),
    }));
    add(
        "a number too large for a double",
        "POST",
        PREDICT,
        json_ct,
        Some(format!("{{\"instances\": [{huge_row}]}}")),
        status,
        message,
    );
    let (status, message) = seed(ApiError::Input(InputError::Empty));
    add(
        "empty batch",
        "POST",
        PREDICT,
        json_ct,
        Some("{\"instances\": []}".into()),
        status,
        message,
    );
    if let Some(overflow) = overflowing_row(oracle) {
        let (status, message) = seed(ApiError::Predict(PredictError::ScoreOverflow { row: 0 }));
        add(
            "score overflow",
            "POST",
            PREDICT,
            json_ct,
            Some(json!({"instances": [overflow]}).to_string()),
            status,
            message,
        );
    }
    let body = Some(json!({"instances": [row]}).to_string());
    let (status, message) = seed(ApiError::UnsupportedMediaType {
        mime: "text/plain".into(),
    });
    add(
        "text content type",
        "POST",
        PREDICT,
        Some("text/plain"),
        body.clone(),
        status,
        message,
    );
    add(
        "form content type",
        "POST",
        PREDICT,
        Some("application/x-www-form-urlencoded"),
        body,
        415,
        "not supported".into(),
    );
    let (status, message) = seed(ApiError::NoRoute {
        path: "/predictions".into(),
    });
    add(
        "unknown route",
        "GET",
        "/predictions",
        None,
        None,
        status,
        message,
    );
    // Long, but within any request-line limit worth having.
    let long_path = format!("/{}", "x".repeat(4_000));
    let (status, message) = seed(ApiError::NoRoute {
        path: shown_path(&long_path),
    });
    add(
        "a 4 KB path is not echoed whole",
        "GET",
        &long_path,
        None,
        None,
        status,
        message,
    );
    let (status, message) = seed(ApiError::MethodNotAllowed { allow: "POST" });
    add("wrong method", "GET", PREDICT, None, None, status, message);
    add(
        "wrong method on health",
        "POST",
        "/health",
        None,
        None,
        405,
        "use GET".into(),
    );

    // The Open Inference Protocol: 400 for every invalid request, 404 for an unknown model.
    let served = |name: &str, version: Option<&str>| ApiError::ModelNotServed {
        name: name.into(),
        version: version.map(str::to_owned),
        served: oracle.name().into(),
        served_version: oracle.version().into(),
    };
    let (status, message) = v2(served("no-such-model", None));
    add(
        "v2 unknown model",
        "POST",
        "/v2/models/no-such-model/infer",
        None,
        Some(tensor(json!([1, width]), "FP64", Value::from(row.clone())).to_string()),
        status,
        message.clone(),
    );
    add(
        "v2 unknown model metadata",
        "GET",
        "/v2/models/no-such-model",
        None,
        None,
        status,
        message,
    );
    let (status, message) = v2(served(name, Some("9.9.9")));
    add(
        "v2 unknown version",
        "GET",
        &format!("/v2/models/{name}/versions/9.9.9"),
        None,
        None,
        status,
        message,
    );
    add(
        "v2 malformed JSON",
        "POST",
        &infer,
        None,
        Some("{\"inputs\": [".into()),
        400,
        "malformed JSON".into(),
    );
    add(
        "v2 missing inputs",
        "POST",
        &infer,
        None,
        Some("{}".into()),
        400,
        "missing field `inputs`".into(),
    );
    let one = tensor(json!([1, width]), "FP64", Value::from(row.clone()));
    let mut two = one.clone();
    two["inputs"] = json!([one["inputs"][0], one["inputs"][0]]);
    let (status, message) = v2(TensorError::InputCount { found: 2 }.into());
    add(
        "v2 two inputs",
        "POST",
        &infer,
        None,
        Some(two.to_string()),
        status,
        message,
    );
    let (status, message) = v2(TensorError::DataLength {
        input: "input".into(),
        shape: vec![2, width as i64],
        needed: 2 * width,
        found: width,
    }
    .into());
    add(
        "v2 shape disagrees with data",
        "POST",
        &infer,
        None,
        Some(tensor(json!([2, width]), "FP64", Value::from(row.clone())).to_string()),
        status,
        message,
    );
    let (status, message) = v2(TensorError::Rank {
        input: "input".into(),
        shape: vec![width as i64],
    }
    .into());
    add(
        "v2 one-dimensional shape",
        "POST",
        &infer,
        None,
        Some(tensor(json!([width]), "FP64", Value::from(row.clone())).to_string()),
        status,
        message,
    );
    let (status, message) = v2(ApiError::Width {
        input: "input".into(),
        expected: width,
        found: width + 1,
    });
    add(
        "v2 wrong feature count",
        "POST",
        &infer,
        None,
        Some(tensor(json!([1, width + 1]), "FP64", Value::from(long_row(&row))).to_string()),
        status,
        message,
    );
    let (status, message) = v2(TensorError::Datatype {
        input: "input".into(),
        datatype: "BOOL".into(),
    }
    .into());
    add(
        "v2 unsupported datatype",
        "POST",
        &infer,
        None,
        Some(tensor(json!([1, width]), "BOOL", Value::from(row.clone())).to_string()),
        status,
        message,
    );
    let mut fraction = vec![json!(1); width];
    fraction[0] = json!(1.5);
    let (status, message) = v2(TensorError::OutOfType {
        input: "input".into(),
        element: 0,
        value: 1.5,
        datatype: "INT32".into(),
    }
    .into());
    add(
        "v2 fraction in an integer tensor",
        "POST",
        &infer,
        None,
        Some(tensor(json!([1, width]), "INT32", Value::from(fraction)).to_string()),
        status,
        message,
    );
    let nan_tensor = format!(
        "{{\"inputs\": [{{\"name\": \"input\", \"shape\": [1, {width}], \"datatype\": \"FP64\", \"data\": {nan_row}}}]}}"
    );
    let (status, message) = v2(ApiError::Input(InputError::NonFinite {
        row: 0,
        feature: first.clone(),
    }));
    add(
        "v2 NaN token",
        "POST",
        &infer,
        None,
        Some(nan_tensor),
        status,
        message,
    );
    let huge_tensor = format!(
        "{{\"inputs\": [{{\"name\": \"input\", \"shape\": [1, {width}], \"datatype\": \"FP64\", \"data\": {huge_row}}}]}}"
    );
    let (status, message) = v2(ApiError::Input(InputError::NonFinite {
        row: 0,
        feature: first.clone(),
    }));
    add(
        "v2 a number too large for a double",
        "POST",
        &infer,
        None,
        Some(huge_tensor),
        status,
        message,
    );
    let (status, message) = v2(ApiError::Input(InputError::Empty));
    add(
        "v2 empty batch",
        "POST",
        &infer,
        None,
        Some(tensor(json!([0, width]), "FP64", json!([])).to_string()),
        status,
        message,
    );
    let mut outputs = one.clone();
    outputs["outputs"] = json!([{"name": "logits"}]);
    let (status, message) = v2(TensorError::UnknownOutput {
        name: "logits".into(),
    }
    .into());
    add(
        "v2 unknown output",
        "POST",
        &infer,
        None,
        Some(outputs.to_string()),
        status,
        message,
    );
    let (status, message) = v2(ApiError::UnsupportedMediaType {
        mime: "text/plain".into(),
    });
    add(
        "v2 text content type",
        "POST",
        &infer,
        Some("text/plain"),
        Some(one.to_string()),
        status,
        message,
    );
    add(
        "v2 wrong method",
        "GET",
        &infer,
        None,
        None,
        405,
        "use POST".into(),
    );
    add(
        "v2 unknown route",
        "GET",
        "/v2/repository/index",
        None,
        None,
        404,
        "no route".into(),
    );

    // The binary tensor data extension: a JSON header, then the tensor's bytes. The bytes are
    // UINT8 letters, so that the body stays text.
    let header = |size: usize, data: Option<&Value>| {
        let mut input = json!({"name": "input", "shape": [1, width], "datatype": "UINT8",
                               "parameters": {"binary_data_size": size}});
        if let Some(data) = data {
            input["data"] = data.clone();
        }
        json!({ "inputs": [input] }).to_string()
    };
    let letters = |n: usize| "a".repeat(n);
    let binary = |name: &str, json: String, tensors: String, length: String, error: ApiError| {
        let (status, message) = v2(error);
        BadInput {
            name: name.to_owned(),
            method: "POST".into(),
            path: infer.clone(),
            content_type: None,
            body: Some(json + &tensors),
            headers: vec![("Inference-Header-Content-Length".into(), length)],
            status,
            error_contains: message,
        }
    };
    let whole = header(width, None);
    let body_len = whole.len() + width;
    let data = Value::from(vec![97; width]);
    cases.extend([
        binary(
            "v2 binary header length past the body",
            whole.clone(),
            letters(width),
            (body_len + 1).to_string(),
            TensorError::HeaderLength {
                value: (body_len + 1).to_string(),
                body: body_len,
            }
            .into(),
        ),
        binary(
            "v2 binary header length not a number",
            whole.clone(),
            letters(width),
            "0x10".into(),
            TensorError::HeaderLength {
                value: "0x10".into(),
                body: body_len,
            }
            .into(),
        ),
        binary(
            "v2 binary sizes do not add up to the body",
            whole.clone(),
            letters(width - 1),
            whole.len().to_string(),
            TensorError::BinaryTotal {
                declared: width as u64,
                found: width - 1,
            }
            .into(),
        ),
        binary(
            "v2 binary size is not the shape's",
            header(width + 1, None),
            letters(width + 1),
            header(width + 1, None).len().to_string(),
            TensorError::BinarySize {
                input: "input".into(),
                size: width as u64 + 1,
                shape: vec![1, width as i64],
                datatype: "UINT8".into(),
                expected: width,
            }
            .into(),
        ),
        binary(
            "v2 binary input with data too",
            header(width, Some(&data)),
            letters(width),
            header(width, Some(&data)).len().to_string(),
            TensorError::BinaryAndData {
                input: "input".into(),
            }
            .into(),
        ),
    ]);
    let not_json = "not json".to_owned();
    let (status, _) = v2(ApiError::Malformed {
        detail: String::new(),
    });
    cases.push(BadInput {
        name: "v2 binary header is not JSON".into(),
        method: "POST".into(),
        path: infer.clone(),
        content_type: None,
        body: Some(not_json.clone() + &letters(width)),
        headers: vec![(
            "Inference-Header-Content-Length".into(),
            not_json.len().to_string(),
        )],
        status,
        error_contains: "malformed JSON".into(),
    });

    BadInputs {
        model: name.to_owned(),
        cases,
    }
}

fn long_row(row: &[Value]) -> Vec<Value> {
    let mut long = row.to_vec();
    long.push(json!(1.0));
    long
}

/// A finite row whose score overflows, if the model has one: every value at ±1.7e308, signed
/// to push each weight's term the same way. Confirmed with the oracle itself.
fn overflowing_row(oracle: &Artifact) -> Option<Vec<f64>> {
    let model = oracle.model();
    let width = model.features().len();
    [1.7e308, -1.7e308]
        .into_iter()
        .map(|v| vec![v; width])
        .find(|row| {
            Rows::from_rows(std::slice::from_ref(row), model.features())
                .map(|rows| {
                    matches!(
                        model.predict(&rows),
                        Err(PredictError::ScoreOverflow { .. })
                    )
                })
                .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_of_bad_input_is_in_the_catalogue() {
        let catalogue = generate(&Artifact::embedded().unwrap());
        assert_eq!(catalogue.model, "wine-quality");
        assert_eq!(catalogue.cases.len(), 48);
        let names: Vec<&str> = catalogue.cases.iter().map(|c| c.name.as_str()).collect();
        for name in [
            "score overflow",
            "feature given twice",
            "v2 NaN token",
            "v2 unknown version",
            "v2 binary sizes do not add up to the body",
            "v2 binary header is not JSON",
        ] {
            assert!(names.contains(&name), "{name} is missing");
        }
        // Every expected status is an error status, with a message to look for.
        assert!(
            catalogue
                .cases
                .iter()
                .all(|c| c.status >= 400 && !c.error_contains.is_empty())
        );
    }
}
