//! Helpers shared by the test modules: the fixtures, loaded once, and reading a suite's run.

use std::io::Write;
use std::sync::OnceLock;

use harness::checks::{Check, Status};
use harness::fixtures::{Fixtures, repository_root};

/// The repository's fixtures, loaded once per test binary.
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| Fixtures::load(&repository_root()).unwrap())
}

/// Asserts that the run has checks whose names start with `prefix`, that each passed, and
/// prints their figures past the capture so they are reported.
pub fn assert_passed(checks: &[Check], prefix: &str) {
    let selected: Vec<&Check> = checks
        .iter()
        .filter(|c| c.name.starts_with(prefix))
        .collect();
    assert!(!selected.is_empty(), "no check named {prefix:?} ran");
    for check in selected {
        for figure in &check.figures {
            let _ = writeln!(
                std::io::stderr(),
                "{}: {} = {:.3} {}",
                check.name,
                figure.name,
                figure.value,
                figure.unit
            );
        }
        assert_eq!(
            check.status,
            Status::Pass,
            "{}: {}",
            check.name,
            check.detail
        );
    }
}

/// Asserts that no check of the run failed, naming those that did.
pub fn assert_none_failed(checks: &[Check]) {
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

/// Asserts that the limits check tried every limit, the header timeout and the connection cap
/// included: its detail names none as not tried.
pub fn assert_every_limit_tried(checks: &[Check]) {
    let limits = checks
        .iter()
        .find(|c| c.name.starts_with("limits"))
        .expect("no limits check ran");
    assert!(!limits.detail.contains("not"), "{}", limits.detail);
}
