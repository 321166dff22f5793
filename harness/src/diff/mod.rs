//! `harness diff`: what a change does to the predictions, before rollout. The same rows go to
//! both sides — each artifact's golden cases, seeded rows drawn from the union of both sides'
//! inputs (training ranges, and categories matched by value), and the user's own — with
//! features and classes matched by name;
//! the report says which labels change, how far each class's probability moves, and how many
//! probabilities are bit-identical.
//!
//! # Layout
//! - [`side`]: an artifact, a running service or an image, and how each answers.
//! - [`report`]: the comparison, its thresholds, and its table, JSON, JUnit and Markdown.
//! - [`picture`]: the comparison as an SVG scatter per class, beside the report.

pub mod picture;
pub mod report;
pub mod side;

use std::path::{Path, PathBuf};

use serde_json::Value;
use server::inputs::{Category, Datum};

use crate::classes::{self, ClassOrder, Columns};
use crate::error::HarnessError;
use crate::protocol::ProtocolOptions;
use crate::rows::{Input, Row, Schema, Values};
use crate::suite::Protocol;

pub use report::{DiffReport, Thresholds};
pub use side::{Answers, RowAnswer, Side, Spec};

/// How to diff.
#[derive(Debug, Clone)]
pub struct Options {
    /// How a running service (or an image) is asked: this project's API or V2.
    pub protocol: Protocol,
    pub foreign: ProtocolOptions,
    /// The user's own rows: CSV with a header naming the features, or JSON.
    pub rows: Option<PathBuf>,
    /// Rows drawn from the union of both sides' inputs.
    pub random_rows: usize,
    pub seed: u64,
    pub thresholds: Thresholds,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            protocol: Protocol::Full,
            foreign: ProtocolOptions::default(),
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
    let a = Side::open(from, options.protocol, &options.foreign)?;
    let b = Side::open(to, options.protocol, &options.foreign)?;
    let features = same_names("features", &a.features, &b.features)?;
    let classes = same_names("classes", &a.classes, &b.classes)?;
    let name = (options.foreign.model_name.clone())
        .or(a.name.clone())
        .or(b.name.clone())
        .ok_or_else(|| {
        usage("neither side names its model: one side must be an artifact or this project's server")
    })?;

    // Every row in `features` order; each side is asked in its own.
    let mut rows: Vec<Row> = vec![];
    for side in [&a, &b] {
        let order = side.features.as_deref().unwrap_or(&features);
        rows.extend(
            side.golden_rows
                .iter()
                .map(|r| reorder(r, order, &features)),
        );
    }
    let schema = union(&[&a, &b], &features);
    if let Some(schema) = &schema {
        rows.extend(schema.within(options.random_rows, options.seed));
    }
    let schema =
        schema.unwrap_or_else(|| Schema::numeric(&features, vec![(0.0, 1.0); features.len()]));
    if let Some(path) = &options.rows {
        rows.extend(read_rows(path, &features)?);
    }
    // The same row twice (the middle of ranges both artifacts share) is compared once.
    let mut seen = std::collections::HashSet::new();
    rows.retain(|row| seen.insert(key(row)));
    if rows.is_empty() {
        return Err(usage(
            "no rows to compare: neither side is an artifact with training ranges; give --rows FILE",
        ));
    }
    let ask = |side: &Side| -> Result<(Vec<RowAnswer>, Option<ClassOrder>), HarnessError> {
        let order = side.features.as_deref().unwrap_or(&features);
        let own: Vec<Row> = rows.iter().map(|r| reorder(r, &features, order)).collect();
        match side.answer(&own, &name, &schema) {
            Answers::Named(named) => Ok((named, None)),
            Answers::Columns(columns) => {
                let answered: Vec<Columns> = columns
                    .iter()
                    .filter_map(|c| c.as_ref().ok().cloned())
                    .collect();
                let order =
                    classes::resolve(&classes, options.foreign.classes.as_deref(), &answered)
                        .map_err(|why| usage(format!("{}: {why}", side.about)))?;
                let width = classes.len();
                let named = columns
                    .into_iter()
                    .map(|answer| {
                        let answer = answer?;
                        match &answer.probabilities {
                            Some(p) if p.len() != width => {
                                Err(format!("{} probabilities for {width} classes", p.len()))
                            }
                            _ => Ok(order.name(&answer)),
                        }
                    })
                    .collect();
                // Labels alone are compared by name: no column order was read.
                let read = answered.iter().any(|a| a.probabilities.is_some());
                Ok((named, read.then_some(order)))
            }
        }
    };
    let ((from_answers, from_order), (to_answers, to_order)) = (ask(&a)?, ask(&b)?);
    // A side that refuses every row (a wrong model name, a server down) has nothing to
    // compare: say why in one line rather than report every row as changed.
    for (side, answers) in [(&a, &from_answers), (&b, &to_answers)] {
        if let Some(Err(why)) = answers.first()
            && answers.iter().all(Result::is_err)
        {
            return Err(usage(format!(
                "{} refused every row, the first with: {why}",
                side.about
            )));
        }
    }
    let mut report = DiffReport::compare(
        &a.about,
        &b.about,
        &classes,
        &rows,
        &from_answers,
        &to_answers,
        options.thresholds,
    );
    report.from_order = from_order;
    report.to_order = to_order;
    Ok(report)
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

/// `row`, whose values follow `from`'s names, in `to`'s order (`null` for a name `from` lacks).
fn reorder(row: &[Datum], from: &[String], to: &[String]) -> Row {
    to.iter()
        .map(|name| {
            from.iter()
                .position(|f| f == name)
                .map_or(Datum::Missing, |i| row[i].clone())
        })
        .collect()
}

/// A row's identity: its values to the bit (JSON text keeps `-0.0` apart from `0.0`).
fn key(row: &[Datum]) -> String {
    serde_json::to_string(row).unwrap_or_default()
}

/// Both sides' inputs as one, in `features` order: per numeric feature the smallest minimum
/// and the largest maximum of the ranges; per categorical one every category either side
/// knows, by value, so that a category only one side knows is asked of both. `null` is drawn
/// where either side takes it. None when no side knows its inputs.
fn union(sides: &[&Side], features: &[String]) -> Option<Schema> {
    let mut merged: Option<Vec<Input>> = None;
    for side in sides {
        let (Some(schema), Some(order)) = (&side.schema, &side.features) else {
            continue;
        };
        let inputs: Vec<Input> = features
            .iter()
            .map(|f| {
                let at = order.iter().position(|o| o == f)?;
                schema.inputs.get(at).cloned()
            })
            .collect::<Option<_>>()?;
        merged = Some(match merged {
            None => inputs,
            Some(before) => before.into_iter().zip(inputs).map(merge).collect(),
        });
    }
    merged.map(Schema::new)
}

/// One feature as both sides take it.
fn merge((a, b): (Input, Input)) -> Input {
    let values = match (a.values, b.values) {
        (Values::Numeric { range: (a0, a1) }, Values::Numeric { range: (b0, b1) }) => {
            Values::Numeric {
                range: (a0.min(b0), a1.max(b1)),
            }
        }
        (
            Values::Categorical {
                categories: mut all,
                unseen,
            },
            Values::Categorical {
                categories,
                unseen: other,
            },
        ) => {
            for category in categories {
                if !all.contains(&category) {
                    all.push(category);
                }
            }
            let unseen = unseen.or(other).filter(|u| !all.contains(u));
            Values::Categorical {
                categories: all,
                unseen,
            }
        }
        // A feature numeric on one side and categorical on the other: the first side's
        // values, which the other side refuses, and the report says so.
        (first, _) => first,
    };
    Input {
        name: a.name,
        values,
        nullable: a.nullable || b.nullable,
    }
}

/// The user's rows: a CSV whose header names the features (in any order, others ignored), or
/// JSON: `[[…]]` in feature order, `[{"feature": value}]`, or `{"instances": …}` of either. In
/// a CSV a cell is a number if it reads as one, missing if empty or a pandas NA string, and a
/// category otherwise.
pub fn read_rows(path: &Path, features: &[String]) -> Result<Vec<Row>, HarnessError> {
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
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    let at: Vec<usize> = features
        .iter()
        .map(|f| {
            header
                .iter()
                .position(|h| h == f)
                .ok_or_else(|| bad(format!("the header has no column {f:?}")))
        })
        .collect::<Result<_, _>>()?;
    reader
        .records()
        .map(|record| {
            let record = record.map_err(|e| bad(e.to_string()))?;
            Ok(at
                .iter()
                .map(|&j| csv_cell(record.get(j).unwrap_or_default()))
                .collect())
        })
        .collect()
}

/// A CSV cell as a value: as `train` reads one.
fn csv_cell(cell: &str) -> Datum {
    if server::train::is_missing(cell) {
        return Datum::Missing;
    }
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => Datum::Number(v),
        _ => Datum::Category(Category::Text(cell.to_owned())),
    }
}

fn json_row(row: &Value, features: &[String]) -> Result<Row, String> {
    let datum = |v: &Value| {
        serde_json::from_value::<Datum>(v.clone())
            .map_err(|_| format!("{v} is not a number, a category or null"))
    };
    match row {
        Value::Array(values) if values.len() == features.len() => {
            values.iter().map(datum).collect()
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
                    .and_then(datum)
            })
            .collect(),
        other => Err(format!("{other} is not a row")),
    }
}
