//! Every class of bad input gets its status and a JSON error, and the service stays up.

use serde_json::json;
use server::fixtures::BadInputs;
use server::{Artifact, Limits};

use crate::checks::{Passed, Verdict, ensure, why};
use crate::client::{Answer, Client};

/// The limits of a server started with no configuration.
pub fn default_limits() -> Limits {
    let config = server::Config::default();
    Limits {
        max_body_bytes: config.max_body_bytes,
        max_batch_rows: config.max_batch_rows,
    }
}

fn expect_error(answer: &Answer, status: u16, contains: &str, what: &str) -> Result<(), String> {
    ensure!(
        answer.status == status,
        "{what}: answered {} instead of {status}: {}",
        answer.status,
        answer.body
    );
    let body = answer
        .json()
        .ok_or_else(|| format!("{what}: not JSON: {}", answer.body))?;
    let message = body["error"]
        .as_str()
        .ok_or_else(|| format!("{what}: no error message: {body}"))?;
    ensure!(
        body.as_object().is_some_and(|o| o.len() == 1),
        "{what}: more than an error: {body}"
    );
    ensure!(
        message.contains(contains),
        "{what}: {message:?} does not mention {contains:?}"
    );
    Ok(())
}

/// Replays `bad` (written for `oracle`'s model) and the limit cases, then checks the service
/// still answers.
pub fn run(client: &Client, oracle: &Artifact, bad: &BadInputs, limits: Limits) -> Verdict {
    ensure!(
        bad.model == oracle.name(),
        "the bad inputs are written for {}, the service serves {}",
        bad.model,
        oracle.name()
    );
    for case in &bad.cases {
        let answer = client
            .send(
                &case.method,
                &case.path,
                case.content_type.as_deref(),
                case.body.clone().map(String::into_bytes),
            )
            .map_err(why)?;
        expect_error(&answer, case.status, &case.error_contains, &case.name)?;
    }

    let width = oracle.model().features().len();
    let infer = format!("/v2/models/{}/infer", oracle.name());
    let rows = vec![vec![1.0; width]; limits.max_batch_rows + 1];
    let too_many = json!({"instances": rows});
    let answer = client.post_json("/predict", &too_many).map_err(why)?;
    expect_error(
        &answer,
        413,
        "more than the limit",
        "batch over MAX_BATCH_ROWS",
    )?;
    let tensor = json!({"inputs": [{"name": "x", "shape": [rows.len(), width], "datatype": "FP64", "data": rows}]});
    let answer = client.post_json(&infer, &tensor).map_err(why)?;
    expect_error(
        &answer,
        400,
        "more than the limit",
        "V2 batch over MAX_BATCH_ROWS",
    )?;

    let mut body = json!({"instances": [vec![1.0; width]]})
        .to_string()
        .into_bytes();
    body.resize(limits.max_body_bytes + 1, b' ');
    let answer = client
        .send(
            "POST",
            "/predict",
            Some("application/json"),
            Some(body.clone()),
        )
        .map_err(why)?;
    expect_error(
        &answer,
        413,
        "larger than the limit",
        "body over MAX_BODY_BYTES",
    )?;
    let answer = client.send("POST", &infer, None, Some(body)).map_err(why)?;
    expect_error(
        &answer,
        400,
        "larger than the limit",
        "V2 body over MAX_BODY_BYTES",
    )?;

    let health = client.get("/health").map_err(why)?;
    ensure!(
        health.status == 200,
        "after bad input /health answered {}",
        health.status
    );
    let answer = client
        .post_json("/predict", &json!({"instances": [vec![1.0; width]]}))
        .map_err(why)?;
    ensure!(
        answer.status == 200,
        "after bad input /predict answered {}",
        answer.status
    );
    Ok(Passed::new(format!(
        "{} bad inputs and 4 over-limit requests refused as documented; the service still answers",
        bad.cases.len()
    )))
}
