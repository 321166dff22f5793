//! A proof that travels: `check`'s verdict as an in-toto Statement v1 with the test-result
//! predicate (<https://in-toto.io/attestation/test-result/v0.1>), bound to what was checked
//! by digest, and the verification of such a statement against an image and an artifact.
//!
//! Subjects are the artifacts (SHA-256 of their bytes) and, when an image was checked, the
//! image by its local image ID: that is the SHA-256 of the image's config, not the digest of
//! a registry manifest, and the subject says so in an annotation. The golden cases and the
//! profile are `configuration` descriptors with their SHA-256; what was not run, the
//! tolerance and the harness's version are annotations of the harness's own descriptor, the
//! one place the format leaves for them. The statement is plain JSON, unsigned: a release
//! signs it with `cosign attest`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::checks::{Check, Status};

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://in-toto.io/attestation/test-result/v0.1";
/// The annotation that says which digest an image subject carries.
pub const IMAGE_DIGEST_KIND: &str =
    "the image's config digest (its local image ID), not a registry manifest digest";

/// An in-toto ResourceDescriptor: a name and a digest, with annotations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, Value>,
}

impl Resource {
    /// `name` with the SHA-256 of `bytes`.
    pub fn of_bytes(name: &str, bytes: &[u8]) -> Resource {
        Resource::with_sha256(name, &sha256_hex(bytes))
    }

    /// `name` with a SHA-256 given in hex (a `sha256:` prefix is dropped).
    pub fn with_sha256(name: &str, hex: &str) -> Resource {
        Resource {
            name: Some(name.to_owned()),
            uri: None,
            digest: BTreeMap::from([(
                "sha256".to_owned(),
                hex.trim_start_matches("sha256:").to_owned(),
            )]),
            annotations: BTreeMap::new(),
        }
    }

    /// An image by reference and local image ID.
    pub fn image(reference: &str, id: &str) -> Resource {
        let mut image = Resource::with_sha256(reference, id);
        image
            .annotations
            .insert("digest".into(), IMAGE_DIGEST_KIND.into());
        image
    }

    pub fn sha256(&self) -> Option<&str> {
        self.digest.get("sha256").map(String::as_str)
    }

    fn is_image(&self) -> bool {
        self.annotations.contains_key("digest")
    }
}

/// The test-result predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    /// `PASSED`, `WARNED` or `FAILED`.
    pub result: String,
    pub configuration: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default)]
    pub passed_tests: Vec<String>,
    #[serde(default)]
    pub warned_tests: Vec<String>,
    #[serde(default)]
    pub failed_tests: Vec<String>,
}

/// An in-toto Statement v1 carrying a [`TestResult`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<Resource>,
    pub predicate_type: String,
    pub predicate: TestResult,
}

/// What a statement is about and was made with, besides the checks' verdicts.
#[derive(Debug, Clone, Default)]
pub struct Subjects {
    /// Each artifact checked: its file name and bytes.
    pub artifacts: Vec<(String, Vec<u8>)>,
    /// The image checked, by reference and local image ID.
    pub image: Option<(String, String)>,
    /// Configuration: each golden set and the profile, by name and bytes.
    pub configuration: Vec<(String, Vec<u8>)>,
    /// The largest difference allowed in a probability (0 is bit for bit).
    pub tolerance: f64,
    /// The class order a V2 or V1 server's probabilities were read in, and how it was found.
    pub class_order: Option<crate::classes::ClassOrder>,
}

/// The statement of a run of `checks` over `subjects`. PASSED when no check failed and none
/// passed with findings; WARNED when some passed with findings (they are `warnedTests`);
/// FAILED when one failed. Checks not run are named in the harness descriptor's annotations
/// with their reasons, never among the passed.
pub fn statement(checks: &[Check], subjects: &Subjects) -> Statement {
    let names = |keep: &dyn Fn(&Check) -> bool| -> Vec<String> {
        checks
            .iter()
            .filter(|c| keep(c))
            .map(|c| c.name.clone())
            .collect()
    };
    let failed = names(&|c| c.status == Status::Fail);
    let warned = names(&|c| c.status == Status::Pass && !c.findings.is_empty());
    let passed = names(&|c| c.status == Status::Pass && c.findings.is_empty());
    let not_run: BTreeMap<String, Value> = checks
        .iter()
        .filter(|c| c.status == Status::NotRun)
        .map(|c| (c.name.clone(), c.detail.clone().into()))
        .collect();
    let result = if !failed.is_empty() {
        "FAILED"
    } else if !warned.is_empty() {
        "WARNED"
    } else {
        "PASSED"
    };
    let mut subject: Vec<Resource> = subjects
        .artifacts
        .iter()
        .map(|(name, bytes)| Resource::of_bytes(name, bytes))
        .collect();
    subject.extend(
        subjects
            .image
            .as_ref()
            .map(|(reference, id)| Resource::image(reference, id)),
    );
    let mut configuration: Vec<Resource> = subjects
        .configuration
        .iter()
        .map(|(name, bytes)| Resource::of_bytes(name, bytes))
        .collect();
    configuration.push(Resource {
        name: Some("harness".into()),
        uri: Some(format!(
            "pkg:generic/ml-inference-app-harness@{}",
            env!("CARGO_PKG_VERSION")
        )),
        digest: BTreeMap::new(),
        annotations: BTreeMap::from([
            ("version".into(), env!("CARGO_PKG_VERSION").into()),
            ("tolerance".into(), subjects.tolerance.into()),
            (
                "classOrder".into(),
                serde_json::to_value(&subjects.class_order).unwrap_or_default(),
            ),
            (
                "notRun".into(),
                Value::Object(not_run.into_iter().collect()),
            ),
        ]),
    });
    Statement {
        type_: STATEMENT_TYPE.into(),
        subject,
        predicate_type: PREDICATE_TYPE.into(),
        predicate: TestResult {
            result: result.into(),
            configuration,
            url: run_url(),
            passed_tests: passed,
            warned_tests: warned,
            failed_tests: failed,
        },
    }
}

/// The GitHub Actions run, when the harness runs in one.
fn run_url() -> Option<String> {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    Some(format!(
        "{}/{}/actions/runs/{}",
        var("GITHUB_SERVER_URL")?,
        var("GITHUB_REPOSITORY")?,
        var("GITHUB_RUN_ID")?
    ))
}

/// Checks `statement` against what it is asked about: an artifact's bytes and an image's
/// local ID, each of which must be one of its subjects; and its result must be PASSED. Every
/// mismatch is a line of the error.
pub fn verify(
    statement: &Statement,
    artifact: Option<(&str, &[u8])>,
    image: Option<(&str, &str)>,
) -> Result<String, Vec<String>> {
    let mut problems = vec![];
    if statement.type_ != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE {
        problems.push(format!(
            "not a test-result statement: {} with {}",
            statement.type_, statement.predicate_type
        ));
    }
    if statement.predicate.result != "PASSED" {
        problems.push(format!(
            "the result is {}, not PASSED (failed: {:?}; warned: {:?})",
            statement.predicate.result,
            statement.predicate.failed_tests,
            statement.predicate.warned_tests
        ));
    }
    let mut proven = vec![];
    if let Some((name, bytes)) = artifact {
        let hex = sha256_hex(bytes);
        match statement
            .subject
            .iter()
            .find(|s| !s.is_image() && s.sha256() == Some(hex.as_str()))
        {
            Some(_) => proven.push(format!("artifact {name} (sha256 {hex})")),
            None => problems.push(format!(
                "artifact {name} (sha256 {hex}) is not a subject; the subjects are {}",
                subject_list(statement)
            )),
        }
    }
    if let Some((reference, id)) = image {
        let hex = id.trim_start_matches("sha256:");
        match statement
            .subject
            .iter()
            .find(|s| s.is_image() && s.sha256() == Some(hex))
        {
            Some(_) => proven.push(format!("image {reference} (ID sha256:{hex})")),
            None => problems.push(format!(
                "image {reference} (ID sha256:{hex}) is not a subject; the subjects are {}",
                subject_list(statement)
            )),
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "PASSED for {}",
            if proven.is_empty() {
                subject_list(statement)
            } else {
                proven.join(" and ")
            }
        ))
    } else {
        Err(problems)
    }
}

fn subject_list(statement: &Statement) -> String {
    statement
        .subject
        .iter()
        .map(|s| {
            format!(
                "{} ({})",
                s.name.as_deref().unwrap_or("_"),
                s.sha256().unwrap_or("no sha256")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, status: Status, findings: &[&str]) -> Check {
        Check {
            name: name.into(),
            status,
            detail: format!("{name} detail"),
            figures: vec![],
            findings: findings.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn subjects() -> Subjects {
        Subjects {
            artifacts: vec![("model.json".into(), b"{}".to_vec())],
            image: Some(("app:1".into(), format!("sha256:{}", "ab".repeat(32)))),
            configuration: vec![("golden cases (model)".into(), b"[]".to_vec())],
            tolerance: 0.0,
            class_order: None,
        }
    }

    #[test]
    fn a_run_becomes_a_test_result_statement_bound_to_its_subjects() {
        let checks = [
            check("endpoints", Status::Pass, &[]),
            check("cold start", Status::NotRun, &[]),
        ];
        let statement = statement(&checks, &subjects());
        let json = serde_json::to_value(&statement).unwrap();
        assert_eq!(json["_type"], STATEMENT_TYPE);
        assert_eq!(json["predicateType"], PREDICATE_TYPE);
        assert_eq!(json["predicate"]["result"], "PASSED");
        assert_eq!(
            json["predicate"]["passedTests"],
            serde_json::json!(["endpoints"])
        );
        assert_eq!(json["subject"][0]["digest"]["sha256"], sha256_hex(b"{}"));
        assert_eq!(json["subject"][1]["digest"]["sha256"], "ab".repeat(32));
        let harness = &json["predicate"]["configuration"][1];
        assert_eq!(
            harness["annotations"]["notRun"]["cold start"],
            "cold start detail"
        );

        let failed = super::statement(&[check("limits", Status::Fail, &[])], &subjects());
        assert_eq!(failed.predicate.result, "FAILED");
        let warned = super::statement(&[check("v2", Status::Pass, &["404"])], &subjects());
        assert_eq!(warned.predicate.result, "WARNED");
        assert_eq!(warned.predicate.warned_tests, ["v2"]);
    }

    #[test]
    fn verification_needs_the_same_bytes_the_same_image_and_a_pass() {
        let statement = statement(&[check("endpoints", Status::Pass, &[])], &subjects());
        let id = format!("sha256:{}", "ab".repeat(32));
        assert!(verify(&statement, Some(("m", b"{}")), Some(("app:1", &id))).is_ok());
        let other = verify(&statement, Some(("m", b"{ }")), None).unwrap_err();
        assert!(other[0].contains("is not a subject"), "{other:?}");
        let image = verify(&statement, None, Some(("app:2", &"cd".repeat(32)))).unwrap_err();
        assert!(image[0].contains("image app:2"), "{image:?}");
        // An artifact's digest does not stand for an image's, nor the reverse.
        let swapped = verify(&statement, None, Some(("x", &sha256_hex(b"{}")))).unwrap_err();
        assert_eq!(swapped.len(), 1);
        let failed = super::statement(&[check("limits", Status::Fail, &[])], &subjects());
        assert!(verify(&failed, Some(("m", b"{}")), None).unwrap_err()[0].contains("FAILED"));
    }
}
