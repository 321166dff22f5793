//! Every class of bad input in the catalogue gets its status and a JSON error, and the service
//! stays up.

use server::Artifact;
use server::contract::fixtures::BadInputs;

use crate::checks::{Passed, Verdict, ensure, why};
use crate::client::{Answer, Client};
use crate::rows::Schema;

/// Checks that `answer` is `status` with a body of exactly `{"error": message}`, and returns the
/// message.
pub fn expect_error(answer: &Answer, status: u16, what: &str) -> Result<String, String> {
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
    Ok(message.to_owned())
}

/// Checks that the service still answers health and a prediction.
pub fn still_up(client: &Client, oracle: &Artifact) -> Result<(), String> {
    let health = client.get("/health").map_err(why)?;
    ensure!(
        health.status == 200,
        "after bad input /health answered {}",
        health.status
    );
    let answer = client
        .predict(&[Schema::of(oracle).filled(1.0)])
        .map_err(why)?;
    ensure!(
        answer.status == 200,
        "after bad input /predict answered {}",
        answer.status
    );
    Ok(())
}

/// Replays `bad` (written for `oracle`'s model), then checks the service still answers.
pub fn run(client: &Client, oracle: &Artifact, bad: &BadInputs) -> Verdict {
    ensure!(
        bad.model == oracle.name(),
        "the bad inputs are written for {}, the service serves {}",
        bad.model,
        oracle.name()
    );
    let mut failures = vec![];
    for case in &bad.cases {
        let headers: Vec<(&str, &str)> = case
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let answer = client
            .send_with(
                &case.method,
                &case.path,
                case.content_type.as_deref(),
                &headers,
                case.body.clone().map(String::into_bytes),
            )
            .map_err(why)?;
        let outcome = expect_error(&answer, case.status, &case.name).and_then(|message| {
            ensure!(
                message.contains(&case.error_contains),
                "{}: {message:?} does not mention {:?}",
                case.name,
                case.error_contains
            );
            Ok(())
        });
        failures.extend(outcome.err());
    }
    // Every case that failed, not only the first: one run shows the whole difference.
    ensure!(
        failures.is_empty(),
        "{} of {} cases: {}",
        failures.len(),
        bad.cases.len(),
        failures.join("; ")
    );
    still_up(client, oracle)?;
    Ok(Passed::new(format!(
        "{} bad inputs refused as documented; the service still answers",
        bad.cases.len()
    )))
}
