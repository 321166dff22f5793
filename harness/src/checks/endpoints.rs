//! Every route of the contract answers as documented, with the served model's facts.

use serde_json::{Value, json};
use server::Artifact;
use server::contract::openapi;
use server::contract::routes::{Endpoint, PREDICT, ROUTES, Route};
use server::contract::v2::{LABEL, PROBABILITIES};

use crate::checks::{Passed, Verdict, ensure, why};
use crate::client::{Answer, Client, Served};
use crate::rows::{Row, Schema, Tensors};

/// Asks every route in the table once and checks status, content type and body.
pub fn run(client: &Client, oracle: &Artifact, served: &Served) -> Verdict {
    let model = oracle.model();
    let (name, version) = (oracle.name(), oracle.version());
    let classes = model.classes().len();
    let schema = Schema::of(oracle);
    let rows = [schema.filled(0.5)];
    for route in &ROUTES {
        let path = route.path(name, version);
        let answer = ask(client, route, &path, &rows, &schema).map_err(why)?;
        ensure!(
            answer.status == 200,
            "{} {path} answered {}: {}",
            route.method,
            answer.status,
            answer.body
        );
        if route.endpoint == Endpoint::Metrics {
            metrics(&answer, oracle)?;
            prometheus_text(&client.get(&path).map_err(why)?)?;
            continue;
        }
        ensure!(
            answer.content_type.as_deref() == Some("application/json"),
            "{path}: content type {:?}",
            answer.content_type
        );
        let body = answer
            .json()
            .ok_or_else(|| format!("{path}: not JSON: {}", answer.body))?;
        let expected = match route.endpoint {
            Endpoint::Health => Some(json!({"status": "ok"})),
            Endpoint::Ready => Some(json!({"status": "ready"})),
            Endpoint::V2Live => Some(json!({"live": true})),
            Endpoint::V2Ready => Some(json!({"ready": true})),
            Endpoint::V2ModelReady | Endpoint::V1Model => {
                Some(json!({"name": name, "ready": true}))
            }
            Endpoint::V1Models => Some(json!({"models": [name]})),
            Endpoint::Model => {
                let mut expected = json!({
                    "name": name, "version": version, "kind": model.kind().as_str(),
                    "features": model.features(), "classes": model.classes(),
                    "artifact_sha256": oracle.sha256(), "origin": oracle.origin(),
                    "training": oracle.training(),
                    "limits": served.limits,
                });
                // A model with column blocks describes each input: kind, categories, nulls.
                if let Some(columns) = model.columns() {
                    let inputs: Vec<_> = columns.features().iter().map(|f| f.describe()).collect();
                    expected["inputs"] = json!(inputs);
                }
                Some(expected)
            }
            Endpoint::OpenApi => Some(openapi::document(oracle, served.limits)),
            _ => None,
        };
        if let Some(expected) = expected {
            ensure!(body == expected, "{path}: {body} differs from {expected}");
        }
        match route.endpoint {
            Endpoint::V2Server => ensure!(
                body["name"].is_string()
                    && body["version"].is_string()
                    && body["extensions"].is_array(),
                "{path}: {body}"
            ),
            Endpoint::V2Model => v2_metadata(&path, &body, name, version, &schema, classes)?,
            Endpoint::Predict => ensure!(
                body["predictions"].as_array().map(Vec::len) == Some(1),
                "{path}: {body}"
            ),
            Endpoint::V2Infer => ensure!(
                body["id"] == "e" && body["model_name"] == name,
                "{path}: {body}"
            ),
            // Labels, or probability rows when the server runs with PREDICT_PROBA=true; either
            // is the oracle's answer for the row.
            Endpoint::V1Predict => v1_predictions(&path, &body, oracle, &rows)?,
            Endpoint::OpenApi => examples_are_accepted(client, oracle, &body)?,
            _ => {}
        }
    }
    Ok(Passed::new(format!(
        "{} routes answered as documented",
        ROUTES.len()
    )))
}

/// Asks `route` once, as a client of its API would.
fn ask(
    client: &Client,
    route: &Route,
    path: &str,
    rows: &[Row],
    schema: &Schema,
) -> Result<Answer, crate::error::HarnessError> {
    match route.method {
        "POST" if route.endpoint == Endpoint::Predict => client.predict(rows),
        "POST" if route.endpoint == Endpoint::V1Predict => {
            client.post_json(path, &crate::client::predict_body(rows))
        }
        "POST" => client.send(
            "POST",
            path,
            None,
            Some(
                crate::client::infer_body(rows, schema, Some("e"))
                    .to_string()
                    .into_bytes(),
            ),
        ),
        // A Prometheus scraper asks for OpenMetrics; the plain text is checked below.
        _ if route.endpoint == Endpoint::Metrics => client.send_with(
            "GET",
            path,
            None,
            &[("Accept", "application/openmetrics-text; version=1.0.0")],
            None,
        ),
        _ => client.get(path),
    }
}

/// A V1 answer is the oracle's, as labels or as probability rows.
fn v1_predictions(path: &str, body: &Value, oracle: &Artifact, rows: &[Row]) -> Result<(), String> {
    let model = oracle.model();
    let checked = server::contract::fixtures::checked(model, rows).map_err(why)?;
    let expected = model.predict_batch(&checked).map_err(why)?;
    let labels: Vec<&str> = expected
        .iter()
        .map(|p| model.classes()[p.class].as_str())
        .collect();
    let probabilities: Vec<&[f64]> = expected
        .iter()
        .map(|p| p.probabilities.as_slice())
        .collect();
    ensure!(
        body["predictions"] == json!(labels) || body["predictions"] == json!(probabilities),
        "{path}: {body} is neither the labels {labels:?} nor the probabilities {probabilities:?}"
    );
    Ok(())
}

/// The document's own examples are requests the service answers with 200.
fn examples_are_accepted(client: &Client, oracle: &Artifact, doc: &Value) -> Result<(), String> {
    let schemas = &doc["components"]["schemas"];
    let infer = crate::client::infer_path(oracle.name());
    let v1 = crate::client::v1_predict_path(oracle.name());
    for (path, example) in [
        (PREDICT, &schemas["PredictRequest"]["example"]),
        (infer.as_str(), &schemas["V2InferRequest"]["example"]),
        (v1.as_str(), &schemas["V1PredictRequest"]["example"]),
    ] {
        let answer = client.post_json(path, example).map_err(why)?;
        ensure!(
            answer.status == 200,
            "/openapi.json's example for {path} answered {}: {}",
            answer.status,
            answer.body
        );
    }
    Ok(())
}

fn v2_metadata(
    path: &str,
    meta: &Value,
    name: &str,
    version: &str,
    schema: &Schema,
    classes: usize,
) -> Result<(), String> {
    ensure!(
        meta["name"] == name && meta["versions"] == json!([version]),
        "{path}: {meta}"
    );
    match schema.tensors {
        Tensors::Matrix => ensure!(
            meta["inputs"][0]["shape"] == json!([-1, schema.width()]),
            "{path}: input shape {}",
            meta["inputs"][0]
        ),
        Tensors::PerInput => {
            let inputs: Vec<Value> = schema
                .inputs
                .iter()
                .map(|i| json!({"name": i.name, "datatype": i.datatype(), "shape": [-1]}))
                .collect();
            ensure!(
                meta["inputs"] == json!(inputs),
                "{path}: inputs {}, expected one per feature: {}",
                meta["inputs"],
                json!(inputs)
            );
        }
    }
    ensure!(
        meta["outputs"]
            == json!([
                {"name": LABEL, "datatype": "BYTES", "shape": [-1]},
                {"name": PROBABILITIES, "datatype": "FP64", "shape": [-1, classes]},
            ]),
        "{path}: outputs {}",
        meta["outputs"]
    );
    Ok(())
}

/// Without OpenMetrics in `Accept`, the Prometheus text format 0.0.4.
fn prometheus_text(answer: &Answer) -> Result<(), String> {
    ensure!(
        answer.status == 200
            && answer
                .content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "/metrics without Accept: {} {:?}",
        answer.status,
        answer.content_type
    );
    ensure!(
        !answer.body.contains("# EOF")
            && answer.body.contains("# TYPE http_requests_total counter"),
        "/metrics without Accept is not Prometheus text"
    );
    Ok(())
}

fn metrics(answer: &Answer, oracle: &Artifact) -> Result<(), String> {
    ensure!(
        answer
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "/metrics: content type {:?}",
        answer.content_type
    );
    let sha = oracle.sha256();
    ensure!(
        answer.body.contains(&format!("artifact_sha256=\"{sha}\""))
            && answer.body.ends_with("# EOF\n"),
        "/metrics lacks the model info or the EOF marker"
    );
    ensure!(
        answer
            .body
            .contains("http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"}"),
        "/metrics does not count requests"
    );
    Ok(())
}
