//! Importing a scikit-learn model from a small JSON export into an artifact.
//!
//! What is reproduced: a `LogisticRegression` (any solver, any `multi_class`), an
//! `SGDClassifier(loss="log_loss")` or a `OneVsRestClassifier` of either, alone or after one
//! of the linear scalers (`StandardScaler`, `MinMaxScaler`, `MaxAbsScaler`, `RobustScaler`) in
//! a `Pipeline`. The export says how scores become probabilities, as scikit-learn decides it:
//! `logistic` (two classes: the logistic function of one score), `softmax` (the multinomial
//! loss; for two classes scikit-learn takes the softmax of `[-z, z]`, imported as two weight
//! rows `-w` and `w`, whose scores are exactly `-z` and `z`) or `ovr` (three or more classes:
//! each class's logistic function divided by their sum). Anything else is refused with one
//! line.
//!
//! The export (`format` [`EXPORT_FORMAT`], version 2), as the README's Python writes it:
//!
//! | key | value |
//! |---|---|
//! | `format`, `format_version` | `"ml-inference-app/sklearn-export"`, `2` |
//! | `sklearn_version` | `sklearn.__version__` |
//! | `estimator` | what was exported, e.g. `"Pipeline(MinMaxScaler, OneVsRestClassifier(LogisticRegression))"` |
//! | `probability` | `"logistic"`, `"softmax"` or `"ovr"` |
//! | `feature_names` | the columns, in order |
//! | `classes` | `classes_`: strings, numbers or booleans |
//! | `coef`, `intercept` | one row per score: `[1, F]` for two classes, `[C, F]` otherwise |
//! | `scaler` | `null`, or the scaler's class and its steps `subtract`, `divide`, `multiply`, `add` (per feature, or `null`) and `clip` (`[low, high]` or `null`), in that order |
//! | `feature_min`, `feature_max` | per feature, the training data's range |
//!
//! Version 1 (`steps`, and a `scaler` of `mean` and `scale`) still imports.
//!
//! Version 3 is a `Pipeline(ColumnTransformer, estimator)` over a DataFrame: `inputs` (the
//! frame's columns, each `numeric` or `categorical`), `columns` (the transformers as the
//! artifact's column blocks: impute, scale, one-hot, ordinal, passthrough, in scikit-learn's
//! order), `feature_names` (the expanded columns), `feature_ranges` (per input, `null` for a
//! categorical one) beside `estimator`, `probability`, `classes`, `coef` and `intercept`. It
//! imports as an artifact of format 3, whose loading checks the blocks against the inputs and
//! the weights.

use serde::Deserialize;
use serde_json::{Value, json};
use thiserror::Error;

use crate::api::{Number, quote_non_finite};
use crate::artifact::{
    Artifact, COLUMNS_FORMAT_VERSION, Document, FORMAT_VERSION, Origin, Preprocessing, Range,
    sha256_hex,
};
use crate::inputs::{Block, Input};
use crate::model::Kind;
use crate::preprocessing::{Scale, Standardize};

/// The `format` an export declares.
pub const EXPORT_FORMAT: &str = "ml-inference-app/sklearn-export";

/// The scalers this importer reproduces, and the steps each may have.
const SCALERS: [(&str, &[&str]); 4] = [
    ("StandardScaler", &["subtract", "divide"]),
    ("RobustScaler", &["subtract", "divide"]),
    ("MaxAbsScaler", &["divide"]),
    ("MinMaxScaler", &["multiply", "add", "clip"]),
];

/// The final estimators this importer reproduces.
const ESTIMATORS: [&str; 4] = [
    "LogisticRegression",
    "SGDClassifier",
    "OneVsRestClassifier(LogisticRegression)",
    "OneVsRestClassifier(SGDClassifier)",
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
    #[error("format {format:?} version {version} is not {EXPORT_FORMAT:?} version 1, 2 or 3")]
    Format { format: String, version: u64 },
    #[error("probability {0:?} is not \"logistic\", \"softmax\" or \"ovr\"")]
    Probability(String),
    #[error(
        "the estimator {0:?} cannot be reproduced: only {ESTIMATORS:?}, alone or in a Pipeline after one of StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler, or a ColumnTransformer"
    )]
    Estimator(String),
    #[error("the estimator {estimator:?} does not match its scaler {scaler:?}")]
    Scaler {
        estimator: String,
        scaler: Option<String>,
    },
    #[error("a {scaler} has no {step:?} step")]
    ScalerStep { scaler: String, step: &'static str },
    #[error("one-vs-rest probabilities need three or more classes; two classes are \"logistic\"")]
    OneVsRestClasses,
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
    #[error("class {0} is neither a string, a number nor a boolean")]
    ClassType(String),
    #[error("feature {0:?} is listed twice")]
    DuplicateFeature(String),
    #[error("{what} is {value}, not a finite number")]
    NotFinite { what: String, value: f64 },
    #[error("the scaler divides feature {feature:?} by {value}")]
    Scale { feature: String, value: f64 },
    #[error("the scaler's clip [{low}, {high}] is not in order")]
    Clip { low: f64, high: f64 },
    #[error("the imported model does not load: {0}")]
    Unloadable(String),
}

/// An export as this importer reads it: version 2, or version 1 converted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Export {
    // Read by the header; listed so that every key of the export is known.
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    format_version: u64,
    sklearn_version: String,
    estimator: String,
    probability: String,
    feature_names: Vec<String>,
    classes: Vec<Value>,
    coef: Vec<Vec<Number>>,
    intercept: Vec<Number>,
    scaler: Option<ScalerExport>,
    feature_min: Vec<Number>,
    feature_max: Vec<Number>,
}

/// Version 3: a `Pipeline(ColumnTransformer, estimator)`, its inputs as the fitted frame had
/// them and the column blocks that expand them, in the artifact's own form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableExport {
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    format_version: u64,
    sklearn_version: String,
    estimator: String,
    probability: String,
    inputs: Vec<Input>,
    columns: Vec<Block>,
    /// The expanded columns, as `get_feature_names_out` names them.
    feature_names: Vec<String>,
    /// Per input, the training data's range; `null` for a categorical one.
    feature_ranges: Vec<Option<RangeExport>>,
    classes: Vec<Value>,
    coef: Vec<Vec<Number>>,
    intercept: Vec<Number>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeExport {
    min: Number,
    max: Number,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScalerExport {
    scaler: String,
    subtract: Option<Vec<Number>>,
    divide: Option<Vec<Number>>,
    multiply: Option<Vec<Number>>,
    add: Option<Vec<Number>>,
    clip: Option<[Number; 2]>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportV1 {
    format: String,
    format_version: u64,
    sklearn_version: String,
    steps: Vec<String>,
    probability: String,
    feature_names: Vec<String>,
    classes: Vec<Value>,
    coef: Vec<Vec<Number>>,
    intercept: Vec<Number>,
    scaler: Option<StandardV1>,
    feature_min: Vec<Number>,
    feature_max: Vec<Number>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StandardV1 {
    mean: Vec<Number>,
    scale: Vec<Number>,
}

impl From<ExportV1> for Export {
    fn from(v1: ExportV1) -> Export {
        let estimator = match v1.steps.as_slice() {
            [one] => one.clone(),
            steps => format!("Pipeline({})", steps.join(", ")),
        };
        Export {
            format: v1.format,
            format_version: v1.format_version,
            sklearn_version: v1.sklearn_version,
            estimator,
            probability: v1.probability,
            feature_names: v1.feature_names,
            classes: v1.classes,
            coef: v1.coef,
            intercept: v1.intercept,
            scaler: v1.scaler.map(|s| ScalerExport {
                scaler: "StandardScaler".into(),
                subtract: Some(s.mean),
                divide: Some(s.scale),
                multiply: None,
                add: None,
                clip: None,
            }),
            feature_min: v1.feature_min,
            feature_max: v1.feature_max,
        }
    }
}

/// What names the imported model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    pub name: String,
    pub version: String,
    /// Names for the classes, in scikit-learn's order (`classes_`), for a model fitted on
    /// codes: `0`, `1` become what the names say.
    pub class_names: Option<Vec<String>>,
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
    let json = |source| ImportError::Json {
        file: file.to_owned(),
        source,
    };
    let text = quote_non_finite(bytes);
    #[derive(Deserialize)]
    struct Header {
        format: String,
        format_version: u64,
    }
    let header: Header = serde_json::from_slice(&text).map_err(json)?;
    let document = match (header.format.as_str(), header.format_version) {
        (EXPORT_FORMAT, 1) => {
            let export = serde_json::from_slice::<ExportV1>(&text).map_err(json)?;
            document(&Export::from(export), bytes, file, options)
        }
        (EXPORT_FORMAT, 2) => {
            let export = serde_json::from_slice::<Export>(&text).map_err(json)?;
            document(&export, bytes, file, options)
        }
        (EXPORT_FORMAT, 3) => {
            let export = serde_json::from_slice::<TableExport>(&text).map_err(json)?;
            table_document(&export, bytes, file, options)
        }
        _ => {
            return Err(refused(Refusal::Format {
                format: header.format,
                version: header.format_version,
            }));
        }
    }
    .map_err(refused)?;
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
    let scaler_name = export.scaler.as_ref().map(|s| s.scaler.clone());
    let expected = match &scaler_name {
        None => ESTIMATORS.map(str::to_owned).to_vec(),
        Some(scaler) => ESTIMATORS
            .iter()
            .map(|e| format!("Pipeline({scaler}, {e})"))
            .collect(),
    };
    if !expected.contains(&export.estimator) {
        let known = SCALERS
            .iter()
            .flat_map(|(scaler, _)| ESTIMATORS.map(|e| format!("Pipeline({scaler}, {e})")))
            .chain(ESTIMATORS.map(str::to_owned))
            .any(|e| e == export.estimator);
        return Err(if known {
            Refusal::Scaler {
                estimator: export.estimator.clone(),
                scaler: scaler_name,
            }
        } else {
            Refusal::Estimator(export.estimator.clone())
        });
    }
    let width = export.feature_names.len();
    unique_features(&export.feature_names)?;
    let linear = linear(
        &export.probability,
        &renamed(&export.classes, options)?,
        &export.coef,
        &export.intercept,
        width,
    )?;
    shape("feature_min", width, export.feature_min.len())?;
    shape("feature_max", width, export.feature_max.len())?;
    let min = finite("feature_min", &export.feature_min)?;
    let max = finite("feature_max", &export.feature_max)?;
    let preprocessing = match &export.scaler {
        None => None,
        Some(scaler) => Some(preprocessing(scaler, &export.feature_names)?),
    };
    let origin = origin(&export.estimator, &export.sklearn_version, bytes, file);
    Ok(Document {
        preprocessing: Some(preprocessing),
        feature_ranges: Some(
            min.iter()
                .zip(&max)
                .map(|(&min, &max)| Some(Range { min, max }))
                .collect(),
        ),
        ..linear.document(&export.feature_names, options, origin)
    })
}

/// Checks a version 3 export (a `ColumnTransformer` before the estimator) and builds the
/// artifact document: its inputs and column blocks as the export lists them, which loading
/// the artifact checks against each other and against the weights.
fn table_document(
    export: &TableExport,
    bytes: &[u8],
    file: &str,
    options: &ImportOptions,
) -> Result<Document<Value>, Refusal> {
    if !ESTIMATORS
        .iter()
        .any(|e| export.estimator == format!("Pipeline(ColumnTransformer, {e})"))
    {
        return Err(Refusal::Estimator(export.estimator.clone()));
    }
    let width = export.feature_names.len();
    unique_features(&export.feature_names)?;
    let names: Vec<String> = export.inputs.iter().map(|i| i.name.clone()).collect();
    unique_features(&names)?;
    let linear = linear(
        &export.probability,
        &renamed(&export.classes, options)?,
        &export.coef,
        &export.intercept,
        width,
    )?;
    shape("feature_ranges", names.len(), export.feature_ranges.len())?;
    let mut ranges = Vec::with_capacity(names.len());
    for (name, range) in names.iter().zip(&export.feature_ranges) {
        ranges.push(match range {
            None => None,
            Some(RangeExport { min, max }) => {
                let what = format!("the range of {name:?}");
                let [min, max] = finite(&what, &[*min, *max])?[..] else {
                    unreachable!("two values in, two out")
                };
                Some(Range { min, max })
            }
        });
    }
    let origin = origin(&export.estimator, &export.sklearn_version, bytes, file);
    Ok(Document {
        format_version: COLUMNS_FORMAT_VERSION,
        feature_ranges: Some(ranges),
        inputs: Some(export.inputs.clone()),
        columns: Some(export.columns.clone()),
        ..linear.document(&export.feature_names, options, origin)
    })
}

/// The classes as exported, or under the names `--class-names` gives them, in the same order.
fn renamed(classes: &[Value], options: &ImportOptions) -> Result<Vec<Value>, Refusal> {
    match &options.class_names {
        None => Ok(classes.to_vec()),
        Some(names) => {
            shape("--class-names", classes.len(), names.len())?;
            Ok(names.iter().map(|n| Value::String(n.clone())).collect())
        }
    }
}

fn origin(estimator: &str, sklearn_version: &str, bytes: &[u8], file: &str) -> Origin {
    Origin::Imported {
        estimator: estimator.to_owned(),
        sklearn_version: sklearn_version.to_owned(),
        export_file: file.to_owned(),
        export_sha256: sha256_hex(bytes),
    }
}

fn unique_features(names: &[String]) -> Result<(), Refusal> {
    match names
        .iter()
        .enumerate()
        .find(|(i, name)| names[..*i].contains(name))
    {
        Some((_, name)) => Err(Refusal::DuplicateFeature(name.clone())),
        None => Ok(()),
    }
}

/// The fitted linear model: its kind, class names, and the model as linfa serialises it.
struct Linear {
    kind: Kind,
    classes: Vec<String>,
    model: Value,
}

impl Linear {
    /// The artifact of these weights over the columns `features`, with what every export
    /// version fills alike: format 2, no preprocessing, no labels, no training, its origin.
    fn document(
        self,
        features: &[String],
        options: &ImportOptions,
        origin: Origin,
    ) -> Document<Value> {
        Document {
            format_version: FORMAT_VERSION,
            name: options.name.clone(),
            version: options.version.clone(),
            kind: self.kind,
            features: features.to_vec(),
            classes: self.classes,
            preprocessing: Some(None),
            feature_ranges: None,
            labels: Some(None),
            origin: Some(origin),
            inputs: None,
            columns: None,
            model: self.model,
            training: None,
        }
    }
}

/// Checks the weights against `width` columns and the classes, as scikit-learn's probability
/// mode says they are used.
fn linear(
    probability: &str,
    classes: &[Value],
    coef: &[Vec<Number>],
    intercept: &[Number],
    width: usize,
) -> Result<Linear, Refusal> {
    let classes = class_names(classes)?;
    // Scores: one for two classes (the softmax's two being -z and z), one per class otherwise.
    let (kind, rows) = match (probability, classes.len()) {
        ("logistic", 2) => (Kind::Binary, 1),
        ("softmax", 2) => (Kind::Multinomial, 1),
        ("softmax", n) => (Kind::Multinomial, n),
        ("ovr", 2) => return Err(Refusal::OneVsRestClasses),
        ("ovr", n) => (Kind::OneVsRest, n),
        ("logistic", n) => return Err(Refusal::LogisticClasses(n)),
        (other, _) => return Err(Refusal::Probability(other.to_owned())),
    };
    shape("coef", rows, coef.len())?;
    shape("intercept", rows, intercept.len())?;
    let mut weights = Vec::with_capacity(rows);
    for (i, row) in coef.iter().enumerate() {
        shape(&format!("coef[{i}]"), width, row.len())?;
        weights.push(finite(&format!("coef[{i}]"), row)?);
    }
    let mut intercept = finite("intercept", intercept)?;
    if kind == Kind::Multinomial && rows == 1 {
        // Negation is exact, so these scores are scikit-learn's -z and z to the bit.
        weights.insert(0, weights[0].iter().map(|w| -w).collect());
        intercept.insert(0, -intercept[0]);
    }
    let rows = weights.len();
    // The fitted model, as linfa serialises it, so that any linfa user can load it.
    let model = match kind {
        Kind::Binary => json!({
            "threshold": 0.5,
            "intercept": intercept[0],
            "params": {"v": 1, "dim": [width], "data": weights[0]},
            "labels": {
                "pos": {"class": classes[1], "label": 1.0},
                "neg": {"class": classes[0], "label": -1.0},
            },
        }),
        Kind::Multinomial | Kind::OneVsRest => {
            // linfa stores [features, classes]; scikit-learn's coef_ is [classes, features].
            let data: Vec<f64> = (0..width)
                .flat_map(|j| weights.iter().map(move |row| row[j]))
                .collect();
            json!({
                "classes": classes,
                "intercept": {"v": 1, "dim": [rows], "data": intercept},
                "params": {"v": 1, "dim": [width, rows], "data": data},
            })
        }
    };
    Ok(Linear {
        kind,
        classes,
        model,
    })
}

/// The scaler as a preprocessing step: a `StandardScaler` that centres and scales is the
/// artifact's standardization (the same arithmetic), any other a [`Scale`].
fn preprocessing(scaler: &ScalerExport, features: &[String]) -> Result<Preprocessing, Refusal> {
    let Some((name, allowed)) = SCALERS.iter().find(|(name, _)| *name == scaler.scaler) else {
        return Err(Refusal::Estimator(scaler.scaler.clone()));
    };
    let width = features.len();
    let vector = |step: &'static str, values: &Option<Vec<Number>>| -> Result<_, Refusal> {
        let Some(values) = values else {
            return Ok(None);
        };
        if !allowed.contains(&step) {
            return Err(Refusal::ScalerStep {
                scaler: name.to_string(),
                step,
            });
        }
        shape(&format!("scaler.{step}"), width, values.len())?;
        finite(&format!("scaler.{step}"), values).map(Some)
    };
    let subtract = vector("subtract", &scaler.subtract)?;
    let divide = vector("divide", &scaler.divide)?;
    let multiply = vector("multiply", &scaler.multiply)?;
    let add = vector("add", &scaler.add)?;
    if let Some((feature, &value)) = divide
        .iter()
        .flat_map(|d| features.iter().zip(d))
        .find(|(_, d)| **d == 0.0)
    {
        return Err(Refusal::Scale {
            feature: feature.clone(),
            value,
        });
    }
    let clip = match &scaler.clip {
        None => None,
        Some(_) if !allowed.contains(&"clip") => {
            return Err(Refusal::ScalerStep {
                scaler: name.to_string(),
                step: "clip",
            });
        }
        Some([Number(low), Number(high)]) => {
            if !(low.is_finite() && high.is_finite() && low <= high) {
                return Err(Refusal::Clip {
                    low: *low,
                    high: *high,
                });
            }
            Some([*low, *high])
        }
    };
    Ok(match (*name, subtract, divide, &multiply, &add, clip) {
        ("StandardScaler", Some(mean), Some(scale), None, None, None)
            if scale.iter().all(|s| *s > 0.0) =>
        {
            Preprocessing::Standardize(Standardize { mean, scale })
        }
        (_, subtract, divide, _, _, clip) => Preprocessing::Scale(Scale {
            scaler: name.to_string(),
            subtract,
            divide,
            multiply,
            add,
            clip,
        }),
    })
}

/// Class labels as text: strings as they are, numbers as JSON writes them, booleans as
/// `false` and `true`.
fn class_names(classes: &[Value]) -> Result<Vec<String>, Refusal> {
    let names: Vec<String> = classes
        .iter()
        .map(|c| match c {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
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
