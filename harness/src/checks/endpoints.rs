//! Every route of the contract answers as documented, with the served model's facts.

use serde_json::{Value, json};
use server::Artifact;
use server::routes::ROUTES;

use crate::checks::{Passed, Verdict, ensure, why};
use crate::client::{Answer, Client};

/// Asks every route once and checks status, content type and body.
pub fn run(client: &Client, oracle: &Artifact) -> Verdict {
    let model = oracle.model();
    let (name, version) = (oracle.name(), oracle.version());
    let mut exercised: Vec<&str> = vec![];
    let mut get = |template: &'static str, path: &str| -> Result<Answer, String> {
        exercised.push(template);
        let answer = client.get(path).map_err(why)?;
        ensure!(
            answer.status == 200,
            "GET {path} answered {}: {}",
            answer.status,
            answer.body
        );
        Ok(answer)
    };
    let json_of = |answer: &Answer, path: &str| -> Result<Value, String> {
        ensure!(
            answer.content_type.as_deref() == Some("application/json"),
            "GET {path}: content type {:?}",
            answer.content_type
        );
        answer
            .json()
            .ok_or_else(|| format!("GET {path}: not JSON: {}", answer.body))
    };

    let health = get("/health", "/health")?;
    ensure!(
        json_of(&health, "/health")? == json!({"status": "ok"}),
        "/health: {}",
        health.body
    );
    let ready = get("/ready", "/ready")?;
    ensure!(
        json_of(&ready, "/ready")? == json!({"status": "ready"}),
        "/ready: {}",
        ready.body
    );

    let info = json_of(&get("/model", "/model")?, "/model")?;
    let expected = json!({
        "name": name, "version": version, "kind": model.kind().as_str(),
        "features": model.features(), "classes": model.classes(),
        "artifact_sha256": oracle.sha256(), "training": oracle.training(),
    });
    ensure!(
        info == expected,
        "/model: {info} differs from the artifact's {expected}"
    );

    let metrics = get("/metrics", "/metrics")?;
    ensure!(
        metrics
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "/metrics: content type {:?}",
        metrics.content_type
    );
    let sha = oracle.sha256();
    ensure!(
        metrics.body.contains(&format!("artifact_sha256=\"{sha}\""))
            && metrics.body.ends_with("# EOF\n"),
        "/metrics lacks the model info or the EOF marker"
    );
    ensure!(
        metrics
            .body
            .contains("http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"}"),
        "/metrics does not count requests"
    );

    let openapi = json_of(&get("/openapi.json", "/openapi.json")?, "/openapi.json")?;
    let documented: Value = serde_json::from_str(server::handlers::OPENAPI).map_err(why)?;
    ensure!(
        openapi == documented,
        "/openapi.json differs from the server's document"
    );

    let v2 = json_of(&get("/v2", "/v2")?, "/v2")?;
    ensure!(
        v2["name"].is_string() && v2["version"].is_string() && v2["extensions"].is_array(),
        "/v2: {v2}"
    );
    ensure!(
        json_of(
            &get("/v2/health/live", "/v2/health/live")?,
            "/v2/health/live"
        )? == json!({"live": true}),
        "/v2/health/live"
    );
    ensure!(
        json_of(
            &get("/v2/health/ready", "/v2/health/ready")?,
            "/v2/health/ready"
        )? == json!({"ready": true}),
        "/v2/health/ready"
    );

    let width = model.features().len() as i64;
    let classes = model.classes().len() as i64;
    for (template, path) in [
        ("/v2/models/{name}", format!("/v2/models/{name}")),
        (
            "/v2/models/{name}/versions/{version}",
            format!("/v2/models/{name}/versions/{version}"),
        ),
    ] {
        let meta = json_of(&get(template, &path)?, &path)?;
        ensure!(
            meta["name"] == name && meta["versions"] == json!([version]),
            "{path}: {meta}"
        );
        ensure!(
            meta["inputs"][0]["shape"] == json!([-1, width]),
            "{path}: input shape {}",
            meta["inputs"][0]
        );
        ensure!(
            meta["outputs"]
                == json!([
                    {"name": "label", "datatype": "BYTES", "shape": [-1]},
                    {"name": "probabilities", "datatype": "FP64", "shape": [-1, classes]},
                ]),
            "{path}: outputs {}",
            meta["outputs"]
        );
    }
    for (template, path) in [
        (
            "/v2/models/{name}/ready",
            format!("/v2/models/{name}/ready"),
        ),
        (
            "/v2/models/{name}/versions/{version}/ready",
            format!("/v2/models/{name}/versions/{version}/ready"),
        ),
    ] {
        let body = json_of(&get(template, &path)?, &path)?;
        ensure!(
            body == json!({"name": name, "ready": true}),
            "{path}: {body}"
        );
    }

    let row = vec![0.5; model.features().len()];
    let seed = client
        .post_json("/predict", &json!({"instances": [row]}))
        .map_err(why)?;
    ensure!(
        seed.status == 200,
        "POST /predict answered {}: {}",
        seed.status,
        seed.body
    );
    exercised.push("/predict");
    for (template, path) in [
        (
            "/v2/models/{name}/infer",
            format!("/v2/models/{name}/infer"),
        ),
        (
            "/v2/models/{name}/versions/{version}/infer",
            format!("/v2/models/{name}/versions/{version}/infer"),
        ),
    ] {
        let body = json!({"inputs": [{"name": "input", "shape": [1, width], "datatype": "FP64", "data": row}]});
        let answer = client
            .send("POST", &path, None, Some(body.to_string().into_bytes()))
            .map_err(why)?;
        ensure!(
            answer.status == 200,
            "POST {path} answered {}: {}",
            answer.status,
            answer.body
        );
        exercised.push(template);
    }

    let missing: Vec<&str> = ROUTES
        .iter()
        .map(|(_, t)| *t)
        .filter(|t| !exercised.contains(t))
        .collect();
    ensure!(missing.is_empty(), "routes not exercised: {missing:?}");
    Ok(Passed::new(format!(
        "{} routes answered as documented",
        ROUTES.len()
    )))
}
