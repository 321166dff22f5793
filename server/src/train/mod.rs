//! Deterministic training from any headed CSV of numbers.
//!
//! Every column but the target (and any excluded) is a feature. Labels are the target's values
//! as written, or made from it: `above` splits a numeric target in two, `class_names` names
//! integer codes 0..n-1. Two classes give linfa's binary `LogisticRegression`, more its
//! `MultiLogisticRegression`. The class order is the one linfa's fit produces, and the
//! artifact records it: for a binary model `[negative, positive]`, where linfa calls the more
//! frequent class (the first seen, on a tie) positive; for a multinomial model the labels in
//! sorted (string) order.
//!
//! Nothing here is random: the held-out split is a fixed stride, linfa's L-BFGS starts from
//! zeros, and the document is written with fields in declaration order and shortest-round-trip
//! floats. The same CSV bytes and options give the same artifact bytes, wherever the file is:
//! the artifact records the file's base name and SHA-256, not its path.
//!
//! # Layout
//! - [`table`]: the CSV, read and checked; [`args`]: the `train` command's options and the
//!   reference models' committed invocations.

pub mod args;
pub(crate) mod table;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use linfa::Dataset;
use linfa::prelude::*;
use linfa_logistic::{LogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2};
use thiserror::Error;

use crate::artifact::{
    self, Document, FORMAT_VERSION, Hyperparameters, Inconsistency, LabelOptions, Origin,
    Preprocessing, Range, Training,
};
use crate::model::{Kind, Model, Standardize};
use crate::rows::Rows;

/// One in this many rows (the last of each group) is held out for evaluation.
const HOLD_OUT_EVERY: usize = 5;

/// The library that fits, as artifacts record it.
const TRAINER: &str = "linfa-logistic 0.8";

/// Which columns are features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Features {
    /// Every column but the target.
    All,
    /// These columns, in this order.
    Only(Vec<String>),
    /// Every column but the target and these.
    Exclude(Vec<String>),
}

/// Everything that defines a model besides its data.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub name: String,
    pub version: String,
    /// The column holding the target.
    pub target: String,
    pub features: Features,
    /// Label `class_names[1]` (default `true`) when the target is greater than this, else
    /// `class_names[0]` (default `false`).
    pub above: Option<f64>,
    /// Class names: the two of `above`, or the names of integer codes 0..n-1 in the target.
    pub class_names: Option<Vec<String>>,
    /// L2 regularisation weight.
    pub alpha: f64,
    pub max_iterations: u64,
    pub gradient_tolerance: f64,
    /// Fit a per-feature standardization on the training rows and store it in the artifact.
    pub standardize: bool,
    pub delimiter: u8,
}

impl Options {
    /// The defaults for a model `name` with target column `target`.
    pub fn new(name: impl Into<String>, target: impl Into<String>) -> Options {
        Options {
            name: name.into(),
            version: "1.0.0".into(),
            target: target.into(),
            features: Features::All,
            above: None,
            class_names: None,
            alpha: 0.1,
            max_iterations: 1000,
            gradient_tolerance: 1e-6,
            standardize: false,
            delimiter: b',',
        }
    }
}

/// Why training failed. Each message is one line naming the file, and the line and column
/// where the data is at fault.
#[derive(Debug, Error)]
pub enum TrainError {
    #[error("{file}: cannot read the data: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: the file is empty")]
    Empty { file: String },
    #[error("{file}: the header has no data rows under it")]
    NoRows { file: String },
    #[error("{file}: line {line}: not valid CSV: {source}")]
    Csv {
        file: String,
        line: u64,
        source: csv::Error,
    },
    #[error("{file}: line {line}: {found} fields, the header has {expected}")]
    FieldCount {
        file: String,
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error(
        "{file}: the header is one column, {header:?}, which looks {delimiter:?}-separated: pass --delimiter '{delimiter}'"
    )]
    Delimiter {
        file: String,
        header: String,
        delimiter: char,
    },
    #[error("{file}: no column named {column:?}; the columns are {columns:?}")]
    NoColumn {
        file: String,
        column: String,
        columns: Vec<String>,
    },
    #[error("the target {column:?} cannot also be a feature")]
    TargetIsFeature { column: String },
    #[error("{file}: no feature columns are left")]
    NoFeatures { file: String },
    #[error(
        "{file}: column {position} ({column:?}) is a row index, as pandas writes it with to_csv(): a model that learns row numbers is meaningless in production; drop it with --exclude {column:?}, or write the CSV with index=False"
    )]
    IndexColumn {
        file: String,
        position: usize,
        column: String,
    },
    #[error("{file}: columns {first:?} and {second:?} both read as feature {name:?}")]
    DuplicateColumn {
        file: String,
        first: String,
        second: String,
        name: String,
    },
    #[error("{file}: line {line}, column {column:?}: the cell is empty")]
    EmptyCell {
        file: String,
        line: u64,
        column: String,
    },
    #[error("{file}: line {line}, column {column:?}: {value:?} is not a number")]
    NotANumber {
        file: String,
        line: u64,
        column: String,
        value: String,
    },
    #[error("{file}: line {line}, column {column:?}: {value:?} is not a finite number")]
    NotFinite {
        file: String,
        line: u64,
        column: String,
        value: String,
    },
    #[error(
        "{file}: line {line}, column {column:?}: {value:?} is not one of the class codes 0..{codes} that --class-names names"
    )]
    NotACode {
        file: String,
        line: u64,
        column: String,
        value: String,
        codes: usize,
    },
    #[error("--class-names gives {given} names; --above makes two classes")]
    AboveNames { given: usize },
    #[error(
        "{file}: the target {column:?} holds one class only, {class:?}: a classifier needs two"
    )]
    OneClass {
        file: String,
        column: String,
        class: String,
    },
    #[error("{file}: {rows} training rows for {classes} classes: every class needs a row")]
    TooFewRows {
        file: String,
        rows: usize,
        classes: usize,
    },
    #[error(
        "{file}: line {line}: class {class:?} appears only in held-out rows (every {HOLD_OUT_EVERY}th), so the model could never predict it"
    )]
    HeldOutOnly {
        file: String,
        line: u64,
        class: String,
    },
    #[error("fitting {model} failed: {source}")]
    Fit {
        model: String,
        source: linfa_logistic::error::Error,
    },
    #[error("{model}: the fitted model is unusable: {problem}")]
    Unusable {
        model: String,
        problem: Inconsistency,
    },
}

/// A freshly trained model: the artifact's bytes and the model they load as.
#[derive(Debug, Clone)]
pub struct Trained {
    pub artifact: Vec<u8>,
    pub model: Model,
}

/// Reads the CSV at `data` and trains on it.
pub fn train(data: &Path, options: &Options) -> Result<Trained, TrainError> {
    let (bytes, file) = read(data)?;
    train_bytes(&bytes, &file, options)
}

/// Trains on CSV `bytes`; `file` is the file's base name, as the artifact records it.
pub fn train_bytes(bytes: &[u8], file: &str, options: &Options) -> Result<Trained, TrainError> {
    if let (Some(_), Some(names)) = (options.above, &options.class_names)
        && names.len() != 2
    {
        return Err(TrainError::AboveNames { given: names.len() });
    }
    let table = table::read(
        bytes,
        file,
        options.delimiter,
        &options.target,
        &options.features,
    )?;
    let labels = label(&table, file, options)?;
    let classes: BTreeSet<&str> = labels.iter().map(String::as_str).collect();
    if classes.len() == 1 {
        return Err(TrainError::OneClass {
            file: file.to_owned(),
            column: table.target.clone(),
            class: labels[0].clone(),
        });
    }

    let (mut train_x, mut train_y, mut test_x, mut test_y) = (vec![], vec![], vec![], vec![]);
    for (i, (row, y)) in table.x.iter().zip(&labels).enumerate() {
        if is_held_out(i) {
            test_x.push(row.clone());
            test_y.push(y.clone());
        } else {
            train_x.push(row.clone());
            train_y.push(y.clone());
        }
    }
    if train_y.len() < classes.len() {
        return Err(TrainError::TooFewRows {
            file: file.to_owned(),
            rows: train_y.len(),
            classes: classes.len(),
        });
    }
    if let Some((i, class)) = labels
        .iter()
        .enumerate()
        .find(|(_, class)| !train_y.contains(class))
    {
        return Err(TrainError::HeldOutOnly {
            file: file.to_owned(),
            line: table.y[i].0,
            class: class.clone(),
        });
    }

    let width = table.features.len();
    let ranges = (0..width)
        .map(|j| Range {
            min: train_x.iter().map(|r| r[j]).fold(f64::INFINITY, f64::min),
            max: train_x
                .iter()
                .map(|r| r[j])
                .fold(f64::NEG_INFINITY, f64::max),
        })
        .collect();
    let standardize = options.standardize.then(|| Standardize::fit(&train_x));
    let fit_rows: Vec<f64> = train_x
        .iter()
        .flat_map(|r| match &standardize {
            Some(s) => s.apply(r),
            None => r.clone(),
        })
        .collect();
    let dataset = Dataset::new(
        Array2::from_shape_vec((train_y.len(), width), fit_rows).expect("rows have equal width"),
        Array1::from_vec(train_y),
    );

    let model_name = options.name.clone();
    let fit_error = |source| TrainError::Fit {
        model: model_name.clone(),
        source,
    };
    let unusable = |problem| TrainError::Unusable {
        model: model_name.clone(),
        problem,
    };
    let binary = classes.len() == 2;
    let kind = if binary {
        Kind::Binary
    } else {
        Kind::Multinomial
    };
    let (model, fitted_json) = if binary {
        let fitted = LogisticRegression::default()
            .alpha(options.alpha)
            .max_iterations(options.max_iterations)
            .gradient_tolerance(options.gradient_tolerance)
            .fit(&dataset)
            .map_err(fit_error)?;
        let labels = fitted.labels();
        let classes = vec![labels.neg.class.clone(), labels.pos.class.clone()];
        let model = artifact::binary_model(table.features.clone(), classes, &fitted, 0.5)
            .map_err(unusable)?;
        (model, serde_json::to_value(&fitted))
    } else {
        let fitted = MultiLogisticRegression::default()
            .alpha(options.alpha)
            .max_iterations(options.max_iterations)
            .gradient_tolerance(options.gradient_tolerance)
            .fit(&dataset)
            .map_err(fit_error)?;
        let classes = fitted.classes().to_vec();
        let model = artifact::multinomial_model(table.features.clone(), classes, &fitted, kind)
            .map_err(unusable)?;
        (model, serde_json::to_value(&fitted))
    };
    let preprocessing = standardize.map(Preprocessing::Standardize);
    let model = model.with_preprocessing(preprocessing.clone());

    let document = Document {
        format_version: FORMAT_VERSION,
        name: options.name.clone(),
        version: options.version.clone(),
        kind,
        features: table.features.clone(),
        classes: model.classes().to_vec(),
        preprocessing: Some(preprocessing),
        feature_ranges: Some(ranges),
        labels: Some(Some(LabelOptions {
            target: table.target.clone(),
            above: options.above,
            class_names: options.class_names.clone(),
        })),
        origin: Some(Origin::Trained {
            trainer: TRAINER.to_owned(),
        }),
        model: fitted_json.expect("a fitted model serialises"),
        training: Some(Training {
            data_file: file.to_owned(),
            data_sha256: artifact::sha256_hex(bytes),
            rows: labels.len(),
            train_rows: dataset.nsamples(),
            held_out_rows: test_y.len(),
            split: format!("every {HOLD_OUT_EVERY}th row (1-based) held out"),
            label: describe(&table.target, options),
            hyperparameters: Hyperparameters {
                alpha: options.alpha,
                max_iterations: options.max_iterations,
                gradient_tolerance: options.gradient_tolerance,
                fit_intercept: true,
            },
            held_out_accuracy: accuracy(&model, &test_x, &test_y),
            trainer: TRAINER.to_owned(),
        }),
    };
    let mut artifact = serde_json::to_vec_pretty(&document).expect("a document serialises");
    artifact.push(b'\n');
    Ok(Trained { artifact, model })
}

/// The feature rows `train` holds out for evaluation, in file order, as written (raw).
pub fn held_out_rows(data: &Path, options: &Options) -> Result<Vec<Vec<f64>>, TrainError> {
    let (bytes, file) = read(data)?;
    let table = table::read(
        &bytes,
        &file,
        options.delimiter,
        &options.target,
        &options.features,
    )?;
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

/// The file's bytes and its base name.
fn read(path: &Path) -> Result<(Vec<u8>, String), TrainError> {
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    fs::read(path)
        .map(|bytes| (bytes, file))
        .map_err(|source| TrainError::Read {
            file: path.display().to_string(),
            source,
        })
}

/// Each data line's class label.
fn label(table: &table::Table, file: &str, options: &Options) -> Result<Vec<String>, TrainError> {
    let column = &table.target;
    match (options.above, &options.class_names) {
        (Some(above), names) => {
            // Two names, as train_bytes checked first.
            let names = names
                .clone()
                .unwrap_or_else(|| vec!["false".to_owned(), "true".to_owned()]);
            table
                .y
                .iter()
                .map(|(line, cell)| {
                    let value = table::number(cell, file, *line, column)?;
                    Ok(names[usize::from(value > above)].clone())
                })
                .collect()
        }
        (None, Some(names)) => table
            .y
            .iter()
            .map(|(line, cell)| {
                let value = table::number(cell, file, *line, column)?;
                let code = value as usize;
                if value.fract() == 0.0 && value >= 0.0 && code < names.len() {
                    Ok(names[code].clone())
                } else {
                    Err(TrainError::NotACode {
                        file: file.to_owned(),
                        line: *line,
                        column: column.clone(),
                        value: cell.clone(),
                        codes: names.len() - 1,
                    })
                }
            })
            .collect(),
        (None, None) => Ok(table.y.iter().map(|(_, cell)| cell.clone()).collect()),
    }
}

fn describe(target: &str, options: &Options) -> String {
    match (options.above, &options.class_names) {
        (Some(above), Some(names)) => {
            format!("{} if {target} > {above}, else {}", names[1], names[0])
        }
        (Some(above), None) => format!("true if {target} > {above}, else false"),
        (None, Some(names)) => format!("{target} is an index into {names:?}"),
        (None, None) => format!("the values of {target}, as written"),
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
