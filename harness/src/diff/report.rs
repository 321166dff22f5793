//! A diff's findings: label changes, how far each class's probability moved, how many values
//! are bit-identical; the thresholds that decide the exit code; and the report in every form
//! `check` writes.

use std::path::Path;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use super::picture::{self, Point};
use super::side::RowAnswer;
use crate::classes::ClassOrder;
use crate::rows::Row;
use crate::stats::quantile;

/// How much change is accepted: by default none, so the two must answer identically.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Thresholds {
    pub max_label_changes: usize,
    pub max_delta: f64,
}

/// A row whose label changed, with both answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub row: usize,
    pub values: Row,
    pub from: String,
    pub to: String,
}

/// The largest |Δp| of one class, and where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassDelta {
    pub class: String,
    pub delta: f64,
    pub row: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    pub date: String,
    pub from: String,
    pub to: String,
    pub rows: usize,
    pub label_changes: usize,
    /// The first rows whose label changed (or that one side refused), up to ten.
    pub first_changes: Vec<Change>,
    pub largest_per_class: Vec<ClassDelta>,
    /// Quantiles of |Δp| over every probability of every row both sides answered.
    pub delta_p50: f64,
    pub delta_p90: f64,
    pub delta_p99: f64,
    pub delta_max: f64,
    pub identical: usize,
    pub values: usize,
    pub thresholds: Thresholds,
    /// The class order of each side that is a V2 or V1 server, and how it was found.
    pub from_order: Option<ClassOrder>,
    pub to_order: Option<ClassOrder>,
    /// Every compared probability, for the picture; not in the JSON.
    #[serde(skip)]
    pub points: Vec<Point>,
}

const FIRST_CHANGES: usize = 10;

fn shown(answer: &RowAnswer) -> String {
    match answer {
        Ok((label, p)) => format!(
            "{label} ({})",
            p.iter()
                .map(|(c, v)| format!("{c} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(why) => format!("refused: {why}"),
    }
}

impl DiffReport {
    /// Compares the answers of two sides to the same `rows`. A row one side refuses and the
    /// other answers counts as a label change; a row both refuse, as the same answer.
    pub fn compare(
        from: &str,
        to: &str,
        classes: &[String],
        rows: &[Row],
        a: &[RowAnswer],
        b: &[RowAnswer],
        thresholds: Thresholds,
    ) -> DiffReport {
        let mut first_changes = vec![];
        let mut label_changes = 0;
        let mut deltas = vec![];
        let mut largest: Vec<ClassDelta> = classes
            .iter()
            .map(|c| ClassDelta {
                class: c.clone(),
                delta: 0.0,
                row: None,
            })
            .collect();
        let mut identical = 0;
        let mut points = vec![];
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            let changed = match (x, y) {
                // A side that answers labels only (KServe V1 without PREDICT_PROBA) has no
                // probabilities to compare.
                (Ok((lx, px)), Ok((ly, py))) if px.is_empty() || py.is_empty() => lx != ly,
                (Ok((lx, px)), Ok((ly, py))) => {
                    for (k, class) in classes.iter().enumerate() {
                        let (p, q) = (px.get(class), py.get(class));
                        let delta = match (p, q) {
                            (Some(p), Some(q)) => {
                                identical += usize::from(p.to_bits() == q.to_bits());
                                points.push(Point {
                                    class: k,
                                    from: *p,
                                    to: *q,
                                    changed: lx != ly,
                                });
                                (p - q).abs()
                            }
                            _ => f64::INFINITY,
                        };
                        deltas.push(delta);
                        if delta > largest[k].delta || largest[k].row.is_none() {
                            largest[k] = ClassDelta {
                                class: class.clone(),
                                delta,
                                row: Some(i),
                            };
                        }
                    }
                    lx != ly
                }
                (Err(_), Err(_)) => false,
                _ => true,
            };
            if changed {
                label_changes += 1;
                if first_changes.len() < FIRST_CHANGES {
                    first_changes.push(Change {
                        row: i,
                        values: rows[i].clone(),
                        from: shown(x),
                        to: shown(y),
                    });
                }
            }
        }
        let q = |p| quantile(&deltas, p).unwrap_or(0.0);
        DiffReport {
            date: crate::report::now(),
            from: from.to_owned(),
            to: to.to_owned(),
            rows: rows.len(),
            label_changes,
            first_changes,
            largest_per_class: largest,
            delta_p50: q(0.5),
            delta_p90: q(0.9),
            delta_p99: q(0.99),
            delta_max: q(1.0),
            identical,
            values: deltas.len(),
            thresholds,
            from_order: None,
            to_order: None,
            points,
        }
    }

    /// True when the changes are within the thresholds.
    pub fn within(&self) -> bool {
        self.label_changes <= self.thresholds.max_label_changes
            && self.delta_max <= self.thresholds.max_delta
    }

    fn verdicts(&self) -> [(&'static str, bool, String); 2] {
        [
            (
                "label changes",
                self.label_changes <= self.thresholds.max_label_changes,
                format!(
                    "{} of {} rows ({:.2}%) change label; at most {} allowed",
                    self.label_changes,
                    self.rows,
                    100.0 * self.label_changes as f64 / self.rows.max(1) as f64,
                    self.thresholds.max_label_changes
                ),
            ),
            (
                "probability differences",
                self.delta_max <= self.thresholds.max_delta,
                if self.values == 0 {
                    "not compared: a side answers labels only".into()
                } else {
                    format!(
                        "largest |Δp| {:e}; at most {:e} allowed; {} of {} probabilities bit-identical",
                        self.delta_max, self.thresholds.max_delta, self.identical, self.values
                    )
                },
            ),
        ]
    }

    /// The report as text, for a terminal; also the Markdown of the job summary (it is both).
    pub fn table(&self) -> String {
        let mut out = format!(
            "### harness diff\n\n- from: {}\n- to: {}\n- {}\n\n| rows | label changes | \\|Δp\\| p50 | p90 | p99 | max | bit-identical |\n|---|---|---|---|---|---|---|\n| {} | {} ({:.2}%) | {:.1e} | {:.1e} | {:.1e} | {:.1e} | {} of {} ({:.1}%) |\n\n",
            self.from,
            self.to,
            self.date,
            self.rows,
            self.label_changes,
            100.0 * self.label_changes as f64 / self.rows.max(1) as f64,
            self.delta_p50,
            self.delta_p90,
            self.delta_p99,
            self.delta_max,
            self.identical,
            self.values,
            100.0 * self.identical as f64 / self.values.max(1) as f64,
        );
        for (side, order) in [("from", &self.from_order), ("to", &self.to_order)] {
            if let Some(order) = order {
                out.push_str(&format!("- class order of {side}: {order}\n"));
            }
        }
        if self.from_order.is_some() || self.to_order.is_some() {
            out.push('\n');
        }
        if self.values > 0 {
            out.push_str("| class | largest \\|Δp\\| | at row |\n|---|---|---|\n");
        }
        for c in self.largest_per_class.iter().filter(|_| self.values > 0) {
            out.push_str(&format!(
                "| {} | {:e} | {} |\n",
                c.class,
                c.delta,
                c.row.map_or("–".into(), |r| r.to_string())
            ));
        }
        if !self.first_changes.is_empty() {
            out.push_str("\n| row | values | from | to |\n|---|---|---|---|\n");
            for c in &self.first_changes {
                out.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    c.row,
                    serde_json::to_string(&c.values).unwrap_or_default(),
                    c.from,
                    c.to
                ));
            }
        }
        out.push('\n');
        for (name, ok, detail) in self.verdicts() {
            out.push_str(&format!(
                "- {}: {name}: {detail}\n",
                if ok { "within" } else { "BEYOND" }
            ));
        }
        out
    }

    /// JUnit XML: one test case per threshold.
    pub fn junit(&self) -> std::io::Result<String> {
        let mut suite = TestSuite::new(format!("harness diff: {} → {}", self.from, self.to));
        for (name, ok, detail) in self.verdicts() {
            let mut status = if ok {
                TestCaseStatus::success()
            } else {
                TestCaseStatus::non_success(NonSuccessKind::Failure)
            };
            if !ok {
                status.set_message(detail.clone());
            }
            let mut case = TestCase::new(name, status);
            case.set_system_out(detail);
            suite.add_test_case(case);
        }
        let mut report = quick_junit::Report::new("harness");
        report.add_test_suite(suite);
        report.to_string().map_err(std::io::Error::other)
    }

    /// Writes the JSON report to `path`, the JUnit XML and the picture beside it (`.xml`,
    /// `.svg`), and the Markdown, linking the picture, to the job summary when there is one.
    pub fn publish(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let picture = path.with_extension("svg");
        let classes: Vec<&str> = self
            .largest_per_class
            .iter()
            .map(|c| c.class.as_str())
            .collect();
        let title = format!(
            "p(from) against p(to), {} rows; red: label changed ({})",
            self.rows, self.label_changes
        );
        let svg = picture::svg(&title, &classes, &self.points).map_err(std::io::Error::other)?;
        std::fs::write(&picture, svg)?;
        let name = picture
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let markdown = format!(
            "{}\n[p(from) against p(to), per class]({name})\n",
            self.table()
        );
        crate::report::publish(path, self, &self.junit()?, &markdown)
    }
}
