//! Cold start: from asking Docker to start a container to the first 200 on `/ready`, beside a
//! bare start of the same image (the binary printing its version and exiting) as the baseline.

use std::time::Duration;

use serde::Serialize;
use server::contract::lifecycle::{LISTENING, STARTUP_MS};

use crate::checks::{Figure, Passed, Verdict, ensure, why};
use crate::container::{self, Launch};
use crate::error::HarnessError;
use crate::profile::Profile;
use crate::stats::{millis, quantile};

/// Repeated starts, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ColdStarts {
    /// Container start to first 200 on `/ready`.
    pub ready_ms: Vec<f64>,
    /// Container start to exit of `server --version`.
    pub bare_ms: Vec<f64>,
    /// The server's own start-up time (process start to listening), from its log line.
    pub server_ms: Vec<f64>,
}

impl ColdStarts {
    pub fn p50_ready(&self) -> f64 {
        quantile(&self.ready_ms, 0.5).unwrap_or(f64::NAN)
    }
    pub fn p95_ready(&self) -> f64 {
        quantile(&self.ready_ms, 0.95).unwrap_or(f64::NAN)
    }
    pub fn p50_bare(&self) -> f64 {
        quantile(&self.bare_ms, 0.5).unwrap_or(f64::NAN)
    }
    pub fn p95_bare(&self) -> f64 {
        quantile(&self.bare_ms, 0.95).unwrap_or(f64::NAN)
    }
    pub fn p50_server(&self) -> f64 {
        quantile(&self.server_ms, 0.5).unwrap_or(f64::NAN)
    }
}

/// Starts `n` service containers and `n` bare ones, alternating so that drift hits both.
/// The server's own start-up time is read from its log when the profile says it writes one.
pub fn measure(reference: &str, profile: &Profile, n: usize) -> Result<ColdStarts, HarnessError> {
    let mut starts = ColdStarts::default();
    let launch = Launch {
        profile: profile.clone(),
        ..Launch::default()
    };
    for _ in 0..n {
        let running = container::start(reference, &launch)?;
        starts.ready_ms.push(millis(&[running.cold_start])[0]);
        if profile.lifecycle_events
            && let Some(ms) = server_startup_ms(&running.container)
        {
            starts.server_ms.push(ms);
        }
        drop(running);
        if let Some(bare) = container::bare_start(reference, profile)? {
            starts.bare_ms.push(millis(&[bare])[0]);
        }
    }
    Ok(starts)
}

/// The start-up time the server's listening event reports.
pub fn server_startup_ms(
    container: &testcontainers::Container<testcontainers::GenericImage>,
) -> Option<f64> {
    container::events(container, LISTENING)
        .first()
        .and_then(|event| event[STARTUP_MS].as_f64())
}

/// Measures `n` starts; fails when the p95 exceeds `budget`.
pub fn check(reference: &str, profile: &Profile, n: usize, budget: Duration) -> Verdict {
    let starts = measure(reference, profile, n).map_err(why)?;
    let budget_ms = budget.as_secs_f64() * 1e3;
    // A NaN p95 (no start measured) is over any budget.
    let within = starts
        .p95_ready()
        .partial_cmp(&budget_ms)
        .is_some_and(|o| o.is_le());
    ensure!(
        within,
        "p95 cold start {:.0} ms is over the budget of {budget_ms:.0} ms",
        starts.p95_ready()
    );
    let bare = if starts.bare_ms.is_empty() {
        "no bare-start baseline (the profile has no bare command)".to_owned()
    } else {
        format!("bare container p50 {:.0} ms", starts.p50_bare())
    };
    let server = if starts.server_ms.is_empty() {
        "the server's own start-up not reported (no listening event)".to_owned()
    } else {
        format!("server start-up p50 {:.2} ms", starts.p50_server())
    };
    let mut passed = Passed::new(format!(
        "{n} starts: ready p50 {:.0} ms, p95 {:.0} ms; {bare}; {server}",
        starts.p50_ready(),
        starts.p95_ready(),
    ))
    .with(Figure::new("cold start p50", starts.p50_ready(), "ms"))
    .with(Figure::new("cold start p95", starts.p95_ready(), "ms"));
    if !starts.bare_ms.is_empty() {
        passed = passed.with(Figure::new(
            "bare container start p50",
            starts.p50_bare(),
            "ms",
        ));
    }
    if !starts.server_ms.is_empty() {
        passed = passed.with(Figure::new(
            "server start-up p50",
            starts.p50_server(),
            "ms",
        ));
    }
    Ok(passed)
}
