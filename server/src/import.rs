//! Importing a scikit-learn model from a small JSON export into an artifact.
//!
//! What can be reproduced exactly is a `LogisticRegression` with softmax probabilities
//! (multinomial, more than two classes) or the logistic function (binary), alone or after a
//! `StandardScaler` in a `Pipeline`. Everything else is refused with one line: one-vs-rest
//! probabilities (`multi_class='ovr'` or the liblinear solver) normalise per-class sigmoids,
//! a binary model fitted with the multinomial loss answers `softmax([-z, z])`, and any other
//! step transforms the input in ways the artifact cannot carry.
//!
//! The export (`format` [`EXPORT_FORMAT`], version 1), as the README's Python writes it:
//!
//! | key | value |
//! |---|---|
//! | `format`, `format_version` | `"ml-inference-app/sklearn-export"`, `1` |
//! | `sklearn_version` | `sklearn.__version__` |
//! | `steps` | class names in order: `["LogisticRegression"]` or `["StandardScaler", "LogisticRegression"]` |
//! | `probability` | `"logistic"` (binary), `"softmax"` (multinomial loss) or `"ovr"` |
//! | `feature_names` | the columns, in order |
//! | `classes` | `classes_`, strings or numbers |
//! | `coef`, `intercept` | `coef_` (`[1, F]` binary, `[C, F]` multinomial) and `intercept_` |
//! | `scaler` | `{"mean": mean_, "scale": scale_}`, or `null` without a scaler |
//! | `feature_min`, `feature_max` | per feature, the training data's range |

use serde::Deserialize;
use serde_json::{Value, json};
use thiserror::Error;

use crate::api::{Number, quote_non_finite};
use crate::artifact::{
    Artifact, Document, FORMAT_VERSION, Origin, Preprocessing, Range, sha256_hex,
};
use crate::model::{Kind, Standardize};

/// The `format` an export declares.
pub const EXPORT_FORMAT: &str = "ml-inference-app/sklearn-export";

/// The estimator steps this importer reproduces.
const STEPS: [&[&str]; 2] = [
    &["LogisticRegression"],
    &["StandardScaler", "LogisticRegression"],
];

/// Why an export cannot be imported. Each message is one line starting with the export's file.
#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{file}: cannot read the export: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: not a scikit-learn export: {source}")]
    Json {
        file: String,
        source: serde_json::Error,
    },
    #[error("{file}: {problem}")]
    Refused { file: String, problem: Refusal },
}

/// What in an export cannot be reproduced exactly.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Refusal {
    #[error("format {format:?} version {version} is not {EXPORT_FORMAT:?} version 1")]
    Format { format: String, version: u64 },
    #[error(
        "one-vs-rest probabilities (multi_class='ovr', or the liblinear solver) cannot be reproduced; refit with the lbfgs solver"
    )]
    OneVsRest,
    #[error(
        "a binary model fitted with the multinomial loss cannot be reproduced; refit it without multi_class='multinomial'"
    )]
    BinaryMultinomial,
    #[error("probability {0:?} is not \"logistic\", \"softmax\" or \"ovr\"")]
    Probability(String),
    #[error(
        "the pipeline's steps {0:?} cannot be reproduced: only LogisticRegression, alone or after StandardScaler"
    )]
    Steps(Vec<String>),
    #[error("a StandardScaler step needs the \"scaler\" key, and only that step has one")]
    Scaler,
    #[error("{what} has {found} values, expected {expected}")]
    Shape {
        what: String,
        expected: usize,
        found: usize,
    },
    #[error("{0} classes: a classifier needs two or more")]
    Classes(usize),
    #[error("\"logistic\" probabilities are for two classes, not {0}")]
    LogisticClasses(usize),
    #[error("class {0} is listed twice")]
    DuplicateClass(String),
    #[error("class {0} is neither a string nor a number")]
    ClassType(String),
    #[error("feature {0:?} is listed twice")]
    DuplicateFeature(String),
    #[error("{what} is {value}, not a finite number")]
    NotFinite { what: String, value: f64 },
    #[error("the scaler's scale of feature {feature:?} is {value}, not a positive number")]
    Scale { feature: String, value: f64 },
    #[error("the imported model does not load: {0}")]
    Unloadable(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Export {
    format: String,
    format_version: u64,
    sklearn_version: String,
    steps: Vec<String>,
    probability: String,
    feature_names: Vec<String>,
    classes: Vec<Value>,
    coef: Vec<Vec<Number>>,
    intercept: Vec<Number>,
    scaler: Option<Scaler>,
    feature_min: Vec<Number>,
    feature_max: Vec<Number>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scaler {
    mean: Vec<Number>,
    scale: Vec<Number>,
}

/// What names the imported model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    pub name: String,
    pub version: String,
}

/// An imported model: the artifact's bytes and the artifact they load as.
#[derive(Debug, Clone)]
pub struct Imported {
    pub artifact: Vec<u8>,
    pub loaded: Artifact,
}

/// Imports the export `bytes` read from the file called `file`.
pub fn import(bytes: &[u8], file: &str, options: &ImportOptions) -> Result<Imported, ImportError> {
    let refused = |problem| ImportError::Refused {
        file: file.to_owned(),
        problem,
    };
    let export: Export =
        serde_json::from_slice(&quote_non_finite(bytes)).map_err(|source| ImportError::Json {
            file: file.to_owned(),
            source,
        })?;
    let document = document(&export, bytes, file, options).map_err(refused)?;
    let mut artifact = serde_json::to_vec_pretty(&document).expect("a document serialises");
    artifact.push(b'\n');
    let loaded = Artifact::from_bytes(&artifact, &options.name)
        .map_err(|e| refused(Refusal::Unloadable(e.to_string())))?;
    Ok(Imported { artifact, loaded })
}

/// Checks the export and builds the artifact document.
fn document(
    export: &Export,
    bytes: &[u8],
    file: &str,
    options: &ImportOptions,
) -> Result<Document<Value>, Refusal> {
    if export.format != EXPORT_FORMAT || export.format_version != 1 {
        return Err(Refusal::Format {
            format: export.format.clone(),
            version: export.format_version,
        });
    }
    let steps: Vec<&str> = export.steps.iter().map(String::as_str).collect();
    let Some(steps_kind) = STEPS.iter().position(|s| *s == steps.as_slice()) else {
        return Err(Refusal::Steps(export.steps.clone()));
    };
    if (steps_kind == 1) != export.scaler.is_some() {
        return Err(Refusal::Scaler);
    }

    let classes = class_names(&export.classes)?;
    let width = export.feature_names.len();
    if let Some((_, name)) = export
        .feature_names
        .iter()
        .enumerate()
        .find(|(i, name)| export.feature_names[..*i].contains(name))
    {
        return Err(Refusal::DuplicateFeature(name.clone()));
    }
    let kind = match (export.probability.as_str(), classes.len()) {
        ("ovr", _) => return Err(Refusal::OneVsRest),
        ("softmax", 2) => return Err(Refusal::BinaryMultinomial),
        ("logistic", 2) => Kind::Binary,
        ("softmax", _) => Kind::Multinomial,
        ("logistic", n) => return Err(Refusal::LogisticClasses(n)),
        (other, _) => return Err(Refusal::Probability(other.to_owned())),
    };
    let rows = match kind {
        Kind::Binary => 1,
        Kind::Multinomial => classes.len(),
    };
    shape("coef", rows, export.coef.len())?;
    shape("intercept", rows, export.intercept.len())?;
    let mut coef = Vec::with_capacity(rows);
    for (i, row) in export.coef.iter().enumerate() {
        shape(&format!("coef[{i}]"), width, row.len())?;
        coef.push(finite(&format!("coef[{i}]"), row)?);
    }
    let intercept = finite("intercept", &export.intercept)?;
    shape("feature_min", width, export.feature_min.len())?;
    shape("feature_max", width, export.feature_max.len())?;
    let min = finite("feature_min", &export.feature_min)?;
    let max = finite("feature_max", &export.feature_max)?;
    let standardize = match &export.scaler {
        None => None,
        Some(scaler) => {
            shape("scaler.mean", width, scaler.mean.len())?;
            shape("scaler.scale", width, scaler.scale.len())?;
            let scale = finite("scaler.scale", &scaler.scale)?;
            if let Some((feature, &value)) = export
                .feature_names
                .iter()
                .zip(&scale)
                .find(|(_, s)| s.is_nan() || **s <= 0.0)
            {
                return Err(Refusal::Scale {
                    feature: feature.clone(),
                    value,
                });
            }
            Some(Standardize {
                mean: finite("scaler.mean", &scaler.mean)?,
                scale,
            })
        }
    };

    // The fitted model, as linfa serialises it, so that any linfa user can load it.
    let model = match kind {
        Kind::Binary => json!({
            "threshold": 0.5,
            "intercept": intercept[0],
            "params": {"v": 1, "dim": [width], "data": coef[0]},
            "labels": {
                "pos": {"class": classes[1], "label": 1.0},
                "neg": {"class": classes[0], "label": -1.0},
            },
        }),
        Kind::Multinomial => {
            // linfa stores [features, classes]; scikit-learn's coef_ is [classes, features].
            let data: Vec<f64> = (0..width)
                .flat_map(|j| coef.iter().map(move |row| row[j]))
                .collect();
            json!({
                "classes": classes,
                "intercept": {"v": 1, "dim": [rows], "data": intercept},
                "params": {"v": 1, "dim": [width, rows], "data": data},
            })
        }
    };
    let estimator = if steps_kind == 1 {
        "Pipeline(StandardScaler, LogisticRegression)"
    } else {
        "LogisticRegression"
    };
    Ok(Document {
        format_version: FORMAT_VERSION,
        name: options.name.clone(),
        version: options.version.clone(),
        kind,
        features: export.feature_names.clone(),
        classes,
        preprocessing: Some(standardize.map(Preprocessing::Standardize)),
        feature_ranges: Some(
            min.iter()
                .zip(&max)
                .map(|(&min, &max)| Range { min, max })
                .collect(),
        ),
        labels: Some(None),
        origin: Some(Origin::Imported {
            estimator: estimator.to_owned(),
            sklearn_version: export.sklearn_version.clone(),
            export_file: file.to_owned(),
            export_sha256: sha256_hex(bytes),
        }),
        model,
        training: None,
    })
}

/// Class labels as text: strings as they are, numbers as JSON writes them.
fn class_names(classes: &[Value]) -> Result<Vec<String>, Refusal> {
    let names: Vec<String> = classes
        .iter()
        .map(|c| match c {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(Refusal::ClassType(other.to_string())),
        })
        .collect::<Result<_, _>>()?;
    if names.len() < 2 {
        return Err(Refusal::Classes(names.len()));
    }
    if let Some((_, name)) = names
        .iter()
        .enumerate()
        .find(|(i, name)| names[..*i].contains(name))
    {
        return Err(Refusal::DuplicateClass(format!("{name:?}")));
    }
    Ok(names)
}

fn shape(what: &str, expected: usize, found: usize) -> Result<(), Refusal> {
    if expected == found {
        Ok(())
    } else {
        Err(Refusal::Shape {
            what: what.to_owned(),
            expected,
            found,
        })
    }
}

fn finite(what: &str, values: &[Number]) -> Result<Vec<f64>, Refusal> {
    values
        .iter()
        .enumerate()
        .map(|(i, Number(v))| {
            if v.is_finite() {
                Ok(*v)
            } else {
                Err(Refusal::NotFinite {
                    what: format!("{what}[{i}]"),
                    value: *v,
                })
            }
        })
        .collect()
}
