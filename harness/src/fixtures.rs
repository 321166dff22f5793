//! The repository's fixtures, loaded once into a value: the reference artifacts (the oracles),
//! their golden cases, and scikit-learn's own answers for the imported ones.
//!
//! Every model with a golden file in `fixtures/golden/` is a reference; its artifact is
//! `fixtures/models/<name>.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use server::Artifact;
use server::artifact::Origin;
use server::contract::fixtures::{GoldenFile, SklearnReference};

use crate::error::HarnessError;

/// The model the image serves when no `MODEL_PATH` is set.
pub const DEFAULT_MODEL: &str = "wine-quality";

/// The repository the harness was built from: where the Dockerfile and fixtures are.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// A reference model: its artifact file, loaded as the oracle, and its golden cases.
#[derive(Debug, Clone)]
pub struct Reference {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub oracle: Artifact,
    pub golden: GoldenFile,
    /// For a model imported from scikit-learn, scikit-learn's own answers for some rows.
    pub sklearn: Option<SklearnReference>,
}

/// Everything under `fixtures/` that the checks use.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// The repository whose Dockerfile builds the image.
    pub root: PathBuf,
    pub references: BTreeMap<String, Reference>,
    /// The reference an image serves when no `MODEL_PATH` is set.
    pub default: String,
}

impl Fixtures {
    /// Reads and checks every fixture of the repository at `root`.
    pub fn load(root: &Path) -> Result<Fixtures, HarnessError> {
        let mut references = BTreeMap::new();
        let golden_dir = root.join("fixtures/golden");
        let entries = std::fs::read_dir(&golden_dir).map_err(|source| HarnessError::Io {
            path: golden_dir.clone(),
            source,
        })?;
        for entry in entries {
            let golden_path = entry
                .map_err(|source| HarnessError::Io {
                    path: golden_dir.clone(),
                    source,
                })?
                .path();
            let Some(model) = golden_path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let path = root.join(format!("fixtures/models/{model}.json"));
            let bytes = read(&path)?;
            let oracle = Artifact::from_bytes(&bytes, &path.display().to_string())?;
            let golden = parse(&golden_path)?;
            let sklearn = match sklearn_answers(root, &oracle, None) {
                Some(path) => Some(parse(&path)?),
                None => None,
            };
            references.insert(
                model.to_owned(),
                Reference {
                    path,
                    bytes,
                    oracle,
                    golden,
                    sklearn,
                },
            );
        }
        Ok(Fixtures {
            root: root.to_owned(),
            references,
            default: DEFAULT_MODEL.to_owned(),
        })
    }

    /// One artifact as the only reference, and the model an image built with it serves. Its
    /// golden cases are generated from its ranges (see [`crate::golden`]) unless `golden` names
    /// a golden file.
    pub fn for_artifact(
        root: &Path,
        artifact: &Path,
        golden: Option<&Path>,
    ) -> Result<Fixtures, HarnessError> {
        let bytes = read(artifact)?;
        let oracle = Artifact::from_bytes(&bytes, &artifact.display().to_string())?;
        let golden = match golden {
            Some(path) => parse(path)?,
            None => crate::golden::generate(&oracle),
        };
        let name = oracle.name().to_owned();
        let sklearn = match sklearn_answers(root, &oracle, artifact.parent()) {
            Some(path) => Some(parse(&path)?),
            None => None,
        };
        let reference = Reference {
            path: artifact.to_owned(),
            bytes,
            oracle,
            golden,
            sklearn,
        };
        Ok(Fixtures {
            root: root.to_owned(),
            references: BTreeMap::from([(name.clone(), reference)]),
            default: name,
        })
    }

    /// The reference model called `model`.
    pub fn reference(&self, model: &str) -> Result<&Reference, HarnessError> {
        self.references
            .get(model)
            .ok_or_else(|| HarnessError::MissingFixture {
                what: "reference artifact",
                model: model.to_owned(),
            })
    }

    /// The model the image serves with no `MODEL_PATH`.
    pub fn default_model(&self) -> Result<&Reference, HarnessError> {
        self.reference(&self.default)
    }

    /// The artifact to bake into the image: `None` for the repository's own default.
    pub fn image_artifact(&self) -> Result<Option<PathBuf>, HarnessError> {
        let default = self.default_model()?;
        Ok(
            (default.path != self.root.join(crate::image::DEFAULT_ARTIFACT))
                .then(|| default.path.clone()),
        )
    }
}

/// Where scikit-learn's own answers for an imported artifact are: `<export>.reference.json`
/// beside the artifact, or among the repository's exports (`fixtures/sklearn/`, its `kinds/`).
pub fn sklearn_answers(root: &Path, oracle: &Artifact, beside: Option<&Path>) -> Option<PathBuf> {
    let Some(Origin::Imported { export_file, .. }) = oracle.origin() else {
        return None;
    };
    let file = format!(
        "{}.reference.json",
        export_file.trim_end_matches(".export.json")
    );
    let exports = root.join("fixtures/sklearn");
    beside
        .map(|dir| dir.join(&file))
        .into_iter()
        .chain([exports.join(&file), exports.join("kinds").join(&file)])
        .find(|p| p.is_file())
}

fn read(path: &Path) -> Result<Vec<u8>, HarnessError> {
    std::fs::read(path).map_err(|source| HarnessError::Io {
        path: path.to_owned(),
        source,
    })
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, HarnessError> {
    serde_json::from_slice(&read(path)?).map_err(|source| HarnessError::Json {
        path: path.to_owned(),
        source,
    })
}
