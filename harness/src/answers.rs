//! A V2 or KServe V1 server's answers to rows, as it gives them: per row a label and a row of
//! probabilities in its own column order, before [`crate::classes`] says which column is which
//! class. The checks and the diff both ask through here, so both read a server alike.

use serde_json::{Value, json};

use crate::classes::Columns;
use crate::client::{
    Client, Elements, V2Answer, infer_binary_body, infer_body, infer_path, v1_predict_path,
};
use crate::error::chain;
use crate::protocol::{ProtocolOptions, V1Output};
use crate::rows::{Row, Schema};

/// Sends `rows` to a V2 `path`, asking for the configured outputs, as JSON or as binary tensor
/// data.
pub fn v2_request(
    client: &Client,
    path: &str,
    rows: &[Row],
    schema: &Schema,
    options: &ProtocolOptions,
) -> Result<V2Answer, String> {
    let mut outputs = vec![options.probabilities.as_str()];
    outputs.extend(options.labels.as_deref());
    if options.binary {
        let (header, tensors) = infer_binary_body(rows, schema, &options.input, &outputs);
        return client
            .infer_binary(path, &header, &tensors)
            .map_err(|e| chain(&e));
    }
    let mut body = infer_body(rows, schema, None);
    body["inputs"] = json!(schema.tensors_json(rows, &options.input));
    body["outputs"] = outputs.iter().map(|name| json!({ "name": name })).collect();
    let answer = client.post_json(path, &body).map_err(|e| chain(&e))?;
    Ok(V2Answer::from_json(&answer))
}

/// Each row's answer from a V2 server: its probabilities, and its label when the server
/// answers one. An error says why the whole request was refused.
pub fn v2(
    client: &Client,
    model: &str,
    rows: &[Row],
    schema: &Schema,
    options: &ProtocolOptions,
) -> Result<Vec<Columns>, String> {
    let path = infer_path(model);
    let answer = v2_request(client, &path, rows, schema, options)?;
    if answer.status != 200 {
        return Err(format!(
            "POST {path} answered {}: {}",
            answer.status,
            one_line(&answer.header.to_string())
        ));
    }
    let probabilities = match answer.output(&options.probabilities)? {
        Elements::Numbers(numbers) => numbers,
        Elements::Text(text) => {
            return Err(format!("{:?} holds text: {text:?}", options.probabilities));
        }
    };
    if rows.is_empty() || probabilities.len() % rows.len() != 0 {
        return Err(format!(
            "{} probabilities for {} rows",
            probabilities.len(),
            rows.len()
        ));
    }
    let labels = match &options.labels {
        Some(name) => Some(match answer.output(name)? {
            Elements::Text(text) => text,
            // Numeric classes may come back as numbers.
            Elements::Numbers(numbers) => numbers.iter().map(f64::to_string).collect(),
        }),
        None => None,
    };
    if labels.as_ref().is_some_and(|l| l.len() != rows.len()) {
        return Err(format!(
            "labels of another length than the {} rows",
            rows.len()
        ));
    }
    let width = probabilities.len() / rows.len();
    Ok(probabilities
        .chunks(width)
        .enumerate()
        .map(|(i, p)| Columns {
            label: labels.as_ref().map(|l| l[i].clone()),
            probabilities: Some(p.to_vec()),
        })
        .collect())
}

/// Each row's answer from KServe's V1 `:predict`, the rows sent as arrays (what KServe's
/// scikit-learn server turns into one array): a label, or a row of probabilities, as the
/// server was started.
pub fn v1(
    client: &Client,
    model: &str,
    rows: &[Row],
    options: &ProtocolOptions,
) -> Result<Vec<Columns>, String> {
    let path = v1_predict_path(model);
    let answer = client
        .post_json(&path, &json!({ "instances": rows }))
        .map_err(|e| chain(&e))?;
    if answer.status != 200 {
        return Err(format!(
            "POST {path} answered {}: {}",
            answer.status,
            one_line(&answer.body)
        ));
    }
    let body = answer.json().ok_or_else(|| format!("{path}: not JSON"))?;
    let predictions = body["predictions"]
        .as_array()
        .filter(|p| p.len() == rows.len())
        .ok_or_else(|| format!("{path}: no predictions for {} rows: {body}", rows.len()))?;
    predictions
        .iter()
        .map(|p| match options.v1_output {
            V1Output::Labels => Ok(Columns {
                label: Some(text(p).ok_or_else(|| format!("{p} is not a label"))?),
                probabilities: None,
            }),
            V1Output::Probabilities => Ok(Columns {
                label: None,
                probabilities: Some(
                    p.as_array()
                        .and_then(|row| row.iter().map(Value::as_f64).collect())
                        .ok_or_else(|| format!("{p} is not a row of probabilities"))?,
                ),
            }),
        })
        .collect()
}

/// A label as text: a string, or a number as the class it names.
fn text(label: &Value) -> Option<String> {
    match label {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Folds a multi-line text (a body, a shrunk proptest input) onto one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
