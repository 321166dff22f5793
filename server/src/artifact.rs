//! The artifact: one versioned JSON document holding a fitted linfa model and what it needs to be
//! served and audited (feature order, class labels, training provenance).
//!
//! Loading checks everything once, so a server either starts with a usable [`Model`] or stops
//! with one line naming the file and the problem.

use std::fmt;
use std::fs;
use std::path::Path;

use linfa_logistic::{FittedLogisticRegression, MultiFittedLogisticRegression};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::model::{Kind, Model};

/// The artifact format this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;

/// The wine-quality artifact, compiled into the binary so the server starts with no files.
pub const DEFAULT_ARTIFACT: &[u8] = include_bytes!("../../fixtures/models/wine-quality.json");

/// Where the default artifact's bytes came from, for messages.
pub const DEFAULT_ORIGIN: &str = "embedded default artifact";

/// Why an artifact could not be loaded. Each message starts with the file it is about.
#[derive(Debug, Error)]
pub enum ArtifactError {
    /// The file could not be read.
    #[error("{origin}: cannot read the artifact: {cause}")]
    Read {
        origin: String,
        cause: std::io::Error,
    },
    /// The bytes are not JSON, or not JSON of the artifact's shape.
    #[error("{origin}: not a valid artifact document: {cause}")]
    Json {
        origin: String,
        cause: serde_json::Error,
    },
    /// Written by another version of the format.
    #[error(
        "{origin}: format version {found} is not supported, this build reads version {FORMAT_VERSION}"
    )]
    FormatVersion { origin: String, found: u64 },
    /// Well-formed, but the declared features or classes disagree with the fitted model.
    #[error("{origin}: {problem}")]
    Inconsistent {
        origin: String,
        problem: Inconsistency,
    },
}

/// How an artifact's declarations disagree with its fitted model.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Inconsistency {
    #[error("the artifact lists no features")]
    NoFeatures,
    #[error("feature {0:?} is listed twice")]
    DuplicateFeature(String),
    #[error("the artifact lists {listed} features but the fitted model has {fitted} weights")]
    FeatureCount { listed: usize, fitted: usize },
    #[error("the artifact lists classes {listed:?} but the fitted model predicts {fitted:?}")]
    Classes {
        listed: Vec<String>,
        fitted: Vec<String>,
    },
    #[error("the fitted model has {weights} weight columns but {intercepts} intercepts")]
    Intercepts { weights: usize, intercepts: usize },
    #[error("the decision threshold {0} is outside [0, 1]")]
    Threshold(f64),
}

/// The document as stored. `M` is the fitted model: a typed value when writing, raw JSON when
/// reading (its shape depends on `kind`, which is only known once the rest is read).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Document<M> {
    pub format_version: u64,
    pub name: String,
    pub version: String,
    pub kind: Kind,
    pub features: Vec<String>,
    pub classes: Vec<String>,
    pub model: M,
    pub training: Training,
}

/// How the model was trained: enough to reproduce and audit it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// The CSV file name, relative to the data directory.
    pub data_file: String,
    /// SHA-256 of the CSV file's bytes, lowercase hex.
    pub data_sha256: String,
    /// Data rows in the file (header excluded).
    pub rows: usize,
    pub train_rows: usize,
    pub held_out_rows: usize,
    /// Which rows were held out for evaluation.
    pub split: String,
    /// How the label was derived from the data.
    pub label: String,
    pub hyperparameters: Hyperparameters,
    /// Share of held-out rows the served model labels correctly.
    pub held_out_accuracy: f64,
    /// The library that fitted the model.
    pub trainer: String,
}

/// linfa-logistic's fitting parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hyperparameters {
    /// L2 regularisation weight.
    pub alpha: f64,
    pub max_iterations: u64,
    pub gradient_tolerance: f64,
    pub fit_intercept: bool,
}

/// A loaded, checked artifact: the model and its metadata.
#[derive(Debug, Clone)]
pub struct Artifact {
    name: String,
    version: String,
    origin: String,
    sha256: String,
    training: Training,
    model: Model,
}

impl Artifact {
    /// Reads and checks the artifact at `path`.
    pub fn load(path: &Path) -> Result<Artifact, ArtifactError> {
        let origin = path.display().to_string();
        let bytes = fs::read(path).map_err(|cause| ArtifactError::Read {
            origin: origin.clone(),
            cause,
        })?;
        Artifact::from_bytes(&bytes, &origin)
    }

    /// The artifact compiled into the binary.
    pub fn embedded() -> Result<Artifact, ArtifactError> {
        Artifact::from_bytes(DEFAULT_ARTIFACT, DEFAULT_ORIGIN)
    }

    /// Checks an artifact's bytes; `origin` names them in errors.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Artifact, ArtifactError> {
        let json = |cause| ArtifactError::Json {
            origin: origin.to_owned(),
            cause,
        };
        // The version is read first so that a newer document fails on its version, not on
        // whichever field happened to change.
        #[derive(Deserialize)]
        struct Header {
            format_version: u64,
        }
        let header: Header = serde_json::from_slice(bytes).map_err(json)?;
        if header.format_version != FORMAT_VERSION {
            return Err(ArtifactError::FormatVersion {
                origin: origin.to_owned(),
                found: header.format_version,
            });
        }
        let doc: Document<Box<RawValue>> = serde_json::from_slice(bytes).map_err(json)?;
        let model = match doc.kind {
            Kind::Binary => {
                let fitted = serde_json::from_str(doc.model.get()).map_err(json)?;
                // linfa keeps the threshold private; it is part of the stored model all the same.
                #[derive(Deserialize)]
                struct Threshold {
                    threshold: f64,
                }
                let Threshold { threshold } =
                    serde_json::from_str(doc.model.get()).map_err(json)?;
                binary_model(doc.features, doc.classes, &fitted, threshold)
            }
            Kind::Multinomial => {
                let fitted = serde_json::from_str(doc.model.get()).map_err(json)?;
                multinomial_model(doc.features, doc.classes, &fitted)
            }
        }
        .map_err(|problem| ArtifactError::Inconsistent {
            origin: origin.to_owned(),
            problem,
        })?;
        Ok(Artifact {
            name: doc.name,
            version: doc.version,
            origin: origin.to_owned(),
            sha256: sha256_hex(bytes),
            training: doc.training,
            model,
        })
    }

    /// The model's name, as routes and reports use it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model's own version, independent of the format version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The file path, or [`DEFAULT_ORIGIN`].
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// SHA-256 of the artifact's bytes, lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn training(&self) -> &Training {
        &self.training
    }

    pub fn model(&self) -> &Model {
        &self.model
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            use fmt::Write;
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Checks a fitted binary model against the declared features and classes.
pub(crate) fn binary_model(
    features: Vec<String>,
    classes: Vec<String>,
    fitted: &FittedLogisticRegression<f64, String>,
    threshold: f64,
) -> Result<Model, Inconsistency> {
    check_features(&features, fitted.params().len())?;
    let labels = fitted.labels();
    let fitted_classes = [labels.neg.class.clone(), labels.pos.class.clone()];
    if classes != fitted_classes {
        return Err(Inconsistency::Classes {
            listed: classes,
            fitted: fitted_classes.into(),
        });
    }
    if !(0.0..=1.0).contains(&threshold) {
        return Err(Inconsistency::Threshold(threshold));
    }
    // JSON has no NaN or infinity, so every parameter read from a document is finite.
    Ok(Model::binary(
        features,
        fitted_classes,
        fitted.params().to_vec(),
        fitted.intercept(),
        threshold,
    ))
}

/// Checks a fitted multinomial model against the declared features and classes.
pub(crate) fn multinomial_model(
    features: Vec<String>,
    classes: Vec<String>,
    fitted: &MultiFittedLogisticRegression<f64, String>,
) -> Result<Model, Inconsistency> {
    let params = fitted.params();
    check_features(&features, params.nrows())?;
    if classes != fitted.classes() {
        return Err(Inconsistency::Classes {
            listed: classes,
            fitted: fitted.classes().to_vec(),
        });
    }
    if params.ncols() != classes.len() || fitted.intercept().len() != classes.len() {
        return Err(Inconsistency::Intercepts {
            weights: params.ncols(),
            intercepts: fitted.intercept().len(),
        });
    }
    let weights = params.columns().into_iter().map(|c| c.to_vec()).collect();
    Ok(Model::multinomial(
        features,
        classes,
        weights,
        fitted.intercept().to_vec(),
    ))
}

fn check_features(features: &[String], fitted: usize) -> Result<(), Inconsistency> {
    if features.is_empty() {
        return Err(Inconsistency::NoFeatures);
    }
    if let Some((_, name)) = features
        .iter()
        .enumerate()
        .find(|(i, name)| features[..*i].contains(name))
    {
        return Err(Inconsistency::DuplicateFeature(name.clone()));
    }
    if features.len() != fitted {
        return Err(Inconsistency::FeatureCount {
            listed: features.len(),
            fitted,
        });
    }
    Ok(())
}
