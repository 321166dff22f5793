//! Deterministic training from any headed CSV, as people have them.
//!
//! Every column but the target (and any excluded) is a feature: numeric when it holds numbers,
//! categorical when it holds anything else (or when named with `--categorical`), any cell
//! possibly missing (empty, or one of pandas' NA strings). A table of numbers with no gaps is
//! fitted as it is, or standardized, and written as format 2. Any other table is written as
//! format 3: categorical features one-hot encoded (categories sorted as scikit-learn's
//! `OneHotEncoder` sorts them, a missing value seen in training as its own category, last),
//! then the numeric ones, imputed with `--impute` and standardized with `--standardize`, as
//! `Pipeline(SimpleImputer, StandardScaler)` would. Every statistic comes from the training
//! rows, and the rows are fitted through the same column blocks the server encodes with. Labels are the target's values
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

pub use table::is_missing;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use linfa::Dataset;
use linfa::prelude::*;
use linfa_logistic::{LogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2};
use thiserror::Error;

use crate::artifact::{
    self, COLUMNS_FORMAT_VERSION, Document, FORMAT_VERSION, Hyperparameters, Inconsistency,
    LabelOptions, Origin, Preprocessing, Range, Training,
};
use crate::inputs::columns::{Impute, Literal, Scratch};
use crate::inputs::{
    self, Block, Category, Cell, Columns, Datum, Input, OneHot, Step, Table, Unknown,
};
use crate::model::{Kind, Model};
use crate::preprocessing::{Scale, Standardize};
use table::Column;

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
    /// Columns of integer codes to treat as categories.
    pub categorical: Vec<String>,
    /// What a category unseen in training does when served.
    pub unknown: Unknown,
    /// Fill missing numeric values with this statistic of the training rows.
    pub impute: Option<Statistic>,
}

/// A statistic of a numeric column's training values, as scikit-learn's `SimpleImputer` names
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Statistic {
    Mean,
    Median,
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
            categorical: vec![],
            unknown: Unknown::Error,
            impute: None,
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
    #[error("--categorical {column:?}: the column is not a feature")]
    NotAFeature { column: String },
    #[error(
        "{file}: line {line}, column {column:?}: {value:?} is not an integer, so the column cannot be --categorical"
    )]
    NotAnInteger {
        file: String,
        line: u64,
        column: String,
        value: String,
    },
    #[error(
        "{file}: line {line}, column {column:?}: a numeric value is missing; pass --impute mean or --impute median to fill such gaps, or drop the column with --exclude {column:?}"
    )]
    MissingNumber {
        file: String,
        line: u64,
        column: String,
    },
    #[error("{file}: the table has categories or gaps; its held-out rows are not all numbers")]
    NotNumbers { file: String },
    #[error("{file}: column {column:?} has no value in the training rows, so nothing can fill it")]
    NoValues { file: String, column: String },
    #[error("{file}: line {line}, column {column:?}: the cell is missing")]
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
    let table = read_table(bytes, file, options)?;
    let labels = label(&table, file, options)?;
    let classes: BTreeSet<&str> = labels.iter().map(String::as_str).collect();
    if classes.len() == 1 {
        return Err(TrainError::OneClass {
            file: file.to_owned(),
            column: table.target.clone(),
            class: labels[0].clone(),
        });
    }
    let (mut train_y, mut test_y) = (vec![], vec![]);
    for (i, y) in labels.iter().enumerate() {
        if is_held_out(i) {
            test_y.push(y.clone());
        } else {
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

    let design = match table.numbers().filter(|_| options.impute.is_none()) {
        Some(rows) => Design::numbers(table.features.clone(), rows, options),
        None => Design::columns(&table, file, options)?,
    };
    let width = design.features.len();
    let dataset = Dataset::new(
        Array2::from_shape_vec((train_y.len(), width), design.fit_rows.clone())
            .expect("rows have equal width"),
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
        let model = artifact::binary_model(design.features.clone(), classes, &fitted, 0.5)
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
        let model = artifact::multinomial_model(design.features.clone(), classes, &fitted, kind)
            .map_err(unusable)?;
        (model, serde_json::to_value(&fitted))
    };
    let model = match design.columns {
        Some(columns) => model.with_columns(columns),
        None => model.with_preprocessing(design.preprocessing.clone()),
    };

    let document = Document {
        format_version: design.format_version,
        name: options.name.clone(),
        version: options.version.clone(),
        kind,
        features: design.features,
        classes: model.classes().to_vec(),
        preprocessing: Some(design.preprocessing),
        feature_ranges: Some(design.ranges),
        labels: Some(Some(LabelOptions {
            target: table.target.clone(),
            above: options.above,
            class_names: options.class_names.clone(),
        })),
        origin: Some(Origin::Trained {
            trainer: TRAINER.to_owned(),
        }),
        inputs: design.inputs,
        columns: design.blocks,
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
            held_out_accuracy: accuracy(&model, &design.held_out, &test_y),
            trainer: TRAINER.to_owned(),
        }),
    };
    let mut artifact = serde_json::to_vec_pretty(&document).expect("a document serialises");
    artifact.push(b'\n');
    Ok(Trained { artifact, model })
}

/// What the fit sees and the artifact describes, for one of the two formats.
struct Design {
    format_version: u64,
    /// The weight columns' names.
    features: Vec<String>,
    preprocessing: Option<Preprocessing>,
    inputs: Option<Vec<Input>>,
    blocks: Option<Vec<Block>>,
    columns: Option<Columns>,
    /// Per input, the training values' range; `None` for a categorical one.
    ranges: Vec<Option<Range>>,
    /// The training rows as the fit sees them, row-major.
    fit_rows: Vec<f64>,
    /// The held-out rows as a client would send them; `None` for a row the model refuses (a
    /// category training never saw).
    held_out: Vec<Option<Vec<Cell>>>,
}

impl Design {
    /// A table of numbers with no gaps: format 2, fitted on the values or their standardization.
    fn numbers(features: Vec<String>, rows: Vec<Vec<f64>>, options: &Options) -> Design {
        let (train, test): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .enumerate()
            .partition(|(i, _)| !is_held_out(*i));
        let train: Vec<Vec<f64>> = train.into_iter().map(|(_, r)| r).collect();
        let width = train.first().map_or(0, Vec::len);
        let ranges = (0..width)
            .map(|j| Some(range(train.iter().map(|r| r[j])).expect("a training row")))
            .collect();
        let standardize = options.standardize.then(|| Standardize::fit(&train));
        let fit_rows = train
            .iter()
            .flat_map(|r| match &standardize {
                Some(s) => s.apply(r),
                None => r.clone(),
            })
            .collect();
        Design {
            format_version: FORMAT_VERSION,
            features,
            preprocessing: standardize.map(Preprocessing::Standardize),
            inputs: None,
            blocks: None,
            columns: None,
            ranges,
            fit_rows,
            held_out: test
                .into_iter()
                .map(|(_, r)| Some(r.into_iter().map(Cell::Number).collect()))
                .collect(),
        }
    }

    /// Any other table: format 3, its categorical features one-hot encoded, then its numeric
    /// ones imputed and standardized as the options say.
    fn columns(table: &table::Table, file: &str, options: &Options) -> Result<Design, TrainError> {
        let training = |values: &[Option<f64>]| -> Vec<f64> {
            values
                .iter()
                .enumerate()
                .filter(|(i, _)| !is_held_out(*i))
                .filter_map(|(_, v)| *v)
                .collect()
        };
        let mut inputs = vec![];
        let mut one_hot = (vec![], vec![]);
        let mut numeric = (vec![], vec![]);
        let mut ranges = vec![];
        for ((name, header), column) in table
            .features
            .iter()
            .zip(&table.headers)
            .zip(&table.columns)
        {
            match column {
                Column::Categorical(values) => {
                    inputs.push(Input {
                        name: name.clone(),
                        kind: inputs::Kind::Categorical,
                    });
                    let seen: BTreeSet<&Category> = values
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !is_held_out(*i))
                        .filter_map(|(_, v)| v.as_ref())
                        .collect();
                    let mut categories: Vec<Option<Category>> =
                        seen.into_iter().cloned().map(Some).collect();
                    if values
                        .iter()
                        .enumerate()
                        .any(|(i, v)| !is_held_out(i) && v.is_none())
                    {
                        categories.push(None);
                    }
                    one_hot.0.push(name.clone());
                    one_hot.1.push(categories);
                    ranges.push(None);
                }
                Column::Numeric(values) => {
                    inputs.push(Input {
                        name: name.clone(),
                        kind: inputs::Kind::Numeric,
                    });
                    if options.impute.is_none()
                        && let Some(k) = values.iter().position(Option::is_none)
                    {
                        return Err(TrainError::MissingNumber {
                            file: file.to_owned(),
                            line: table.y[k].0,
                            column: header.clone(),
                        });
                    }
                    let seen = training(values);
                    let no_values = || TrainError::NoValues {
                        file: file.to_owned(),
                        column: header.clone(),
                    };
                    ranges.push(Some(range(seen.iter().copied()).ok_or_else(no_values)?));
                    numeric.0.push(name.clone());
                    numeric.1.push(values);
                }
            }
        }

        let mut blocks = vec![];
        let mut features = vec![];
        if !one_hot.0.is_empty() {
            for (name, categories) in one_hot.0.iter().zip(&one_hot.1) {
                features.extend(categories.iter().map(|c| match c {
                    Some(Category::Text(s)) => format!("{name}_{s}"),
                    Some(c) => format!("{name}_{c}"),
                    None => format!("{name}_nan"),
                }));
            }
            blocks.push(Block {
                features: one_hot.0.clone(),
                steps: vec![Step::OneHot(OneHot {
                    drop: vec![None; one_hot.1.len()],
                    categories: one_hot.1,
                    unknown: options.unknown,
                })],
            });
        }
        if !numeric.0.is_empty() {
            let mut steps = vec![];
            let fill: Option<Vec<f64>> = options.impute.map(|statistic| {
                numeric
                    .1
                    .iter()
                    .map(|values| statistic.of(&training(values)))
                    .collect()
            });
            if let Some(fill) = &fill {
                steps.push(Step::Impute(Impute {
                    fill: fill.iter().map(|v| Some(Literal::Number(*v))).collect(),
                    indicators: vec![],
                }));
            }
            if options.standardize {
                let rows: Vec<Vec<f64>> = (0..table.y.len())
                    .filter(|i| !is_held_out(*i))
                    .map(|i| {
                        numeric
                            .1
                            .iter()
                            .enumerate()
                            .map(|(j, values)| {
                                values[i].unwrap_or_else(|| fill.as_ref().map_or(0.0, |f| f[j]))
                            })
                            .collect()
                    })
                    .collect();
                let Standardize { mean, scale } = Standardize::fit(&rows);
                steps.push(Step::Scale(Scale {
                    scaler: "StandardScaler".into(),
                    subtract: Some(mean),
                    divide: Some(scale),
                    multiply: None,
                    add: None,
                    clip: None,
                }));
            }
            features.extend(numeric.0.iter().cloned());
            blocks.push(Block {
                features: numeric.0,
                steps,
            });
        }
        let columns = Columns::new(&inputs, &blocks, features.len()).map_err(|problem| {
            TrainError::Unusable {
                model: options.name.clone(),
                problem: problem.into(),
            }
        })?;

        let mut fit_rows = Vec::with_capacity(table.y.len() * columns.width());
        let mut held_out = vec![];
        let mut scratch = Scratch::default();
        for i in 0..table.y.len() {
            let cells: Option<Vec<Cell>> = table
                .columns
                .iter()
                .zip(columns.features())
                .map(|(column, feature)| match column {
                    Column::Numeric(values) => Some(values[i].map_or(Cell::Missing, Cell::Number)),
                    Column::Categorical(values) => match &values[i] {
                        None => Some(Cell::Missing),
                        Some(c) => match feature.index(c) {
                            Some(k) => Some(Cell::Category(k)),
                            None => feature.accepts_unknown.then_some(Cell::Unknown),
                        },
                    },
                })
                .collect();
            if is_held_out(i) {
                held_out.push(cells);
                continue;
            }
            let cells = cells.expect("training categories are known");
            columns
                .encode(&cells, &mut fit_rows, &mut scratch)
                .map_err(|e| TrainError::Unusable {
                    model: options.name.clone(),
                    problem: Inconsistency::Encode(e.to_string()),
                })?;
        }
        Ok(Design {
            format_version: COLUMNS_FORMAT_VERSION,
            features,
            preprocessing: None,
            inputs: Some(inputs),
            blocks: Some(blocks),
            columns: Some(columns),
            ranges,
            fit_rows,
            held_out,
        })
    }
}

impl Statistic {
    /// This statistic of `values` (not empty), as numpy computes it.
    fn of(self, values: &[f64]) -> f64 {
        match self {
            Statistic::Mean => values.iter().sum::<f64>() / values.len() as f64,
            Statistic::Median => {
                let mut sorted = values.to_vec();
                sorted.sort_by(f64::total_cmp);
                let mid = sorted.len() / 2;
                if sorted.len() % 2 == 1 {
                    sorted[mid]
                } else {
                    (sorted[mid - 1] + sorted[mid]) / 2.0
                }
            }
        }
    }
}

/// The smallest and largest of `values`; `None` when there are none.
fn range(values: impl Iterator<Item = f64>) -> Option<Range> {
    values.fold(None, |range, v| {
        Some(match range {
            None => Range { min: v, max: v },
            Some(Range { min, max }) => Range {
                min: min.min(v),
                max: max.max(v),
            },
        })
    })
}

/// The table as the options select and type it.
fn read_table(bytes: &[u8], file: &str, options: &Options) -> Result<table::Table, TrainError> {
    table::read(
        bytes,
        file,
        options.delimiter,
        &options.target,
        &options.features,
        &options.categorical,
    )
}

/// The feature rows `train` holds out for evaluation, in file order, as written (raw), for a
/// table of numbers with no gaps.
pub fn held_out_rows(data: &Path, options: &Options) -> Result<Vec<Vec<f64>>, TrainError> {
    let (bytes, file) = read(data)?;
    let table = read_table(&bytes, &file, options)?;
    let rows = table.numbers().ok_or(TrainError::NotNumbers { file })?;
    Ok(rows
        .into_iter()
        .enumerate()
        .filter(|(i, _)| is_held_out(*i))
        .map(|(_, row)| row)
        .collect())
}

/// The feature rows `train` holds out for evaluation, in file order, as a client would send
/// them: numbers, categories, and `null` for a missing cell.
pub fn held_out_instances(data: &Path, options: &Options) -> Result<Vec<Vec<Datum>>, TrainError> {
    let (bytes, file) = read(data)?;
    let table = read_table(&bytes, &file, options)?;
    Ok((0..table.y.len())
        .filter(|i| is_held_out(*i))
        .map(|i| {
            table
                .columns
                .iter()
                .map(|column| match column {
                    table::Column::Numeric(values) => {
                        values[i].map_or(Datum::Missing, Datum::Number)
                    }
                    table::Column::Categorical(values) => {
                        values[i].clone().map_or(Datum::Missing, Datum::Category)
                    }
                })
                .collect()
        })
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

/// Share of held-out rows that the served model labels as `labels` says; a row it refuses
/// counts as wrong.
fn accuracy(model: &Model, rows: &[Option<Vec<Cell>>], labels: &[String]) -> f64 {
    let correct = rows
        .iter()
        .zip(labels)
        .filter(|(row, label)| {
            let Some(row) = row else { return false };
            let table = Table::new(row.clone(), row.len());
            model
                .predict_table(&table)
                .is_ok_and(|p| model.classes()[p[0].class] == **label)
        })
        .count();
    correct as f64 / labels.len() as f64
}
