//! The harness's error type: what could not be carried out (as opposed to a check that failed),
//! with the values that say where and the underlying error as its source.

use std::path::PathBuf;

use thiserror::Error;

use testcontainers::bollard;

/// A harness operation that could not be carried out.
#[derive(Debug, Error)]
pub enum HarnessError {
    /// No Docker engine answered.
    #[error(
        "no Docker engine is reachable; start one, or set {SKIP_ENV}=1 to skip the container tests on purpose"
    )]
    DockerUnavailable(#[source] bollard::errors::Error),
    /// A Docker API call failed.
    #[error("docker: {action}")]
    Docker {
        action: String,
        #[source]
        source: bollard::errors::Error,
    },
    /// The engine refused a build, with its reason.
    #[error("image {image}: the build failed: {detail}")]
    BuildRefused { image: String, detail: String },
    /// The engine refused to load an image archive.
    #[error("docker: load: {detail}")]
    Load { detail: String },
    /// The tokio runtime for the Docker client could not be made.
    #[error("cannot start the runtime for the Docker client")]
    Runtime(#[source] std::io::Error),
    /// `cargo` could not be run.
    #[error("cannot run cargo to build the static server binary")]
    CargoSpawn(#[source] std::io::Error),
    /// Building the static server binary failed; the tail of cargo's output.
    #[error("building the static server binary failed:\n{stderr_tail}")]
    Cargo { stderr_tail: String },
    /// A program could not be started.
    #[error("cannot start {}", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A started server never accepted a connection.
    #[error("{} did not listen on {addr} within 10 s", program.display())]
    NotListening { program: PathBuf, addr: String },
    /// A file could not be read or written.
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file is not the JSON it should be.
    #[error("{}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// An artifact could not be loaded as the oracle.
    #[error(transparent)]
    Artifact(#[from] server::ArtifactError),
    /// A fixture that should exist does not.
    #[error("no {what} for model {model:?} in the fixtures")]
    MissingFixture { what: &'static str, model: String },
    /// An image that should exist does not.
    #[error("image {image}: no such image")]
    NoSuchImage { image: String },
    /// A saved image archive is not as the Docker image format describes it.
    #[error("image {image}: {problem}")]
    Archive { image: String, problem: String },
    /// The image could not be built.
    #[error("image {image}: the build failed")]
    Build {
        image: String,
        #[source]
        source: testcontainers::TestcontainersError,
    },
    /// A container could not be started or asked.
    #[error("container from {image}")]
    Container {
        image: String,
        #[source]
        source: testcontainers::TestcontainersError,
    },
    /// A container started but never answered 200 on `/ready`.
    #[error(
        "container from {image}: {why}; exit code {exit_code:?}; stderr: {stderr:?}; stdout: {stdout:?}"
    )]
    NotReady {
        image: String,
        why: String,
        exit_code: Option<i64>,
        stderr: String,
        stdout: String,
    },
    /// An HTTP exchange failed below the level of a status code.
    #[error("{method} {url}")]
    Http {
        method: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The request to the harness does not make sense.
    #[error("{problem}")]
    Usage { problem: String },
    /// A raw socket exchange failed.
    #[error("{what} {addr}")]
    Socket {
        what: &'static str,
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// The environment variable that skips the container tests on purpose.
pub const SKIP_ENV: &str = "HARNESS_SKIP_CONTAINERS";

impl HarnessError {
    pub(crate) fn docker(
        action: impl Into<String>,
        source: bollard::errors::Error,
    ) -> HarnessError {
        HarnessError::Docker {
            action: action.into(),
            source,
        }
    }
}

/// An error and its sources on one line, `outer: inner: innermost`, for reports and checks.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        line.push_str(": ");
        line.push_str(&e.to_string());
        source = e.source();
    }
    line
}
