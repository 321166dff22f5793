//! The application: shared state and the pipeline every request goes through (route, handle,
//! map errors, count, log). Handlers are plain functions in [`crate::handlers`].

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rouille::{Request, Response};

use crate::artifact::Artifact;
use crate::error::ApiError;
use crate::handlers;
use crate::metrics::Metrics;
use crate::routes::{self, Route};

/// Request limits, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_batch_rows: usize,
}

/// Everything a request may need. Shared by all worker threads; immutable but for counters.
#[derive(Debug)]
pub struct App {
    artifact: Artifact,
    limits: Limits,
    metrics: Metrics,
    stopping: AtomicBool,
    in_flight: AtomicUsize,
}

impl App {
    /// The state for serving `artifact`; `started` is when the process began.
    pub fn new(artifact: Artifact, limits: Limits, started: SystemTime) -> App {
        let metrics = Metrics::new(&artifact, started);
        App {
            artifact,
            limits,
            metrics,
            stopping: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
        }
    }

    pub fn artifact(&self) -> &Artifact {
        &self.artifact
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Ready while the model is loaded (it is before the app exists) and not shutting down.
    pub fn is_ready(&self) -> bool {
        !self.stopping.load(Ordering::Acquire)
    }

    /// From now on only liveness is answered; everything else gets 503 and a closed
    /// connection, so that in-flight requests can drain.
    pub fn begin_shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Requests being handled right now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Counts a request as in flight until the guard is dropped; shutdown waits for these.
    /// Whether it will be served or refused as shutting down is decided here, on arrival, so
    /// that a request already arriving when the stop signal comes is still served.
    pub fn enter(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight {
            counter: &self.in_flight,
            admitted: self.is_ready(),
        }
    }

    /// Answers one request: the single entry point of the HTTP service.
    pub fn handle(&self, request: &Request) -> Response {
        let entry = self.enter();
        self.handle_entered(&entry, request)
    }

    /// Answers a request that [`App::enter`] has already counted (its body may have taken a
    /// while to arrive).
    pub fn handle_entered(&self, entry: &InFlight<'_>, request: &Request) -> Response {
        let started = Instant::now();
        let path = request.url();
        let method = method_label(request.method());
        let (template, response) = match routes::resolve(request.method(), &path) {
            Ok(route) => (
                route.template(),
                self.answer(&route, request, entry.admitted),
            ),
            Err(e) => ("unmatched", e.response(routes::api_of(&path))),
        };
        let took = started.elapsed();
        let status = response.status_code;
        self.metrics.observe(template, method, status, took);
        tracing::info!(
            method,
            path,
            status,
            micros = took.as_micros() as u64,
            "request"
        );
        response
    }

    fn answer(&self, route: &Route, request: &Request, admitted: bool) -> Response {
        let stays_up = matches!(route, Route::Health | Route::V2Live);
        if !admitted && !stays_up {
            return ApiError::shutting_down()
                .response(route.api())
                .with_unique_header("Connection", "close");
        }
        handlers::dispatch(self, route, request).unwrap_or_else(|e| e.response(route.api()))
    }

    /// Records how long start-up took, once listening.
    pub fn mark_started(&self, startup: Duration) {
        self.metrics.ready(startup);
    }
}

/// A request in flight; dropping it ends the request, even when the handler panicked.
#[derive(Debug)]
pub struct InFlight<'a> {
    counter: &'a AtomicUsize,
    /// Arrived before shutdown began, so it is served.
    admitted: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A bounded label for metrics: the standard methods, or `OTHER`.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("OTHER")
}
