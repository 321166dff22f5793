//! `harness diff`: what a change does to the predictions, before rollout. The same rows go to
//! both sides — each artifact's golden cases, seeded rows drawn within the union of both
//! artifacts' training ranges, and the user's own — with features and classes matched by name;
//! the report says which labels change, how far each class's probability moves, and how many
//! probabilities are bit-identical.
//!
//! # Layout
//! - [`side`]: an artifact, a running service or an image, and how each answers.
//! - [`report`]: the comparison, its thresholds, and its table, JSON, JUnit and Markdown.

pub mod report;
pub mod side;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::checks::v2::V2Options;
use crate::error::HarnessError;
use crate::suite::Protocol;

pub use report::{DiffReport, Thresholds};
pub use side::{Side, Spec};

/// How to diff.
#[derive(Debug, Clone)]
pub struct Options {
    /// How a running service (or an image) is asked: this project's API or V2.
    pub protocol: Protocol,
    pub v2: V2Options,
    /// The user's own rows: CSV with a header naming the features, or JSON.
    pub rows: Option<PathBuf>,
    /// Rows drawn within the union of both artifacts' ranges.
    pub random_rows: usize,
    pub seed: u64,
    pub thresholds: Thresholds,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            protocol: Protocol::Full,
            v2: V2Options::default(),
            rows: None,
            random_rows: 500,
            seed: 1,
            thresholds: Thresholds::default(),
        }
    }
}

fn usage(problem: impl Into<String>) -> HarnessError {
    HarnessError::Usage {
        problem: problem.into(),
    }
}

/// Opens both sides, sends them the same rows and compares the answers.
pub fn run(from: &Spec, to: &Spec, options: &Options) -> Result<DiffReport, HarnessError> {
    let a = Side::open(from, options.protocol, &options.v2)?;
    let b = Side::open(to, options.protocol, &options.v2)?;
    let features = same_names("features", &a.features, &b.features)?;
    let classes = same_names("classes", &a.classes, &b.classes)?;
    let name = a.name.clone().or(b.name.clone()).ok_or_else(|| {
        usage("neither side names its model: one side must be an artifact or this project's server")
    })?;

    // Every row in `features` order; each side is asked in its own.
    let mut rows: Vec<Vec<f64>> = vec![];
    for side in [&a, &b] {
        let order = side.features.as_deref().unwrap_or(&features);
        rows.extend(
            side.golden_rows
                .iter()
                .map(|r| reorder(r, order, &features)),
        );
    }
    let ranges = union_ranges(&[&a, &b], &features);
    if let Some(ranges) = &ranges {
        rows.extend(crate::golden::rows_within(
            ranges,
            options.random_rows,
            options.seed,
        ));
    }
    if let Some(path) = &options.rows {
        rows.extend(read_rows(path, &features)?);
    }
    // The same row twice (the middle of ranges both artifacts share) is compared once.
    let mut seen = std::collections::HashSet::new();
    rows.retain(|row| seen.insert(row.iter().map(|v| v.to_bits()).collect::<Vec<_>>()));
    if rows.is_empty() {
        return Err(usage(
            "no rows to compare: neither side is an artifact with training ranges; give --rows FILE",
        ));
    }
    let ask = |side: &Side| {
        let order = side.features.as_deref().unwrap_or(&features);
        let own: Vec<Vec<f64>> = rows.iter().map(|r| reorder(r, &features, order)).collect();
        side.answer(&own, &name, side.classes.as_deref().unwrap_or(&classes))
    };
    let (from_answers, to_answers) = (ask(&a), ask(&b));
    Ok(DiffReport::compare(
        &a.about,
        &b.about,
        &classes,
        &rows,
        &from_answers,
        &to_answers,
        options.thresholds,
    ))
}

/// The names both sides agree on (as a set; the first side's order), or the one side's when
/// the other does not say.
fn same_names(
    what: &str,
    a: &Option<Vec<String>>,
    b: &Option<Vec<String>>,
) -> Result<Vec<String>, HarnessError> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let only = |x: &[String], y: &[String]| -> Vec<String> {
                x.iter().filter(|n| !y.contains(n)).cloned().collect()
            };
            let (only_a, only_b) = (only(a, b), only(b, a));
            if only_a.is_empty() && only_b.is_empty() && a.len() == b.len() {
                Ok(a.clone())
            } else {
                Err(usage(format!(
                    "the sides have different {what}: only in --from {only_a:?}, only in --to {only_b:?}"
                )))
            }
        }
        (Some(known), None) | (None, Some(known)) => Ok(known.clone()),
        (None, None) => Err(usage(format!(
            "neither side names its {what}: one side must be an artifact or this project's server"
        ))),
    }
}

/// `row`, whose values follow `from`'s names, in `to`'s order.
fn reorder(row: &[f64], from: &[String], to: &[String]) -> Vec<f64> {
    to.iter()
        .map(|name| {
            from.iter()
                .position(|f| f == name)
                .map_or(f64::NAN, |i| row[i])
        })
        .collect()
}

/// Per feature (in `features` order), the smallest minimum and largest maximum of the sides'
/// training ranges; none when no side has ranges.
fn union_ranges(sides: &[&Side], features: &[String]) -> Option<Vec<(f64, f64)>> {
    let mut union: Option<Vec<(f64, f64)>> = None;
    for side in sides {
        let (Some(ranges), Some(order)) = (&side.ranges, &side.features) else {
            continue;
        };
        let mins: Vec<f64> = ranges.iter().map(|r| r.0).collect();
        let maxs: Vec<f64> = ranges.iter().map(|r| r.1).collect();
        let (mins, maxs) = (
            reorder(&mins, order, features),
            reorder(&maxs, order, features),
        );
        union = Some(match union {
            None => mins.into_iter().zip(maxs).collect(),
            Some(u) => u
                .iter()
                .zip(mins.into_iter().zip(maxs))
                .map(|(&(a, b), (c, d))| (a.min(c), b.max(d)))
                .collect(),
        });
    }
    union
}

/// The user's rows: a CSV whose header names the features (in any order, others ignored), or
/// JSON: `[[…]]` in feature order, `[{"feature": value}]`, or `{"instances": …}` of either.
pub fn read_rows(path: &Path, features: &[String]) -> Result<Vec<Vec<f64>>, HarnessError> {
    let text = std::fs::read_to_string(path).map_err(|source| HarnessError::Io {
        path: path.to_owned(),
        source,
    })?;
    let bad = |why: String| usage(format!("{}: {why}", path.display()));
    if let Ok(json) = serde_json::from_str::<Value>(&text) {
        let list = json.get("instances").unwrap_or(&json);
        let list = list
            .as_array()
            .ok_or_else(|| bad("not a list of rows".into()))?;
        return list
            .iter()
            .enumerate()
            .map(|(i, row)| json_row(row, features).map_err(|why| bad(format!("row {i}: {why}"))))
            .collect();
    }
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .ok_or_else(|| bad("empty".into()))?
        .split(',')
        .map(|h| h.trim().to_owned())
        .collect();
    let at: Vec<usize> = features
        .iter()
        .map(|f| {
            header
                .iter()
                .position(|h| h == f)
                .ok_or_else(|| bad(format!("the header has no column {f:?}")))
        })
        .collect::<Result<_, _>>()?;
    lines
        .enumerate()
        .map(|(i, line)| {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            at.iter()
                .map(|&j| {
                    cells
                        .get(j)
                        .and_then(|c| c.parse::<f64>().ok())
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| bad(format!("line {}: column {j} is not a number", i + 2)))
                })
                .collect()
        })
        .collect()
}

fn json_row(row: &Value, features: &[String]) -> Result<Vec<f64>, String> {
    let number = |v: &Value| v.as_f64().ok_or_else(|| format!("{v} is not a number"));
    match row {
        Value::Array(values) if values.len() == features.len() => {
            values.iter().map(number).collect()
        }
        Value::Array(values) => Err(format!(
            "{} values for {} features",
            values.len(),
            features.len()
        )),
        Value::Object(map) => features
            .iter()
            .map(|f| {
                map.get(f)
                    .ok_or_else(|| format!("no {f:?}"))
                    .and_then(number)
            })
            .collect(),
        other => Err(format!("{other} is not a row")),
    }
}
