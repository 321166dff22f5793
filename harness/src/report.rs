//! Reports: a readable table on stdout, a JSON file, and a Markdown table for the GitHub job
//! summary, all from the same list of checks.

use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use crate::answers::one_line;
use crate::checks::{Check, Status};

/// The machine a report was made on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub kernel: String,
}

impl Machine {
    /// Reads this machine's cores, CPU model and kernel.
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| format!("Linux {}", k.trim()))
            .unwrap_or_else(|_| std::env::consts::OS.into());
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            kernel,
        }
    }
}

/// The outcome of a `check` run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// When, RFC 3339 UTC.
    pub date: String,
    pub machine: Machine,
    /// What was checked: an image reference or a URL.
    pub target: String,
    pub checks: Vec<Check>,
}

/// Now, as RFC 3339 UTC.
pub fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    crate::image::provenance::rfc3339(secs as i64)
}

impl Report {
    pub fn new(target: impl Into<String>, checks: Vec<Check>) -> Report {
        Report {
            date: now(),
            machine: Machine::detect(),
            target: target.into(),
            checks,
        }
    }

    /// True when no check failed (checks that did not run are not failures, nor passes).
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    /// The closing line: how many checks passed, failed and did not run.
    fn totals(&self) -> String {
        let count = |s| self.checks.iter().filter(|c| c.status == s).count();
        format!(
            "\n{} passed, {} failed, {} not run\n",
            count(Status::Pass),
            count(Status::Fail),
            count(Status::NotRun)
        )
    }

    /// A fixed-width table for a terminal.
    pub fn table(&self) -> String {
        let width = self
            .checks
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let mut out = format!(
            "harness check: {} ({}, {} cores, {})\n\n",
            self.target, self.date, self.machine.cores, self.machine.cpu
        );
        out.push_str(&format!("{:<7} {:<width$}  DETAIL\n", "STATUS", "CHECK"));
        for check in &self.checks {
            let detail = one_line(&check.detail);
            out.push_str(&format!(
                "{:<7} {:<width$}  {detail}\n",
                label(check.status),
                check.name
            ));
            for finding in &check.findings {
                out.push_str(&format!("{:<7} {:<width$}    finding: {finding}\n", "", ""));
            }
        }
        out.push_str(&self.totals());
        out
    }

    /// A Markdown table, for `$GITHUB_STEP_SUMMARY`.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "### harness check: `{}`\n\n{} · {} cores · {}\n\n| status | check | detail |\n|---|---|---|\n",
            self.target, self.date, self.machine.cores, self.machine.cpu
        );
        for check in &self.checks {
            let mut detail = one_line(&check.detail);
            for finding in &check.findings {
                detail.push_str(&format!(" (finding: {finding})"));
            }
            let detail = detail.replace('|', "\\|");
            out.push_str(&format!(
                "| {} | {} | {detail} |\n",
                label(check.status),
                check.name
            ));
        }
        out.push_str(&self.totals());
        out
    }

    /// JUnit XML: one test suite for the target, one test case per check; a failed check is a
    /// failure with its detail as the message, a check that could not run is skipped.
    pub fn junit(&self) -> std::io::Result<String> {
        let mut suite = TestSuite::new(format!("harness check: {}", self.target));
        for check in &self.checks {
            let mut status = match check.status {
                Status::Pass => TestCaseStatus::success(),
                Status::Fail => TestCaseStatus::non_success(NonSuccessKind::Failure),
                Status::NotRun => TestCaseStatus::skipped(),
            };
            if check.status != Status::Pass {
                status.set_message(one_line(&check.detail));
            }
            let mut case = TestCase::new(check.name.as_str(), status);
            if check.status == Status::Pass {
                let findings = check.findings.iter().map(|f| format!("\nfinding: {f}"));
                case.set_system_out(format!("{}{}", check.detail, findings.collect::<String>()));
            }
            suite.add_test_case(case);
        }
        let mut report = quick_junit::Report::new("harness");
        report.add_test_suite(suite);
        report.to_string().map_err(std::io::Error::other)
    }

    /// Writes the JSON report to `path`, the JUnit XML beside it (same name, `.xml`), and,
    /// when `GITHUB_STEP_SUMMARY` is set, appends the Markdown table to that file.
    pub fn publish(&self, path: &Path) -> std::io::Result<()> {
        publish(path, self, &self.junit()?, &self.markdown())
    }
}

/// Writes `report` as JSON to `path`, `junit` beside it (same name, `.xml`), and appends
/// `markdown` to the job summary when there is one: what every command's report does.
pub fn publish(
    path: &Path,
    report: &impl serde::Serialize,
    junit: &str,
    markdown: &str,
) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut json = serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?;
    json.push(b'\n');
    std::fs::write(path, json)?;
    std::fs::write(path.with_extension("xml"), junit)?;
    append_step_summary(markdown)
}

/// Appends Markdown to the GitHub job summary, when there is one.
pub fn append_step_summary(markdown: &str) -> std::io::Result<()> {
    let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return Ok(());
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(summary)?;
    file.write_all(markdown.as_bytes())
}

fn label(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::NotRun => "NOT RUN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(statuses: &[Status]) -> Report {
        let checks = statuses
            .iter()
            .enumerate()
            .map(|(i, &status)| Check {
                name: format!("check {i}"),
                status,
                detail: "a | b\n  c".into(),
                figures: vec![],
                findings: vec![],
            })
            .collect();
        Report::new("ml-inference-app:test", checks)
    }

    #[test]
    fn a_failure_fails_the_report_and_not_run_does_not_pass_it() {
        assert!(!report(&[Status::Pass, Status::Fail]).passed());
        assert!(report(&[Status::Pass, Status::NotRun]).passed());
        let table = report(&[Status::Pass, Status::Fail, Status::NotRun]).table();
        assert!(
            table.ends_with("\n1 passed, 1 failed, 1 not run\n"),
            "{table}"
        );
        assert!(table.contains("NOT RUN check 2"), "{table}");
    }

    #[test]
    fn junit_has_one_test_case_per_check_with_its_verdict() {
        let xml = report(&[Status::Pass, Status::Fail, Status::NotRun])
            .junit()
            .unwrap();
        assert_eq!(xml.matches("<testcase ").count(), 3, "{xml}");
        assert_eq!(xml.matches("<failure").count(), 1, "{xml}");
        assert_eq!(xml.matches("<skipped").count(), 1, "{xml}");
        assert!(
            xml.contains(r#"tests="3""#) && xml.contains(r#"failures="1""#),
            "{xml}"
        );
        assert!(xml.contains(r#"message="a | b c""#), "{xml}");
    }

    #[test]
    fn markdown_keeps_each_check_on_one_row() {
        let markdown = report(&[Status::Fail]).markdown();
        assert!(
            markdown.contains("| FAIL | check 0 | a \\| b c |\n"),
            "{markdown}"
        );
    }
}
