//! Any KServe V1 server, checked against an artifact: its `:predict` answers labels, or rows
//! of probabilities when it runs with `PREDICT_PROBA`, and nothing else about it is assumed.
//!
//! | check | passes when | findings |
//! |---|---|---|
//! | model ready | `GET /v1/models/{name}` answers 200 with `"ready": true` | not listed by `GET /v1/models` |
//! | bad request | malformed JSON to `:predict` gets a 4xx, and the server still answers | a status other than 400 |
//! | unknown model | `:predict` on a model it does not serve gets a 4xx | a status other than 404 |
//! | parity | labels equal the artifact's; probabilities, in the server's class order, within `tolerance` | |
//!
//! Rows go as arrays, as KServe's scikit-learn server takes them (it builds one array, or a
//! data frame per instance from column objects, never from row objects of scalars). The V2
//! checks are reported not run, with the reason.

use serde_json::json;
use server::Artifact;

use crate::answers::{self, one_line};
use crate::checks::{Check, Foreign, Passed, Verdict, ensure, foreign, why};
use crate::classes::ClassOrder;
use crate::client::{Client, v1_predict_path};
use crate::protocol::{ProtocolOptions, V1Output};
use crate::rows::Schema;

/// The V2 checks, by the names [`v2::run`] gives them, reported not run.
const V2_CHECKS: [&str; 6] = [
    "health",
    "server metadata",
    "model metadata",
    "model ready",
    "bad request",
    "unknown model",
];

/// Every V1 check against the server at `client`, which should serve `oracle`'s model.
pub fn run(client: &Client, oracle: &Artifact, options: &ProtocolOptions) -> Foreign {
    let name = options.model_name.as_deref().unwrap_or(oracle.name());
    let named = |check: &str| format!("v1 {check} ({name})");
    let (parity, class_order) = parity(client, oracle, name, options);
    let mut checks = vec![
        Check::from(&named("model ready"), model_ready(client, name)),
        Check::from(&named("bad request"), bad_request(client, name)),
        Check::from(&named("unknown model"), unknown_model(client, oracle)),
        Check::from(&format!("parity: V1 ({name})"), parity),
    ];
    let why = "--protocol v1: the server is asked only KServe V1";
    checks.extend(
        V2_CHECKS
            .iter()
            .map(|check| Check::not_run(&format!("v2 {check} ({name})"), why)),
    );
    Foreign {
        checks,
        class_order,
    }
}

fn model_ready(client: &Client, name: &str) -> Verdict {
    let path = format!("/v1/models/{name}");
    let answer = client.get(&path).map_err(why)?;
    let body = answer.json().unwrap_or_default();
    ensure!(
        answer.status == 200 && body["ready"] == true,
        "GET {path} answered {}: {}",
        answer.status,
        one_line(&answer.body)
    );
    let listed = client
        .get("/v1/models")
        .ok()
        .and_then(|a| a.json())
        .is_some_and(|b| {
            b["models"]
                .as_array()
                .is_some_and(|m| m.contains(&json!(name)))
        });
    let finding = (!listed).then(|| format!("GET /v1/models does not list {name:?}"));
    Ok(Passed::new(format!("{path} answers ready")).finding(finding))
}

fn bad_request(client: &Client, name: &str) -> Verdict {
    let path = v1_predict_path(name);
    let answer = client
        .send(
            "POST",
            &path,
            Some("application/json"),
            Some(b"{\"instances\": [".to_vec()),
        )
        .map_err(why)?;
    ensure!(
        (400..500).contains(&answer.status),
        "malformed JSON to {path} answered {}: {}",
        answer.status,
        one_line(&answer.body)
    );
    let after = client.get(&format!("/v1/models/{name}")).map_err(why)?;
    ensure!(
        after.status == 200,
        "after a bad request GET /v1/models/{name} answered {}",
        after.status
    );
    let finding = (answer.status != 400)
        .then(|| format!("malformed JSON answered {}, not 400", answer.status));
    Ok(Passed::new(format!(
        "refused with {}; the server still answers",
        answer.status
    ))
    .finding(finding))
}

fn unknown_model(client: &Client, oracle: &Artifact) -> Verdict {
    let rows = Schema::of(oracle).within(1, 3);
    let path = v1_predict_path("no-such-model-here");
    let answer = client
        .post_json(&path, &json!({ "instances": rows }))
        .map_err(why)?;
    foreign::unknown_model_refused(answer.status, &answer.body)
}

fn parity(
    client: &Client,
    oracle: &Artifact,
    name: &str,
    options: &ProtocolOptions,
) -> (Verdict, Option<ClassOrder>) {
    let asked = match options.v1_output {
        V1Output::Labels => "labels",
        V1Output::Probabilities => "probabilities",
    };
    let (verdict, order) = foreign::parity(oracle, options, |batch| {
        answers::v1(client, name, batch, options)
    });
    let verdict = verdict.map(|p| Passed {
        detail: format!("{} ({asked} asked)", p.detail),
        ..p
    });
    (verdict, order)
}
