//! Builds the service's image, runs it with testcontainers, and proves it: every endpoint, bad
//! input, cold start, image metadata, lifecycle, and predictions equal to the in-process model's
//! bit for bit. The test suite and the CLI are two thin callers of the same checks, and
//! [`prove`] is the entry point for another repository's tests.
//!
//! The harness reaches a service over HTTP, and a container also through Docker. It links the
//! `server` library without its HTTP stack: the contract, and the model as the oracle.
//!
//! # Layout
//! - [`profile`]: what the image checks assume about an image, this project's by default.
//! - [`image`]: the static binary, the Dockerfile build through testcontainers, pinned timestamps.
//! - [`container`]: starting containers, timing them to ready, stopping and restarting.
//! - [`client`]: HTTP to the service under test; [`rows`]: rows for any model (numbers,
//!   categories, `null`), drawn from its inputs and shaped as each API takes them.
//! - [`checks`]: one module per concern, each returning a [`checks::Check`];
//!   [`bad_inputs`]: the bad-input catalogue, generated for any model.
//! - [`suite`]: every check against one target; [`report`]: table, JSON, job summary;
//!   [`attest`]: the run as an in-toto test-result statement, and its verification.
//! - [`diff`]: what a new model or server changes in the predictions, before rollout.
//! - [`bench`]: figures, not verdicts: cold start, throughput, latency, size, memory.
//! - [`docker`]: the Engine API for what testcontainers does not expose.
//! - [`fixtures`], [`golden`], [`stats`]: the references and their golden cases (generated for an
//!   artifact that has none); quantiles.

pub mod answers;
pub mod attest;
pub mod bad_inputs;
pub mod bench;
pub mod checks;
pub mod classes;
pub mod client;
pub mod container;
pub mod diff;
pub mod docker;
pub mod error;
pub mod fixtures;
pub mod golden;
pub mod image;
pub mod profile;
pub mod protocol;
pub mod report;
pub mod rows;
pub mod stats;
pub mod suite;

pub use error::{HarnessError, SKIP_ENV};

use std::path::PathBuf;

/// What to prove, from any repository: an image (built from a Dockerfile, or given), or a
/// running service, against an artifact.
#[derive(Debug, Clone)]
pub struct Proof {
    /// The directory holding the Dockerfile to build from (with `Target::Build`).
    pub context: PathBuf,
    /// The artifact the service must answer as; it is also what a built image bakes in.
    pub artifact: PathBuf,
    /// Golden cases to replay; by default drawn within the artifact's ranges.
    pub golden: Option<PathBuf>,
    pub target: suite::Target,
    /// The checks' options, the image profile among them.
    pub options: suite::Options,
}

/// Runs every check `proof` asks for and returns the report (table, JSON, JUnit, Markdown).
///
/// ```no_run
/// use harness::{Proof, prove};
/// use harness::suite::{Options, Target};
///
/// let report = prove(&Proof {
///     context: ".".into(),
///     artifact: "models/mine.json".into(),
///     golden: None,
///     target: Target::Image("my-model:1.0".into()),
///     options: Options::default(),
/// })
/// .unwrap();
/// assert!(report.passed(), "{}", report.table());
/// ```
pub fn prove(proof: &Proof) -> Result<report::Report, HarnessError> {
    let fixtures = fixtures::Fixtures::for_artifact(
        &proof.context,
        &std::path::absolute(&proof.artifact).map_err(|source| HarnessError::Io {
            path: proof.artifact.clone(),
            source,
        })?,
        proof.golden.as_deref(),
    )?;
    let run = suite::run(&fixtures, &proof.target, &proof.options)?;
    Ok(report::Report::new(run.target, run.checks))
}
