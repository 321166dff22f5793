//! The harness's error type: what went wrong, with the values that say where.

use thiserror::Error;

/// A harness operation that could not be carried out (as opposed to a check that failed).
#[derive(Debug, Error)]
pub enum HarnessError {
    /// No Docker engine answered.
    #[error(
        "no Docker engine is reachable ({cause}); start one, or set {SKIP_ENV}=1 to skip the container tests on purpose"
    )]
    DockerUnavailable { cause: String },
    /// A Docker API call failed.
    #[error("docker: {action}: {cause}")]
    Docker { action: String, cause: String },
    /// Building the static server binary failed.
    #[error("building the static server binary failed: {0}")]
    Cargo(String),
    /// A file the build needs could not be read.
    #[error("{path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    /// The image could not be built or rewritten.
    #[error("image {image}: {cause}")]
    Image { image: String, cause: String },
    /// A container could not be started or did not become ready.
    #[error("container from {image}: {cause}")]
    Container { image: String, cause: String },
    /// An HTTP exchange failed below the level of a status code.
    #[error("{method} {url}: {cause}")]
    Http {
        method: String,
        url: String,
        cause: String,
    },
}

/// The environment variable that skips the container tests on purpose.
pub const SKIP_ENV: &str = "HARNESS_SKIP_CONTAINERS";

impl HarnessError {
    pub(crate) fn docker(action: impl Into<String>, cause: impl ToString) -> HarnessError {
        HarnessError::Docker {
            action: action.into(),
            cause: cause.to_string(),
        }
    }
}
