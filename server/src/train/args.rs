//! The `train` command's options, parsed once into [`Options`], and the reference models'
//! committed invocations (`fixtures/references.json`), which are parsed the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;

use crate::inputs::Unknown;
use crate::train::{Features, Options, Statistic};

/// `--unknown`: what a category unseen in training does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UnknownArg {
    Error,
    Ignore,
}

/// `train`: fits a logistic regression to a CSV and writes its artifact.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "train",
    about = "Fit a logistic regression to a CSV and write its artifact",
    long_about = "Fit a logistic regression to a headed CSV and write its artifact.\n\n\
Every column but the target (and any --exclude'd) is a feature: numeric when it holds \
numbers, categorical (one-hot encoded) when it holds anything else or is named by \
--categorical. A cell is missing when it is empty or one of pandas' NA strings (NA, NaN, null, \
None, …): a categorical feature keeps it as its own category, a numeric one needs --impute. A \
table of numbers without gaps is written as artifact format 2, any other as format 3. Labels are the target's values \
as written, or made with --above or --class-names. Two classes give a binary model, more a \
multinomial one.",
    after_help = "Examples:\n  train --data flowers.csv --target species --name flowers --out flowers.json\n  \
train --data winequality-red.csv --target quality --above 6 --class-names bad,good --name wine-quality\n  \
train --references fixtures/references.json     (retrain the reference models)"
)]
pub struct Args {
    /// The CSV file, with a header line.
    #[arg(long, value_name = "FILE", required_unless_present = "references")]
    pub data: Option<PathBuf>,
    /// The column holding the target (as written in the header, or normalised).
    #[arg(long, value_name = "COLUMN", required_unless_present = "references")]
    pub target: Option<String>,
    /// The model's name, as routes and reports use it.
    #[arg(long, required_unless_present = "references")]
    pub name: Option<String>,
    /// The model's own version.
    #[arg(long, default_value_t = Options::new("", "").version)]
    pub version: String,
    /// Only these columns are features, in this order.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "A,B,…",
        conflicts_with = "exclude"
    )]
    pub features: Option<Vec<String>>,
    /// These columns are not features.
    #[arg(long, value_delimiter = ',', value_name = "A,B,…")]
    pub exclude: Option<Vec<String>>,
    /// A binary target: the second class name when the target is greater than X, else the
    /// first (default names: false, true).
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub above: Option<f64>,
    /// Class names: the two of --above, or the names of the integer codes 0..n-1 the target
    /// holds, in order.
    #[arg(long, value_delimiter = ',', value_name = "A,B,…")]
    pub class_names: Option<Vec<String>>,
    /// L2 regularisation weight.
    #[arg(long, default_value_t = Options::new("", "").alpha)]
    pub alpha: f64,
    /// L-BFGS iterations at most.
    #[arg(long, default_value_t = Options::new("", "").max_iterations)]
    pub max_iterations: u64,
    /// Standardize each feature with the training rows' mean and standard deviation, stored in
    /// the artifact and applied when serving: clients still send raw values.
    #[arg(long)]
    pub standardize: bool,
    /// Treat these columns of integer codes as categories (a column holding any non-number is
    /// categorical already).
    #[arg(long, value_delimiter = ',', value_name = "A,B,…")]
    pub categorical: Option<Vec<String>>,
    /// What a category unseen in training does when served: refused (error), or every column
    /// of its feature 0 (ignore, counted per feature in /metrics).
    #[arg(long, value_enum, default_value = "error", value_name = "RULE")]
    pub unknown: UnknownArg,
    /// Fill a missing numeric value with the training rows' mean or median of its column
    /// (without it, a gap in a numeric column stops training); clients may then send null.
    #[arg(long, value_enum, value_name = "STATISTIC")]
    pub impute: Option<Statistic>,
    /// The field delimiter, one ASCII character.
    #[arg(long, default_value_t = ',', value_name = "C")]
    pub delimiter: char,
    /// Where to write the artifact [default: NAME.json].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Retrain every reference model as this file lists them, instead.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["data", "target", "name"])]
    pub references: Option<PathBuf>,
}

/// One training run: the data, the options and where the artifact goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub data: PathBuf,
    pub options: Options,
    pub out: PathBuf,
}

/// Why the arguments cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error("--delimiter {0:?} is not one ASCII character")]
    Delimiter(char),
    #[error("{0}: {1}")]
    References(String, String),
    #[error("{file}: reference {name:?}: {source}")]
    Reference {
        file: String,
        name: String,
        source: Box<clap::Error>,
    },
}

impl Args {
    /// The runs these arguments ask for: one, or every reference model; paths in a references
    /// file are relative to the directory the file is in's parent (the repository root).
    pub fn runs(&self) -> Result<Vec<Run>, ArgsError> {
        match &self.references {
            Some(file) => references(file),
            None => Ok(vec![self.run()?]),
        }
    }

    fn run(&self) -> Result<Run, ArgsError> {
        let delimiter = u8::try_from(self.delimiter)
            .ok()
            .filter(u8::is_ascii)
            .ok_or(ArgsError::Delimiter(self.delimiter))?;
        let name = self.name.clone().unwrap_or_default();
        let features = match (&self.features, &self.exclude) {
            (Some(only), _) => Features::Only(only.clone()),
            (None, Some(excluded)) => Features::Exclude(excluded.clone()),
            (None, None) => Features::All,
        };
        let options = Options {
            version: self.version.clone(),
            features,
            above: self.above,
            class_names: self.class_names.clone(),
            alpha: self.alpha,
            max_iterations: self.max_iterations,
            standardize: self.standardize,
            delimiter,
            categorical: self.categorical.clone().unwrap_or_default(),
            unknown: match self.unknown {
                UnknownArg::Error => Unknown::Error,
                UnknownArg::Ignore => Unknown::Ignore,
            },
            impute: self.impute,
            ..Options::new(name.clone(), self.target.clone().unwrap_or_default())
        };
        Ok(Run {
            data: self.data.clone().unwrap_or_default(),
            out: self
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("{name}.json"))),
            options,
        })
    }
}

/// The reference models: `{"name": ["--data", …]}`, each entry a `train` command line.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
struct References(BTreeMap<String, Vec<String>>);

/// Reads a references file into runs, with paths resolved against the repository root.
pub fn references(file: &Path) -> Result<Vec<Run>, ArgsError> {
    let shown = file.display().to_string();
    let fail = |e: &dyn ToString| ArgsError::References(shown.clone(), e.to_string());
    let bytes = std::fs::read(file).map_err(|e| fail(&e))?;
    let References(entries) = serde_json::from_slice(&bytes).map_err(|e| fail(&e))?;
    let root = file
        .parent()
        .and_then(Path::parent)
        .map_or_else(PathBuf::new, Path::to_path_buf);
    entries
        .into_iter()
        .map(|(name, args)| {
            let parsed = Args::try_parse_from(std::iter::once("train".to_owned()).chain(args))
                .map_err(|source| ArgsError::Reference {
                    file: shown.clone(),
                    name: name.clone(),
                    source: Box::new(source),
                })?;
            let mut run = parsed.run()?;
            run.data = root.join(&run.data);
            run.out = root.join(&run.out);
            Ok(run)
        })
        .collect()
}
