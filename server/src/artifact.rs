//! The artifact: one versioned JSON document holding a fitted linfa model and what it needs to be
//! served and audited (feature order, class labels, preprocessing, feature ranges, label options,
//! origin and training provenance).
//!
//! Format 2 added `preprocessing`, `feature_ranges`, `labels` and `origin`; a format 1 document
//! (none of them) still loads. Format 3 adds `inputs` (each feature numeric or categorical, as
//! clients send them) and `columns` (the blocks that encode them into the vector the weights
//! apply to, which `features` then names); a table of numbers only is still written as format 2. Loading checks everything once, so a server either starts with a
//! usable [`Model`] or stops with one line naming the file and the problem.

use std::fmt;
use std::fs;
use std::path::Path;

use linfa_logistic::{FittedLogisticRegression, MultiFittedLogisticRegression};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::inputs::columns::ColumnsError;
use crate::inputs::{Block, Columns, Input};
use crate::model::{Kind, Model};
pub use crate::preprocessing::Preprocessing;
use crate::preprocessing::{Scale, Standardize};

/// The artifact format this build writes for a model of numeric features, scaled or not.
pub const FORMAT_VERSION: u64 = 2;

/// The artifact format this build writes for a model whose inputs need column blocks:
/// categories, missing values.
pub const COLUMNS_FORMAT_VERSION: u64 = 3;

/// The artifact formats this build reads.
pub const READABLE_VERSIONS: [u64; 3] = [1, 2, 3];

/// The wine-quality artifact, compiled into the binary so the server starts with no files.
pub const DEFAULT_ARTIFACT: &[u8] = include_bytes!("../../fixtures/models/wine-quality.json");

/// Where the default artifact's bytes came from, for messages.
pub const DEFAULT_LOCATION: &str = "embedded default artifact";

/// Why an artifact could not be loaded. Each message starts with the file it is about.
#[derive(Debug, Error)]
pub enum ArtifactError {
    /// The file could not be read.
    #[error("{location}: cannot read the artifact: {cause}")]
    Read {
        location: String,
        cause: std::io::Error,
    },
    /// The bytes are not JSON, or not JSON of the artifact's shape.
    #[error("{location}: not a valid artifact document: {cause}")]
    Json {
        location: String,
        cause: serde_json::Error,
    },
    /// Written by another version of the format.
    #[error(
        "{location}: format version {found} is not supported, this build reads versions 1, 2 and 3"
    )]
    FormatVersion { location: String, found: u64 },
    /// Well-formed, but the declared features or classes disagree with the fitted model.
    #[error("{location}: {problem}")]
    Inconsistent {
        location: String,
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
    #[error("{what} has {found} values for {expected} features")]
    Length {
        what: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("the scale {value} of feature {feature:?} is not a number to divide by")]
    Scale { feature: String, value: f64 },
    #[error("the clip's low bound {low} is above its high bound {high}")]
    Clip { low: f64, high: f64 },
    #[error("a one-vs-rest model needs three or more classes, not {0}")]
    OneVsRestClasses(usize),
    #[error("format {version} requires {field:?}")]
    Missing { version: u64, field: &'static str },
    #[error("format {version} has no {field:?}")]
    Unexpected { version: u64, field: &'static str },
    #[error("format 3 keeps its scaling in its column blocks; \"preprocessing\" must be null")]
    Preprocessing,
    #[error("{0}")]
    Columns(#[from] ColumnsError),
    #[error("a training row could not be encoded: {0}")]
    Encode(String),
    #[error("an artifact trained here needs its training block; only an imported one has none")]
    NoTraining,
}

/// The document as stored. `M` is the fitted model: a typed value when writing, raw JSON when
/// reading (its shape depends on `kind`, which is only known once the rest is read).
///
/// The fields added by format 2 are `Option`s only so that format 1 reads; loading requires them
/// in format 2 and refuses them in format 1.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Document<M> {
    pub format_version: u64,
    pub name: String,
    pub version: String,
    pub kind: Kind,
    pub features: Vec<String>,
    /// In the order of the probabilities: the order linfa's fit produces.
    pub classes: Vec<String>,
    /// Applied to each row before the linear model; `null` when the model takes raw features.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "is_format_1"
    )]
    pub preprocessing: Option<Option<Preprocessing>>,
    /// Per feature (per input in format 3, `null` for a categorical one), the smallest and
    /// largest value in the training data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_ranges: Option<Vec<Option<Range>>>,
    /// How the labels were made from the data; `null` for an imported model.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "is_format_1"
    )]
    pub labels: Option<Option<LabelOptions>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// Format 3: the features as clients send them; `features` then names the encoded columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<Input>>,
    /// Format 3: the blocks that encode `inputs` into the columns `features` names, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<Block>>,
    pub model: M,
    /// `null` for an imported model: it was not trained here, and its `origin` says where it
    /// came from.
    pub training: Option<Training>,
}

fn is_format_1<T>(field: &Option<T>) -> bool {
    field.is_none()
}

/// A field that is present, possibly `null`; a missing one is `None` through `default`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The smallest and largest value of one feature in the training data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// How the target column became class labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelOptions {
    /// The target column, as written in the header.
    pub target: String,
    /// `classes[1]` when the target is greater than this, else `classes[0]`; `null` when the
    /// labels are the target's values.
    pub above: Option<f64>,
    /// The names given with `--class-names`: for `above`, the two classes; otherwise the names
    /// of the integer codes 0..n-1 the target holds. `null` when the values are the labels.
    pub class_names: Option<Vec<String>>,
}

/// Where the model came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Origin {
    /// Fitted here by `train`; the `training` block says how.
    Trained { trainer: String },
    /// Imported from a scikit-learn export by `import`.
    Imported {
        /// The estimator: `LogisticRegression`, or `Pipeline(StandardScaler, LogisticRegression)`.
        estimator: String,
        sklearn_version: String,
        /// The export's file name and the SHA-256 of its bytes.
        export_file: String,
        export_sha256: String,
    },
}

/// How the model was trained: enough to reproduce and audit it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// The CSV file's name, without its directory.
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
    format_version: u64,
    location: String,
    sha256: String,
    feature_ranges: Option<Vec<Option<Range>>>,
    labels: Option<LabelOptions>,
    origin: Option<Origin>,
    training: Option<Training>,
    model: Model,
}

impl Artifact {
    /// Reads and checks the artifact at `path`.
    pub fn load(path: &Path) -> Result<Artifact, ArtifactError> {
        let location = path.display().to_string();
        let bytes = fs::read(path).map_err(|cause| ArtifactError::Read {
            location: location.clone(),
            cause,
        })?;
        Artifact::from_bytes(&bytes, &location)
    }

    /// The artifact compiled into the binary.
    pub fn embedded() -> Result<Artifact, ArtifactError> {
        Artifact::from_bytes(DEFAULT_ARTIFACT, DEFAULT_LOCATION)
    }

    /// Checks an artifact's bytes; `location` names them in errors.
    pub fn from_bytes(bytes: &[u8], location: &str) -> Result<Artifact, ArtifactError> {
        let json = |cause| ArtifactError::Json {
            location: location.to_owned(),
            cause,
        };
        // The version is read first so that a newer document fails on its version, not on
        // whichever field happened to change.
        #[derive(Deserialize)]
        struct Header {
            format_version: u64,
        }
        let header: Header = serde_json::from_slice(bytes).map_err(json)?;
        if !READABLE_VERSIONS.contains(&header.format_version) {
            return Err(ArtifactError::FormatVersion {
                location: location.to_owned(),
                found: header.format_version,
            });
        }
        let doc: Document<Box<RawValue>> = serde_json::from_slice(bytes).map_err(json)?;
        let inconsistent = |problem| ArtifactError::Inconsistent {
            location: location.to_owned(),
            problem,
        };
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
                binary_model(
                    doc.features.clone(),
                    doc.classes.clone(),
                    &fitted,
                    threshold,
                )
            }
            Kind::Multinomial | Kind::OneVsRest => {
                let fitted = serde_json::from_str(doc.model.get()).map_err(json)?;
                multinomial_model(doc.features.clone(), doc.classes.clone(), &fitted, doc.kind)
            }
        }
        .map_err(inconsistent)?;
        let model = match check_format(&doc).map_err(inconsistent)? {
            Checked::Preprocessing(step) => model.with_preprocessing(step),
            Checked::Columns(columns) => model.with_columns(columns),
        };
        Ok(Artifact {
            name: doc.name,
            version: doc.version,
            format_version: doc.format_version,
            location: location.to_owned(),
            sha256: sha256_hex(bytes),
            feature_ranges: doc.feature_ranges,
            labels: doc.labels.flatten(),
            origin: doc.origin,
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

    /// The format version the document was written in.
    pub fn format_version(&self) -> u64 {
        self.format_version
    }

    /// Where the bytes were read from: the file path, or [`DEFAULT_LOCATION`].
    pub fn location(&self) -> &str {
        &self.location
    }

    /// SHA-256 of the artifact's bytes, lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Per feature, the training data's range, when every feature is numeric; none in a format
    /// 1 artifact, nor for a model with categories (see [`Artifact::input_ranges`]).
    pub fn feature_ranges(&self) -> Option<Vec<Range>> {
        self.feature_ranges.as_ref()?.iter().copied().collect()
    }

    /// Per input, the training data's range; `None` for a categorical input.
    pub fn input_ranges(&self) -> Option<&[Option<Range>]> {
        self.feature_ranges.as_deref()
    }

    /// How the labels were made; none for an imported or a format 1 artifact.
    pub fn labels(&self) -> Option<&LabelOptions> {
        self.labels.as_ref()
    }

    /// Trained here or imported; none in a format 1 artifact (which was trained here).
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    /// How it was trained; none for an imported model.
    pub fn training(&self) -> Option<&Training> {
        self.training.as_ref()
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

/// Checks a fitted model with one weight column per class (multinomial or one-vs-rest, as
/// `kind` says) against the declared features and classes.
pub(crate) fn multinomial_model(
    features: Vec<String>,
    classes: Vec<String>,
    fitted: &MultiFittedLogisticRegression<f64, String>,
    kind: Kind,
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
    if kind == Kind::OneVsRest && classes.len() < 3 {
        return Err(Inconsistency::OneVsRestClasses(classes.len()));
    }
    let weights = params.columns().into_iter().map(|c| c.to_vec()).collect();
    let intercepts = fitted.intercept().to_vec();
    Ok(match kind {
        Kind::OneVsRest => Model::one_vs_rest(features, classes, weights, intercepts),
        _ => Model::multinomial(features, classes, weights, intercepts),
    })
}

/// What the format-dependent fields give the model.
enum Checked {
    Preprocessing(Option<Preprocessing>),
    Columns(Columns),
}

/// Checks the fields that depend on the format version, and returns the preprocessing step or
/// the compiled column blocks.
fn check_format<M>(doc: &Document<M>) -> Result<Checked, Inconsistency> {
    let version = doc.format_version;
    let unexpected = |field| Inconsistency::Unexpected { version, field };
    let missing = |field| Inconsistency::Missing { version, field };
    if version < 3 {
        for (present, field) in [
            (doc.inputs.is_some(), "inputs"),
            (doc.columns.is_some(), "columns"),
        ] {
            if present {
                return Err(unexpected(field));
            }
        }
    }
    if version == 1 {
        for (present, field) in [
            (doc.preprocessing.is_some(), "preprocessing"),
            (doc.feature_ranges.is_some(), "feature_ranges"),
            (doc.labels.is_some(), "labels"),
            (doc.origin.is_some(), "origin"),
        ] {
            if present {
                return Err(unexpected(field));
            }
        }
        return match doc.training {
            Some(_) => Ok(Checked::Preprocessing(None)),
            None => Err(Inconsistency::NoTraining),
        };
    }
    let ranges = doc
        .feature_ranges
        .as_ref()
        .ok_or(missing("feature_ranges"))?;
    let origin = doc.origin.as_ref().ok_or(missing("origin"))?;
    if doc.labels.is_none() {
        return Err(missing("labels"));
    }
    if doc.training.is_none() && matches!(origin, Origin::Trained { .. }) {
        return Err(Inconsistency::NoTraining);
    }
    if version == 3 {
        let inputs = doc.inputs.as_ref().ok_or(missing("inputs"))?;
        let blocks = doc.columns.as_ref().ok_or(missing("columns"))?;
        match &doc.preprocessing {
            None => return Err(missing("preprocessing")),
            Some(Some(_)) => return Err(Inconsistency::Preprocessing),
            Some(None) => {}
        }
        same_length("feature_ranges", inputs.len(), ranges.len())?;
        return Ok(Checked::Columns(Columns::new(
            inputs,
            blocks,
            doc.features.len(),
        )?));
    }
    same_length("feature_ranges", doc.features.len(), ranges.len())?;
    if ranges.iter().any(Option::is_none) {
        return Err(missing("feature_ranges"));
    }
    let step = match &doc.preprocessing {
        Some(None) => return Ok(Checked::Preprocessing(None)),
        None => return Err(missing("preprocessing")),
        Some(Some(Preprocessing::Scale(scale))) => {
            check_scale(&doc.features, scale)?;
            return Ok(Checked::Preprocessing(Some(Preprocessing::Scale(
                scale.clone(),
            ))));
        }
        Some(Some(Preprocessing::Standardize(standardize))) => standardize,
    };
    check_standardize(&doc.features, step)?;
    Ok(Checked::Preprocessing(Some(Preprocessing::Standardize(
        step.clone(),
    ))))
}

fn check_standardize(features: &[String], standardize: &Standardize) -> Result<(), Inconsistency> {
    let length = |what, found| same_length(what, features.len(), found);
    length("preprocessing.standardize.mean", standardize.mean.len())?;
    length("preprocessing.standardize.scale", standardize.scale.len())?;
    if let Some((feature, &value)) = features
        .iter()
        .zip(&standardize.scale)
        .find(|(_, s)| s.is_nan() || **s <= 0.0)
    {
        return Err(Inconsistency::Scale {
            feature: feature.clone(),
            value,
        });
    }
    Ok(())
}

/// `what` has one value per feature.
fn same_length(what: &'static str, expected: usize, found: usize) -> Result<(), Inconsistency> {
    if found == expected {
        Ok(())
    } else {
        Err(Inconsistency::Length {
            what,
            expected,
            found,
        })
    }
}

/// A scikit-learn scaler: every vector one value per feature, divisors not zero, the clip's
/// bounds in order.
fn check_scale(features: &[String], scale: &Scale) -> Result<(), Inconsistency> {
    for (what, values) in scale.vectors() {
        if let Some(values) = values {
            same_length(what, features.len(), values.len())?;
        }
    }
    if let Some((feature, &value)) = scale
        .divide
        .iter()
        .flat_map(|d| features.iter().zip(d))
        .find(|(_, d)| **d == 0.0)
    {
        return Err(Inconsistency::Scale {
            feature: feature.clone(),
            value,
        });
    }
    if let Some([low, high]) = scale.clip
        && low > high
    {
        return Err(Inconsistency::Clip { low, high });
    }
    Ok(())
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
