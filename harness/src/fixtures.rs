//! The repository's fixtures, read from the workspace: golden cases, bad inputs, artifacts.

use std::path::Path;

use server::Artifact;
use server::fixtures::{BadInputs, GoldenFile};

use crate::error::HarnessError;

fn read(path: &Path) -> Result<Vec<u8>, HarnessError> {
    std::fs::read(path).map_err(|cause| HarnessError::Io {
        path: path.display().to_string(),
        cause,
    })
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, HarnessError> {
    serde_json::from_slice(&read(path)?).map_err(|e| HarnessError::Io {
        path: path.display().to_string(),
        cause: std::io::Error::other(e),
    })
}

/// The golden cases of `model`.
pub fn golden(root: &Path, model: &str) -> Result<GoldenFile, HarnessError> {
    parse(&root.join(format!("fixtures/golden/{model}.json")))
}

/// The bad inputs, written for the default model.
pub fn bad_inputs(root: &Path) -> Result<BadInputs, HarnessError> {
    parse(&root.join("fixtures/bad-inputs.json"))
}

/// Where a reference model's artifact is.
pub fn artifact_path(root: &Path, model: &str) -> std::path::PathBuf {
    root.join(format!("fixtures/models/{model}.json"))
}

/// A reference model's artifact bytes.
pub fn artifact_bytes(root: &Path, model: &str) -> Result<Vec<u8>, HarnessError> {
    read(&root.join(format!("fixtures/models/{model}.json")))
}

/// A reference model's artifact, loaded in-process: the oracle.
pub fn artifact(root: &Path, model: &str) -> Result<Artifact, HarnessError> {
    let path = root.join(format!("fixtures/models/{model}.json"));
    Artifact::load(&path).map_err(|e| HarnessError::Io {
        path: path.display().to_string(),
        cause: std::io::Error::other(e.to_string()),
    })
}
