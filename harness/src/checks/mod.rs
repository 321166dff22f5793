//! The checks: each one runs against a running service (or the image, or the engine) and
//! returns a [`Check`] with its verdict, a one-line detail and any figures it measured.

pub mod bad_input;
pub mod cold_start;
pub mod endpoints;
pub mod foreign;
pub mod image;
pub mod lifecycle;
pub mod limits;
pub mod parity;
pub mod replicas;
pub mod v1;
pub mod v2;
pub mod wire;

use serde::Serialize;

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// Not applicable to this target (e.g. image checks against a bare URL). Never a pass.
    NotRun,
}

/// A measured figure, reported beside the verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
}

impl Figure {
    pub fn new(name: impl Into<String>, value: f64, unit: &'static str) -> Figure {
        Figure {
            name: name.into(),
            value,
            unit,
        }
    }

    pub fn millis(name: impl Into<String>, d: std::time::Duration) -> Figure {
        Figure::new(name, d.as_secs_f64() * 1e3, "ms")
    }
}

/// The checks of a server that speaks V2 or V1, and the class order its answers were read
/// in (none when no answer was read).
#[derive(Debug, Clone, PartialEq)]
pub struct Foreign {
    pub checks: Vec<Check>,
    pub class_order: Option<crate::classes::ClassOrder>,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    pub figures: Vec<Figure>,
    /// What a foreign server does differently from this project's contract without failing
    /// the check (an exact status, a body's shape): reported beside the verdict.
    pub findings: Vec<String>,
}

/// What a passing check reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Passed {
    pub detail: String,
    pub figures: Vec<Figure>,
    pub findings: Vec<String>,
}

impl Passed {
    pub fn new(detail: impl Into<String>) -> Passed {
        Passed {
            detail: detail.into(),
            ..Passed::default()
        }
    }

    pub fn with(mut self, figure: Figure) -> Passed {
        self.figures.push(figure);
        self
    }

    /// Adds the findings, if any.
    pub fn finding(mut self, findings: impl IntoIterator<Item = String>) -> Passed {
        self.findings.extend(findings);
        self
    }
}

/// A check body's outcome: passed, or why not.
pub type Verdict = Result<Passed, String>;

impl Check {
    /// Names a verdict.
    pub fn from(name: &str, verdict: Verdict) -> Check {
        match verdict {
            Ok(passed) => Check {
                name: name.to_owned(),
                status: Status::Pass,
                detail: passed.detail,
                figures: passed.figures,
                findings: passed.findings,
            },
            Err(why) => Check {
                name: name.to_owned(),
                status: Status::Fail,
                detail: why,
                figures: vec![],
                findings: vec![],
            },
        }
    }

    /// A check that does not apply to this target.
    pub fn not_run(name: &str, why: &str) -> Check {
        Check {
            name: name.to_owned(),
            status: Status::NotRun,
            detail: why.to_owned(),
            figures: vec![],
            findings: vec![],
        }
    }

    pub fn passed(&self) -> bool {
        self.status == Status::Pass
    }
}

/// Fails the check with a formatted reason when `cond` is false.
macro_rules! ensure {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err(format!($($why)+));
        }
    };
}
pub(crate) use ensure;

/// Turns an error and its sources into a failure reason.
pub(crate) fn why(e: impl std::error::Error) -> String {
    crate::error::chain(&e)
}
