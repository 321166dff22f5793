//! Any Open Inference Protocol (V2) server, checked against an artifact: health, metadata,
//! readiness, refusal of bad requests, and parity within a stated tolerance.
//!
//! What a foreign server must do to pass each check is the protocol's minimum, not this
//! project's contract; where it answers differently from this project's server (an exact
//! status, a body's shape, metadata details), that is reported as a finding beside the
//! verdict, never as a failure:
//!
//! | check | passes when | findings |
//! |---|---|---|
//! | health | `/v2/health/live` and `/ready` answer 200 | a body other than `{"live": true}` / `{"ready": true}` |
//! | server metadata | `GET /v2` answers 200 with a JSON object naming the server | missing `version` or `extensions` |
//! | model metadata | `GET /v2/models/{name}` answers 200 naming the model | no input of `[-1, F]`, output names |
//! | model ready | `GET /v2/models/{name}/ready` answers 200 | |
//! | bad request | malformed JSON to infer gets a 4xx with a non-empty body, and the server still answers | a status other than 400, a body other than `{"error": …}` |
//! | unknown model | infer on a model it does not serve gets a 4xx | a status other than 404 |
//! | parity | every probability within `tolerance` of the oracle's (0: to the bit), labels equal | |
//!
//! Parity rows are drawn within the artifact's feature ranges (never ±1e300 against a foreign
//! server), and the report always gives the largest difference and the bit-identical count.

use serde_json::{Value, json};
use server::Artifact;

use crate::answers::{self, one_line};
use crate::checks::{Check, Foreign, Passed, Verdict, ensure, foreign, why};
use crate::classes::ClassOrder;
use crate::client::Client;
use crate::protocol::ProtocolOptions;
use crate::rows::Schema;

/// Every V2 check against the server at `client`, which should serve `oracle`'s model (under
/// the name in `options`, by default the artifact's).
pub fn run(client: &Client, oracle: &Artifact, options: &ProtocolOptions) -> Foreign {
    let name = options.model_name.as_deref().unwrap_or(oracle.name());
    let named = |check: &str| format!("v2 {check} ({name})");
    let (parity, class_order) = parity(client, oracle, name, options);
    let checks = vec![
        Check::from(&named("health"), health(client)),
        Check::from(&named("server metadata"), server_metadata(client)),
        Check::from(
            &named("model metadata"),
            model_metadata(client, oracle, name),
        ),
        Check::from(
            &named("model ready"),
            expect_200(client, &format!("/v2/models/{name}/ready")).map(|_| Passed::new("200")),
        ),
        Check::from(&named("bad request"), bad_request(client, name)),
        Check::from(
            &named("unknown model"),
            unknown_model(client, oracle, options),
        ),
        Check::from(&format!("parity: V2 ({name})"), parity),
    ];
    Foreign {
        checks,
        class_order,
    }
}

fn expect_200(client: &Client, path: &str) -> Result<Option<Value>, String> {
    let answer = client.get(path).map_err(why)?;
    ensure!(
        answer.status == 200,
        "GET {path} answered {}: {}",
        answer.status,
        answer.body
    );
    Ok(answer.json())
}

fn health(client: &Client) -> Verdict {
    let mut findings = vec![];
    for (path, expected) in [
        ("/v2/health/live", json!({"live": true})),
        ("/v2/health/ready", json!({"ready": true})),
    ] {
        let body = expect_200(client, path)?;
        if body.as_ref() != Some(&expected) {
            findings.push(format!("{path} answers {body:?}, not {expected}"));
        }
    }
    Ok(Passed::new("live and ready answer 200").finding(findings))
}

fn server_metadata(client: &Client) -> Verdict {
    let body = expect_200(client, "/v2")?.ok_or("GET /v2: not JSON")?;
    ensure!(body["name"].is_string(), "GET /v2 names no server: {body}");
    let findings = ["version", "extensions"]
        .into_iter()
        .filter(|key| body.get(*key).is_none())
        .map(|key| format!("GET /v2 has no {key:?}"));
    Ok(Passed::new(format!("server {}", body["name"])).finding(findings))
}

fn model_metadata(client: &Client, oracle: &Artifact, name: &str) -> Verdict {
    let path = format!("/v2/models/{name}");
    let body = expect_200(client, &path)?.ok_or_else(|| format!("GET {path}: not JSON"))?;
    ensure!(body["name"] == name, "GET {path} names {}", body["name"]);
    let width = oracle.model().features().len() as i64;
    let mut findings = vec![];
    let shapes: Vec<&Value> = body["inputs"]
        .as_array()
        .map(|inputs| inputs.iter().map(|i| &i["shape"]).collect())
        .unwrap_or_default();
    if !shapes.iter().any(|s| **s == json!([-1, width])) {
        findings.push(format!(
            "no input of shape [-1, {width}] declared (inputs {})",
            body["inputs"]
        ));
    }
    let outputs: Vec<&str> = body["outputs"]
        .as_array()
        .map(|o| o.iter().filter_map(|o| o["name"].as_str()).collect())
        .unwrap_or_default();
    findings.push(format!("declared outputs: {outputs:?}"));
    Ok(Passed::new(format!("{path} answers 200 naming the model")).finding(findings))
}

fn bad_request(client: &Client, name: &str) -> Verdict {
    let path = format!("/v2/models/{name}/infer");
    let answer = client
        .send(
            "POST",
            &path,
            Some("application/json"),
            Some(b"{\"inputs\": [".to_vec()),
        )
        .map_err(why)?;
    ensure!(
        (400..500).contains(&answer.status) && !answer.body.trim().is_empty(),
        "malformed JSON to {path} answered {} with {:?}: a 4xx with a readable body was expected",
        answer.status,
        answer.body
    );
    let mut findings = vec![];
    if answer.status != 400 {
        findings.push(format!(
            "malformed JSON answered {}, not 400",
            answer.status
        ));
    }
    if !answer.json().is_some_and(|b| b["error"].is_string()) {
        findings.push(format!(
            "the error body is not {{\"error\": …}}: {}",
            one_line(&answer.body)
        ));
    }
    let live = client.get("/v2/health/live").map_err(why)?;
    ensure!(
        live.status == 200,
        "after a bad request /v2/health/live answered {}",
        live.status
    );
    Ok(Passed::new(format!(
        "refused with {}; the server still answers",
        answer.status
    ))
    .finding(findings))
}

fn unknown_model(client: &Client, oracle: &Artifact, options: &ProtocolOptions) -> Verdict {
    let schema = Schema::of(oracle);
    let rows = schema.within(1, 3);
    let path = "/v2/models/no-such-model-here/infer";
    let answer = answers::v2_request(client, path, &rows, &schema, options)?;
    foreign::unknown_model_refused(answer.status, &answer.header.to_string())
}

fn parity(
    client: &Client,
    oracle: &Artifact,
    name: &str,
    options: &ProtocolOptions,
) -> (Verdict, Option<ClassOrder>) {
    let schema = Schema::of(oracle);
    foreign::parity(oracle, options, |batch| {
        answers::v2(client, name, batch, &schema, options)
    })
}
