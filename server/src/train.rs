//! Deterministic training of the reference models from the CSVs committed under `fixtures/data`.
//!
//! Nothing here is random: the held-out split is a fixed stride, linfa's L-BFGS starts from
//! zeros, and the document is written with fields in declaration order and shortest-round-trip
//! floats. Training the same data twice gives the same bytes.

use std::fs;
use std::path::{Path, PathBuf};

use linfa::Dataset;
use linfa::prelude::*;
use linfa_logistic::{LogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2};
use thiserror::Error;

use crate::artifact::{self, Document, FORMAT_VERSION, Hyperparameters, Inconsistency, Training};
use crate::model::{Kind, Model};
use crate::rows::Rows;

/// One in this many rows (the last of each group) is held out for evaluation.
const HOLD_OUT_EVERY: usize = 5;

/// How a recipe turns its target column into class labels.
#[derive(Debug, Clone, Copy)]
pub enum Labels {
    /// `classes[1]` when the target is greater than `above`, else `classes[0]`.
    Above {
        above: f64,
        classes: [&'static str; 2],
    },
    /// The target is an index into the class names.
    Index(&'static [&'static str]),
}

/// Everything that defines a reference model: data, label rule and hyper-parameters.
#[derive(Debug, Clone, Copy)]
pub struct Recipe {
    pub name: &'static str,
    pub version: &'static str,
    pub kind: Kind,
    /// CSV file name inside the data directory.
    pub data_file: &'static str,
    /// The column holding the target; every other column is a feature.
    pub target: &'static str,
    pub labels: Labels,
    pub alpha: f64,
    pub max_iterations: u64,
    pub gradient_tolerance: f64,
}

/// Red wine: good when quality is above 6 (Cortez et al., 2009).
pub const WINE_QUALITY: Recipe = Recipe {
    name: "wine-quality",
    version: "1.0.0",
    kind: Kind::Binary,
    data_file: "winequality-red.csv",
    target: "quality",
    labels: Labels::Above {
        above: 6.0,
        classes: ["bad", "good"],
    },
    alpha: 0.1,
    max_iterations: 1000,
    gradient_tolerance: 1e-6,
};

/// Fisher's iris: three species from four measurements.
pub const IRIS: Recipe = Recipe {
    name: "iris",
    version: "1.0.0",
    kind: Kind::Multinomial,
    data_file: "iris.csv",
    target: "species",
    labels: Labels::Index(&["setosa", "versicolor", "virginica"]),
    alpha: 0.1,
    max_iterations: 1000,
    gradient_tolerance: 1e-6,
};

/// The reference models, in the order `train` builds them.
pub const RECIPES: [Recipe; 2] = [WINE_QUALITY, IRIS];

/// Why training failed.
#[derive(Debug, Error)]
pub enum TrainError {
    #[error("{path}: cannot read the data: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: not valid CSV: {cause}")]
    Csv { path: PathBuf, cause: csv::Error },
    #[error("{path}: no column named {column:?}")]
    MissingColumn { path: PathBuf, column: String },
    #[error("{path}: row {row}: {value:?} is not a number")]
    NotANumber {
        path: PathBuf,
        row: usize,
        value: String,
    },
    #[error("{path}: row {row}: {value} is not a class index")]
    BadLabel {
        path: PathBuf,
        row: usize,
        value: f64,
    },
    #[error("fitting {model} failed: {cause}")]
    Fit {
        model: String,
        cause: linfa_logistic::error::Error,
    },
    #[error("{model}: the fitted model is unusable: {problem}")]
    Unusable {
        model: String,
        problem: Inconsistency,
    },
}

/// A table read from CSV: feature names (normalised), feature rows and raw target values.
struct Table {
    features: Vec<String>,
    x: Vec<Vec<f64>>,
    target: Vec<f64>,
}

/// A freshly trained model: the artifact's bytes and the model they load as.
#[derive(Debug, Clone)]
pub struct Trained {
    pub artifact: Vec<u8>,
    pub model: Model,
}

/// Trains `recipe` on its CSV in `data_dir`.
pub fn train(recipe: &Recipe, data_dir: &Path) -> Result<Trained, TrainError> {
    let (bytes, path) = read_data(recipe, data_dir)?;
    let table = read_table(&bytes, recipe.target, &path)?;
    let labels = label(&table.target, recipe.labels, &path)?;

    let (mut train_x, mut train_y, mut test_x, mut test_y) = (vec![], vec![], vec![], vec![]);
    for (i, (row, y)) in table.x.iter().zip(&labels).enumerate() {
        if is_held_out(i) {
            test_x.push(row.clone());
            test_y.push(y.clone());
        } else {
            train_x.extend_from_slice(row);
            train_y.push(y.clone());
        }
    }
    let width = table.features.len();
    let dataset = Dataset::new(
        Array2::from_shape_vec((train_y.len(), width), train_x).expect("rows have equal width"),
        Array1::from_vec(train_y.clone()),
    );

    let fit_error = |cause| TrainError::Fit {
        model: recipe.name.to_owned(),
        cause,
    };
    let unusable = |problem| TrainError::Unusable {
        model: recipe.name.to_owned(),
        problem,
    };
    let (model, fitted_json) = match recipe.kind {
        Kind::Binary => {
            let fitted = LogisticRegression::default()
                .alpha(recipe.alpha)
                .max_iterations(recipe.max_iterations)
                .gradient_tolerance(recipe.gradient_tolerance)
                .fit(&dataset)
                .map_err(fit_error)?;
            // linfa calls the more frequent class positive; the artifact lists [negative, positive].
            let labels = fitted.labels();
            let classes = vec![labels.neg.class.clone(), labels.pos.class.clone()];
            let model = artifact::binary_model(table.features.clone(), classes, &fitted, 0.5)
                .map_err(unusable)?;
            (model, serde_json::to_value(&fitted))
        }
        Kind::Multinomial => {
            let fitted = MultiLogisticRegression::default()
                .alpha(recipe.alpha)
                .max_iterations(recipe.max_iterations)
                .gradient_tolerance(recipe.gradient_tolerance)
                .fit(&dataset)
                .map_err(fit_error)?;
            let model = artifact::multinomial_model(
                table.features.clone(),
                class_names(recipe.labels),
                &fitted,
            )
            .map_err(unusable)?;
            (model, serde_json::to_value(&fitted))
        }
    };

    let document = Document {
        format_version: FORMAT_VERSION,
        name: recipe.name.to_owned(),
        version: recipe.version.to_owned(),
        kind: recipe.kind,
        features: table.features,
        classes: model.classes().to_vec(),
        model: fitted_json.expect("a fitted model serialises"),
        training: Training {
            data_file: recipe.data_file.to_owned(),
            data_sha256: artifact::sha256_hex(&bytes),
            rows: labels.len(),
            train_rows: train_y.len(),
            held_out_rows: test_y.len(),
            split: format!("every {HOLD_OUT_EVERY}th row (1-based) held out"),
            label: describe(recipe),
            hyperparameters: Hyperparameters {
                alpha: recipe.alpha,
                max_iterations: recipe.max_iterations,
                gradient_tolerance: recipe.gradient_tolerance,
                fit_intercept: true,
            },
            held_out_accuracy: accuracy(&model, &test_x, &test_y),
            trainer: "linfa-logistic 0.8".to_owned(),
        },
    };
    let mut artifact = serde_json::to_vec_pretty(&document).expect("a document serialises");
    artifact.push(b'\n');
    Ok(Trained { artifact, model })
}

/// The feature rows `train` holds out for evaluation, in file order.
pub fn held_out_rows(recipe: &Recipe, data_dir: &Path) -> Result<Vec<Vec<f64>>, TrainError> {
    let (bytes, path) = read_data(recipe, data_dir)?;
    let table = read_table(&bytes, recipe.target, &path)?;
    Ok(table
        .x
        .into_iter()
        .enumerate()
        .filter(|(i, _)| is_held_out(*i))
        .map(|(_, row)| row)
        .collect())
}

fn is_held_out(row: usize) -> bool {
    row % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1
}

fn read_data(recipe: &Recipe, data_dir: &Path) -> Result<(Vec<u8>, PathBuf), TrainError> {
    let path = data_dir.join(recipe.data_file);
    match fs::read(&path) {
        Ok(bytes) => Ok((bytes, path)),
        Err(cause) => Err(TrainError::Read { path, cause }),
    }
}

/// Reads a headed CSV of numbers; `target` is split off and the rest are features.
fn read_table(bytes: &[u8], target: &str, path: &Path) -> Result<Table, TrainError> {
    let csv_error = |cause| TrainError::Csv {
        path: path.to_owned(),
        cause,
    };
    let mut reader = csv::Reader::from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(normalise)
        .collect();
    let target_at =
        header
            .iter()
            .position(|h| h == target)
            .ok_or_else(|| TrainError::MissingColumn {
                path: path.to_owned(),
                column: target.to_owned(),
            })?;
    let mut table = Table {
        features: header
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != target_at)
            .map(|(_, h)| h.clone())
            .collect(),
        x: vec![],
        target: vec![],
    };
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(csv_error)?;
        let mut values = Vec::with_capacity(record.len());
        for field in &record {
            values.push(
                field
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| TrainError::NotANumber {
                        path: path.to_owned(),
                        row,
                        value: field.to_owned(),
                    })?,
            );
        }
        table.target.push(values.remove(target_at));
        table.x.push(values);
    }
    Ok(table)
}

/// `"fixed acidity"` → `fixed_acidity`: names that are easy to use as JSON keys.
fn normalise(column: &str) -> String {
    column
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn label(target: &[f64], rule: Labels, path: &Path) -> Result<Vec<String>, TrainError> {
    target
        .iter()
        .enumerate()
        .map(|(row, &value)| match rule {
            Labels::Above { above, classes } => Ok(classes[usize::from(value > above)].to_owned()),
            Labels::Index(names) => names
                .get(value as usize)
                .filter(|_| value.fract() == 0.0 && value >= 0.0)
                .map(|name| (*name).to_owned())
                .ok_or(TrainError::BadLabel {
                    path: path.to_owned(),
                    row,
                    value,
                }),
        })
        .collect()
}

fn class_names(rule: Labels) -> Vec<String> {
    match rule {
        Labels::Above { classes, .. } => classes.iter().map(|c| (*c).to_owned()).collect(),
        Labels::Index(names) => names.iter().map(|c| (*c).to_owned()).collect(),
    }
}

fn describe(recipe: &Recipe) -> String {
    match recipe.labels {
        Labels::Above { above, classes } => format!(
            "{} if {} > {above}, else {}",
            classes[1], recipe.target, classes[0]
        ),
        Labels::Index(names) => format!("{} is an index into {names:?}", recipe.target),
    }
}

/// Share of `rows` that the served model labels as `labels` says.
fn accuracy(model: &Model, rows: &[Vec<f64>], labels: &[String]) -> f64 {
    let Ok(rows) = Rows::from_rows(rows, model.features()) else {
        return 0.0;
    };
    let Ok(predictions) = model.predict(&rows) else {
        return 0.0;
    };
    let correct = predictions
        .iter()
        .zip(labels)
        .filter(|(p, label)| model.classes()[p.class] == **label)
        .count();
    correct as f64 / labels.len() as f64
}
