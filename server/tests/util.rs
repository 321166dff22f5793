//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};

use server::Artifact;
use server::train::{RECIPES, Recipe};

/// The workspace's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The committed artifact of a reference model.
pub fn artifact_path(recipe: &Recipe) -> PathBuf {
    fixtures()
        .join("models")
        .join(format!("{}.json", recipe.name))
}

/// Every reference model's committed artifact, loaded.
pub fn reference_artifacts() -> Vec<(Recipe, Artifact)> {
    RECIPES
        .iter()
        .map(|r| {
            let artifact = Artifact::load(&artifact_path(r)).expect("committed artifact loads");
            (*r, artifact)
        })
        .collect()
}

/// Asserts two float sequences are identical bit for bit, naming the first difference.
pub fn assert_same_bits(context: &str, expected: &[f64], got: &[f64]) {
    assert_eq!(expected.len(), got.len(), "{context}: lengths differ");
    for (i, (e, g)) in expected.iter().zip(got).enumerate() {
        assert_eq!(
            e.to_bits(),
            g.to_bits(),
            "{context}: value {i} differs: expected {e:e}, got {g:e}"
        );
    }
}
